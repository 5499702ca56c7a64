"""Every kind of mail renders in French, Dutch and English, with the HTML part escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from services.notifications.domain.mail import KINDS, LANGUAGES
from services.notifications.mailer import build_message
from services.notifications.rendering import MailRenderer

SAMPLES = {
    "token": dict(
        username="mdupont",
        token="TOKEN-123",
        reason="created",
        valid_until="1 janvier 2027 à 10:00",
        link="https://x/jeton",
    ),
    "document_deposited": dict(title="Bulletin", link="https://x/"),
    "invoice_issued": dict(
        number="2026-1",
        title="Classe verte",
        total_cents=12000,
        credit_cents=0,
        due_on="2026-12-31",
        communication="+++010/8068/17183+++",
        link="https://x/",
    ),
    "payment_received": dict(
        amount_cents=1000,
        method="online",
        purpose="invoice",
        wallet_name="",
        invoice_number="2026-1",
        balance_after_cents=None,
        link="https://x/",
    ),
    "order_placed": dict(period_title="Manuels", items=[], credit_cents=0, total_cents=0, link="https://x/"),
    "low_balance": dict(wallet_name="Repas", balance_cents=200, threshold_cents=500, link="https://x/"),
}
MEETING = dict(
    class_name="3A",
    teacher="Mme Martin",
    room="B12",
    evening_title="Réunion de parents",
    starts_at="2026-10-15T18:10:00+02:00",
    ends_at="2026-10-15T18:20:00+02:00",
    timezone="Europe/Brussels",
    closes_at="2026-10-14T23:59:00+02:00",
    can_cancel=True,
    link="https://x/reunions",
)
SAMPLES |= {
    "meeting_booked": MEETING,
    "meeting_cancelled": dict(MEETING, by_recipient=True),
    "meeting_reminder": MEETING,
}


IBAN = dict(
    school_name="École Sainte-Marie",
    old_iban="BE** **** **** 7034",
    new_iban="BE** **** **** 6769",
    actor="Claire Direction",
    changed_at="2026-12-01T21:32:00Z",
    link="https://x/mot-de-passe",
)
SAMPLES |= {"iban_changed": IBAN}
REMINDER = dict(
    number="F-2026-0042",
    title="Classes vertes",
    total_cents=12000,
    open_cents=4550,
    due_on="2026-11-15",
    communication="+++010/8068/17183+++",
    beneficiary="Athénée Royal",
    iban="BE71 0961 2345 6769",
    bic="GKCCBEBB",
    school_name="Athénée Royal",
    link="https://x/soldes/factures/inv-1/payer",
    secondary=False,
    contact="Claire Direction (claire@ecole.be)",
    count=1,
    epc=True,
)
SAMPLES |= {"invoice_reminder": REMINDER}
SAMPLES |= {
    "mandate_signed": dict(
        reference="CART-2026-000123",
        school_name="École Sainte-Marie",
        creditor_id="BE69ZZZ0123456789",
        holder_name="Marie Dupont",
        iban_masked="BE68 **** **** 7034",
        signed_at="2026-12-01T20:32:00Z",
        students=["Emma", "Lucas"],
        link="https://x/",
    ),
    "auto_top_up": dict(
        wallet_name="Repas",
        balance_cents=350,
        threshold_cents=500,
        amount_cents=2000,
        mandate_reference="CART-2026-000123",
        link="https://x/",
    ),
    "direct_debit_returned": dict(
        item="invoice",
        amount_cents=2350,
        invoice_number="2026-0042",
        invoice_title="Visite à Bruges",
        wallet_name="",
        reason="insufficient_funds",
        reason_code="AM04",
        mandate_revoked=False,
        mandate_reference="CART-2026-000123",
        communication="+++010/8068/17183+++",
        iban="BE71 0961 2345 6769",
        beneficiary="Athénée Royal",
        link="https://x/soldes/factures/inv-1/payer",
    ),
    "refund_created": dict(
        wallet_name="Repas",
        amount_cents=1230,
        iban_masked="BE68 **** **** 7034",
        balance_after_cents=0,
        link="https://x/",
    ),
    "direct_debit_scheduled": dict(
        school_name="École Sainte-Marie",
        creditor_id="BE69ZZZ0123456789",
        mandate_reference="CART-2026-000123",
        iban_masked="BE68 **** **** 7034",
        holder_name="Marie Dupont",
        collection_date="2026-12-15",
        total_cents=3800,
        items=[
            dict(
                kind="invoice",
                student="Emma",
                invoice_number="2026-0042",
                invoice_title="Classe verte",
                wallet_name="",
                amount_cents=1800,
            ),
            dict(
                kind="top_up",
                student="Lucas",
                invoice_number="",
                invoice_title="",
                wallet_name="Garderie",
                amount_cents=2000,
            ),
        ],
        partial=True,
        link="https://x/",
    ),
}
SAMPLES |= {
    "periodic_statement": dict(
        title="Décompte périodique",
        from_date="2026-09-01",
        to_date="2026-10-31",
        total_cents=7200,
        paid_cents=4500,
        open_cents=2700,
        link="https://x/",
    )
}
SAMPLES |= {"data_export_ready": dict(expires_at="2026-12-10T14:00:00Z", link="https://x/compte/donnees")}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_language(kind, lang):
    mail = MailRenderer().render(kind, lang, name="Marie", student="Emma", **SAMPLES[kind])
    assert mail.subject and "\n" not in mail.subject
    assert "Marie" in mail.text and "Marie" in mail.html
    assert f'<html lang="{lang}">' in mail.html
    assert "{{" not in mail.text + mail.html and "{%" not in mail.text + mail.html
    assert "\n\n\n" not in mail.text


def test_the_three_languages_really_differ():
    subjects = {
        lang: MailRenderer().render("invoice_issued", lang, **SAMPLES["invoice_issued"]).subject
        for lang in LANGUAGES
    }
    assert subjects == {
        "fr": "Nouvelle facture 2026-1 : Classe verte",
        "nl": "Nieuwe factuur 2026-1: Classe verte",
        "en": "New invoice 2026-1: Classe verte",
    }


def test_optional_mails_say_where_to_choose_them_and_token_mails_do_not():
    r = MailRenderer()
    assert "Courriels" in r.render("document_deposited", "fr", **SAMPLES["document_deposited"]).text
    assert "Courriels" not in r.render("token", "fr", **SAMPLES["token"]).text
    assert "Courriels" not in r.render("iban_changed", "fr", **IBAN).text


def test_mime_message_has_text_and_html_in_utf8_with_date_message_id_and_language():
    rendered = MailRenderer().render(
        "invoice_issued", "fr", name="Éloïse Dubœuf", **SAMPLES["invoice_issued"]
    )
    mail = {
        "recipient": "eloise@example.be",
        "recipient_name": "Éloïse Dubœuf",
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
        "message_id": "<abc@cartable.example>",
        "language": "fr",
    }
    msg = build_message(
        mail, "Cartable <no-reply@cartable.example>", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Nouvelle facture 2026-1 : Classe verte"
    assert parsed["To"] == "Éloïse Dubœuf <eloise@example.be>"
    assert parsed["Date"] == "Sat, 28 Nov 2026 14:00:00 +0000"
    assert parsed["Message-ID"] == "<abc@cartable.example>"
    assert parsed["Content-Language"] == "fr" and parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8"
    assert "Éloïse Dubœuf" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("kind", ["meeting_booked", "meeting_reminder", "meeting_cancelled"])
def test_meeting_mails_read_the_slot_in_brussels_time_with_the_weekday(kind):
    r = MailRenderer()
    expected = {
        "fr": ("jeudi 15 octobre 2026, de 18:10 à 18:20", "Mme Martin", "Local : B12", "Emma"),
        "nl": ("donderdag 15 oktober 2026, van 18:10 tot 18:20", "Mme Martin", "Lokaal: B12", "Emma"),
        "en": ("Thursday 15 October 2026, from 18:10 to 18:20", "Mme Martin", "Room: B12", "Emma"),
    }
    # the same instant written in UTC reads the same: 16:10 UTC is 18:10 in Brussels in October
    utc = dict(SAMPLES[kind], starts_at="2026-10-15T16:10:00Z", ends_at="2026-10-15T16:20:00Z")
    for lang, wanted in expected.items():
        mail = r.render(kind, lang, name="Marie", student="Emma", **utc)
        slot, teacher, room_line, child = wanted
        for value in (slot, teacher, room_line, child, "Réunion de parents", "https://x/reunions"):
            assert value in mail.text, (lang, value)
        for value in (slot, teacher, "B12", child, "Réunion de parents", 'href="https://x/reunions"'):
            assert value in mail.html, (lang, value)


def test_a_meeting_without_a_room_has_no_empty_room_line():
    text = MailRenderer().render("meeting_booked", "fr", **dict(MEETING, room="")).text
    assert "Local" not in text


def test_booking_mails_say_until_when_the_parent_may_cancel_or_that_it_is_too_late():
    r = MailRenderer()
    open_ = r.render("meeting_reminder", "fr", **MEETING).text
    assert "Annulez ce rendez-vous avant le 14 octobre 2026 à 23:59" in open_
    closed = r.render("meeting_reminder", "fr", **dict(MEETING, can_cancel=False)).text
    assert "Les annulations en ligne sont closes depuis le 14 octobre 2026 à 23:59" in closed
    assert "prévenez l’école" in closed
    assert "until 14 October 2026 at 23:59" in r.render("meeting_booked", "en", **MEETING).text
    assert "tot 14 oktober 2026 om 23:59 annuleren" in r.render("meeting_booked", "nl", **MEETING).text


def test_the_cancellation_mail_says_who_cancelled():
    r = MailRenderer()
    mine = r.render("meeting_cancelled", "en", student="Emma", **dict(MEETING, by_recipient=True))
    assert mine.subject == "Appointment cancelled with Mme Martin: 15 October 2026 at 18:10"
    assert "You have cancelled your appointment with Mme Martin about Emma." in mine.text
    other = r.render("meeting_cancelled", "fr", student="Emma", **dict(MEETING, by_recipient=False))
    assert "Votre rendez-vous avec Mme Martin pour Emma a été annulé." in other.text
    assert "Le créneau est à nouveau libre" in other.text


def test_the_iban_change_mail_says_what_changed_who_when_and_what_to_do():
    r = MailRenderer()
    expected = {
        "fr": (
            "Sécurité : l’IBAN de l’école a été modifié (École Sainte-Marie)",
            [
                "Ancien IBAN : BE** **** **** 7034",
                "Nouvel IBAN : BE** **** **** 6769",
                "Modifié par : Claire Direction",
                "1 décembre 2026 à 22:32 (heure de Bruxelles)",
                "autres gestionnaires",
                "changez votre mot de passe",
                "https://x/mot-de-passe",
            ],
        ),
        "nl": (
            "Beveiliging: het IBAN van de school is gewijzigd (École Sainte-Marie)",
            [
                "Vorig IBAN: BE** **** **** 7034",
                "Nieuw IBAN: BE** **** **** 6769",
                "Gewijzigd door: Claire Direction",
                "1 december 2026 om 22:32 (Brusselse tijd)",
                "andere beheerders",
                "wijzig uw wachtwoord",
                "https://x/mot-de-passe",
            ],
        ),
        "en": (
            "Security: the school’s IBAN was changed (École Sainte-Marie)",
            [
                "Previous IBAN: BE** **** **** 7034",
                "New IBAN: BE** **** **** 6769",
                "Changed by: Claire Direction",
                "1 December 2026 at 22:32 (Brussels time)",
                "other managers",
                "change your password",
                "https://x/mot-de-passe",
            ],
        ),
    }
    for lang, (subject, lines) in expected.items():
        mail = r.render("iban_changed", lang, name="Luc", **IBAN)
        assert mail.subject == subject, lang
        for line in lines:
            assert line in mail.text, (lang, line)
        for value in (
            "BE** **** **** 7034",
            "BE** **** **** 6769",
            "Claire Direction",
            'href="https://x/mot-de-passe"',
        ):
            assert value in mail.html, (lang, value)


def test_the_iban_change_mail_without_an_actor_or_a_previous_iban():
    r = MailRenderer()
    unknown = dict(IBAN, actor="", old_iban="", school_name="")
    fr = r.render("iban_changed", "fr", **unknown)
    assert "Modifié par : un membre de l’équipe" in fr.text and "Ancien IBAN : aucun" in fr.text
    assert fr.subject == "Sécurité : l’IBAN de l’école a été modifié"
    assert "Gewijzigd door: een lid van het team" in r.render("iban_changed", "nl", **unknown).text
    assert "Changed by: a member of the staff" in r.render("iban_changed", "en", **unknown).text
    assert "Previous IBAN: none" in r.render("iban_changed", "en", **unknown).text


def test_the_data_export_mail_gives_the_account_page_and_the_last_day_in_each_language():
    r = MailRenderer()
    expected = {
        "fr": ("Votre export de données est prêt", "10 décembre 2026 à 15:00", "Vous choisissez les"),
        "nl": ("Uw gegevensexport is klaar", "10 december 2026 om 15:00", "U kiest welke"),
        "en": ("Your data export is ready", "10 December 2026 at 15:00", "You choose which"),
    }
    for lang, (subject, until, choose_footer) in expected.items():
        mail = r.render("data_export_ready", lang, name="Marie", **SAMPLES["data_export_ready"])
        assert mail.subject == subject
        assert until in mail.text and "https://x/compte/donnees" in mail.text, lang
        assert until in mail.html and 'href="https://x/compte/donnees"' in mail.html, lang
        # asked for by the family (or for them): no "choose your mails" footer, it cannot be turned off
        assert choose_footer not in mail.text


def test_a_data_export_mail_without_its_date_leaves_no_empty_until():
    text = (
        MailRenderer().render("data_export_ready", "fr", expires_at="", link="https://x/compte/donnees").text
    )
    assert "jusqu’au" not in text and "https://x/compte/donnees" in text
