"""Pure rules: who wants which mail, the low-balance crossing, retry timing, languages, formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kit.settings import SettingsError
from services.notifications.domain import formatting
from services.notifications.domain.mail import (
    DATA_EXPORT_READY,
    DOCUMENT_DEPOSITED,
    IBAN_CHANGED,
    INVOICE_ISSUED,
    LOW_BALANCE,
    MANDATORY_KINDS,
    MEETING_BOOKED,
    MEETING_CANCELLED,
    MEETING_REMINDER,
    ORDER_PLACED,
    PAYMENT_RECEIVED,
    SENSITIVE_KINDS,
    TOKEN,
    Preferences,
    RetryPolicy,
    language_or_default,
    validate_preferences,
)
from services.notifications.mailer import SmtpConfig


def test_a_parent_who_never_chose_gets_every_mail_but_no_balance_alert():
    p = Preferences()
    assert all(
        p.wants(k) for k in (TOKEN, DOCUMENT_DEPOSITED, INVOICE_ISSUED, PAYMENT_RECEIVED, ORDER_PLACED)
    )
    assert not p.wants(LOW_BALANCE)


def test_meeting_mails_are_on_until_the_parent_turns_the_meetings_switch_off():
    meetings = (MEETING_BOOKED, MEETING_CANCELLED, MEETING_REMINDER)
    assert all(Preferences().wants(k) for k in meetings)
    off = Preferences(meetings=False)
    assert not any(off.wants(k) for k in meetings)
    assert all(
        off.wants(k) for k in (TOKEN, DOCUMENT_DEPOSITED, INVOICE_ISSUED, PAYMENT_RECEIVED, ORDER_PLACED)
    )
    assert all(
        Preferences(documents=False, invoices=False, payments=False, orders=False).wants(k) for k in meetings
    )


def test_token_mails_go_whatever_the_parent_turned_off():
    p = Preferences(documents=False, invoices=False, payments=False, orders=False)
    assert p.wants(TOKEN)
    assert not any(p.wants(k) for k in (DOCUMENT_DEPOSITED, INVOICE_ISSUED, PAYMENT_RECEIVED, ORDER_PLACED))


def test_the_iban_change_mail_is_mandatory_but_not_a_secret():
    everything_off = Preferences(
        documents=False, invoices=False, payments=False, orders=False, meetings=False
    )
    assert everything_off.wants(IBAN_CHANGED) and Preferences().wants(IBAN_CHANGED)
    assert {TOKEN, IBAN_CHANGED} <= MANDATORY_KINDS
    assert SENSITIVE_KINDS <= MANDATORY_KINDS  # a mail carrying a secret is never optional either
    # masked IBANs only: its body is kept and a failed one may be sent again
    assert IBAN_CHANGED not in SENSITIVE_KINDS


def test_the_data_export_mail_goes_whatever_the_parent_turned_off_and_keeps_its_body():
    everything_off = Preferences(
        documents=False, invoices=False, payments=False, orders=False, meetings=False
    )
    assert everything_off.wants(DATA_EXPORT_READY) and DATA_EXPORT_READY in MANDATORY_KINDS
    # a link to the account page, no secret: its body is kept and a failed one may be sent again
    assert DATA_EXPORT_READY not in SENSITIVE_KINDS


@pytest.mark.parametrize(
    ("before", "after", "alert"),
    [
        (800, 400, True),
        (500, 499, True),
        (800, 500, False),
        (400, 100, False),
        (300, 900, False),
        (499, 0, False),
    ],
)
def test_low_balance_alert_only_when_a_debit_crosses_the_threshold(before, after, alert):
    assert Preferences(low_balance_threshold_cents=500).balance_fell_below_threshold(before, after) is alert
    assert not Preferences().balance_fell_below_threshold(before, after)


def test_retries_wait_twice_as_long_each_time_up_to_the_cap_then_give_up():
    policy = RetryPolicy(max_attempts=5, base=timedelta(seconds=60), cap=timedelta(minutes=5))
    assert [policy.delay_after(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]
    assert not policy.gives_up_after(4) and policy.gives_up_after(5)


def test_language_falls_back_to_french_and_accepts_regional_codes():
    assert language_or_default(None, "") == "fr"
    assert language_or_default("de", "nl-BE") == "nl"
    assert language_or_default("EN") == "en"


def test_preferences_outside_the_rules_name_their_fields():
    assert validate_preferences(Preferences(language="nl", low_balance_threshold_cents=1000)) == {}
    assert set(validate_preferences(Preferences(language="de", low_balance_threshold_cents=-1))) == {
        "language",
        "low_balance_threshold_cents",
    }


def test_amounts_dates_and_communications_read_as_belgian_parents_expect():
    assert formatting.money(2350, "fr") == "23,50\u00a0€"
    assert formatting.money(123456, "fr") == "1\u202f234,56\u00a0€"
    assert formatting.money(2350, "nl") == "€\u00a023,50"
    assert formatting.money(123456, "nl") == "€\u00a01.234,56"
    assert formatting.money(-500, "en") == "-€5.00"
    assert formatting.long_date(date(2026, 8, 1), "fr") == "1 août 2026"
    assert formatting.iso_date("2026-12-15", "nl") == "15 december 2026"
    assert formatting.iso_date("", "fr") == ""
    # 13:30 UTC in December is 14:30 in Brussels
    assert (
        formatting.local_instant(datetime(2026, 12, 12, 13, 30, tzinfo=UTC), "en")
        == "12 December 2026 at 14:30"
    )
    # meeting slots: the weekday, in Brussels time whatever offset the event wrote (summer and winter)
    assert formatting.time_span("2026-10-15T16:10:00Z", "2026-10-15T16:20:00+00:00", "fr") == (
        "jeudi 15 octobre 2026, de 18:10 à 18:20"
    )
    assert formatting.time_span(
        "2026-12-03T19:00:00+01:00", "2026-12-03T19:10:00+01:00", "nl", "Europe/Brussels"
    ) == ("donderdag 3 december 2026, van 19:00 tot 19:10")
    assert formatting.time_span("2026-12-03T18:00:00Z", "", "en") == "Thursday 3 December 2026 at 19:00"
    assert (
        formatting.rfc3339_instant("2026-10-14T21:59:00Z", "fr", "Europe/Brussels")
        == "14 octobre 2026 à 23:59"
    )
    assert formatting.rfc3339_instant("2026-10-14T21:59:00Z", "en", "Not/AZone") == "14 October 2026 at 23:59"
    assert formatting.rfc3339_instant("soon", "fr") == "soon"
    assert (
        formatting.time_span("2026-10-15T18:10:00", "", "fr") == "2026-10-15T18:10:00"
    )  # no offset: not guessed
    assert formatting.structured_communication("010806817183") == "+++010/8068/17183+++"
    assert formatting.structured_communication("+++010/8068/17183+++") == "+++010/8068/17183+++"


def test_smtp_url_gives_host_port_credentials_and_tls():
    c = SmtpConfig.from_url("smtp://user%40school:p%3Ass@relay.example.org:587?starttls=1&timeout=5")
    assert (c.host, c.port, c.username, c.password, c.starttls, c.implicit_tls, c.timeout) == (
        "relay.example.org",
        587,
        "user@school",
        "p:ss",
        True,
        False,
        5.0,
    )
    s = SmtpConfig.from_url("smtps://relay.example.org")
    assert (s.port, s.implicit_tls, s.starttls, s.username) == (465, True, False, "")
    assert SmtpConfig.from_url("smtp://127.0.0.1:1025").port == 1025
    for bad in ("http://relay", "smtp://", "smtp://relay:notaport"):
        with pytest.raises(SettingsError):
            SmtpConfig.from_url(bad)
