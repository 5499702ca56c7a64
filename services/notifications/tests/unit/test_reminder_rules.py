"""The reminder's schedule (domain.reminders) and what its mail says in fr/nl/en."""

from __future__ import annotations

from datetime import date

import pytest

from services.notifications.domain.reminders import ReminderSettings, reminder_due, validate_settings
from services.notifications.rendering import MailRenderer
from services.notifications.tests.unit.test_templates import REMINDER

ON = ReminderSettings(enabled=True, first_after_days=7, repeat_every_days=10, max_count=2)
DUE = date(2026, 11, 1)


def test_the_first_reminder_waits_first_after_days_after_the_due_date():
    assert not reminder_due(ON, DUE, date(2026, 11, 7), 0, None)
    assert reminder_due(ON, DUE, date(2026, 11, 8), 0, None)


def test_the_next_one_waits_repeat_every_days_after_the_previous_and_never_the_same_day():
    assert not reminder_due(ON, DUE, date(2026, 11, 8), 1, date(2026, 11, 8))
    assert not reminder_due(ON, DUE, date(2026, 11, 17), 1, date(2026, 11, 8))
    assert reminder_due(ON, DUE, date(2026, 11, 18), 1, date(2026, 11, 8))


def test_no_reminder_past_max_count_or_when_off():
    assert not reminder_due(ON, DUE, date(2026, 12, 30), 2, date(2026, 11, 18))
    assert not reminder_due(ReminderSettings(), DUE, date(2026, 12, 30), 0, None)


def test_settings_out_of_range_are_refused_by_field():
    bad = ReminderSettings(first_after_days=0, repeat_every_days=400, max_count=0)
    assert set(validate_settings(bad)) == {"first_after_days", "repeat_every_days", "max_count"}
    assert validate_settings(ON) == {}


SPREAD = {"fr": "étaler le paiement", "nl": "betaling spreiden", "en": "spread the payment"}
HOW = {
    "fr": ("Reste à payer : 45,50", "Payer en ligne"),
    "nl": ("Nog te betalen: € 45,50", "Online betalen"),
    "en": ("Left to pay: €45.50", "Pay online"),
}


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_the_reminder_says_how_to_pay_and_spreading_only_in_secondary(lang):
    r = MailRenderer()
    primary = r.render("invoice_reminder", lang, name="Marie", student="Emma", **REMINDER)
    secondary = r.render(
        "invoice_reminder", lang, name="Marie", student="Emma", **{**REMINDER, "secondary": True}
    )
    for text in (primary.text, secondary.text):
        assert HOW[lang][0].replace(" ", "\u00a0") in text.replace(" ", "\u00a0")
        assert HOW[lang][1] in text
        assert "+++010/8068/17183+++" in text and "BE71 0961 2345 6769" in text
        assert "https://x/soldes/factures/inv-1/payer" in text
    assert SPREAD[lang] not in primary.text and SPREAD[lang] not in primary.html
    assert SPREAD[lang] in secondary.text and SPREAD[lang] in secondary.html
    assert "Claire Direction (claire@ecole.be)" in secondary.text


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_the_reminder_never_threatens_the_child(lang):
    text = MailRenderer().render("invoice_reminder", lang, student="Emma", **{**REMINDER, "secondary": True})
    lowered = (text.text + text.html).lower()
    for word in ("exclu", "sanction", "uitgesloten", "excluded", "huissier", "deurwaarder", "bailiff"):
        assert word not in lowered
