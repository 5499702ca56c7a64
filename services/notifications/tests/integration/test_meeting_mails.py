"""Parent-meeting mails: the parent who booked gets the confirmation, the cancellation and the reminder
the day before, once, in their language, unless they turned meeting mails off."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cartable.events.v1 import envelope_pb2
from cartable.meetings.v1 import events_pb2 as meetings_events
from services.notifications.db import outgoing_mails
from services.notifications.tests.conftest import add_parent, choose, drain, event_body, html_of, text_of

CONFIRMED = "meetings.booking.confirmed.v1"
CANCELLED = "meetings.booking.cancelled.v1"
REMINDER = "meetings.booking.reminder_due.v1"


@pytest.fixture
def parents(consumer):
    """Emma's parents live apart: Marie (fr) and John (en) each book their own slots; Els (nl) is Lucas's."""
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-john", "john@example.be", "en", {"stu-emma": "Emma"}, "John Smith")
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"}, "Els Peeters")


def booking(parent: str = "acc-marie", student: str = "stu-emma", child: str = "Emma Dupont", **kw):
    values = dict(
        booking_id="bk-1",
        parent_account_id=parent,
        parent_name="Marie Dupont",
        student_id=student,
        child_name=child,
        class_name="3A",
        teacher_id="t-1",
        teacher_name="Mme Martin",
        room="B12",
        evening_id="ev-1",
        evening_title="Réunion de parents du 1er trimestre",
        evening_date="2026-12-03",
        starts_at="2026-12-03T18:10:00+01:00",
        ends_at="2026-12-03T18:20:00+01:00",
        timezone="Europe/Brussels",
        closes_at="2026-12-01T23:59:00+01:00",
    )
    return meetings_events.BookingDetails(**{**values, **kw})


def confirmed(**kw) -> bytes:
    return event_body(CONFIRMED, meetings_events.BookingConfirmed(booking=booking(**kw)))


def cancelled(by: str = "acc-marie", **kw) -> bytes:
    return event_body(
        CANCELLED, meetings_events.BookingCancelled(booking=booking(**kw), cancelled_by_account_id=by)
    )


def reminder(**kw) -> bytes:
    return event_body(REMINDER, meetings_events.BookingReminderDue(booking=booking(**kw)))


def queued(rt) -> int:
    with rt.db.unit_of_work() as s:
        return s.execute(select(func.count()).select_from(outgoing_mails)).scalar_one()


def test_booking_confirmation_goes_to_the_parent_who_booked_with_everything_they_need(
    parents, consumer, mailer, smtp_catcher
):
    assert consumer.handle(confirmed()) == "handled"
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages  # not John, Emma's other parent: he books his own slots
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == "Rendez-vous confirmé avec Mme Martin : 3 décembre 2026 à 18:10"
    assert msg["Content-Language"] == "fr"
    text = text_of(msg)
    for expected in (
        "Bonjour Marie Dupont,",
        "Votre rendez-vous avec Mme Martin pour Emma Dupont est confirmé.",
        "Réunion : Réunion de parents du 1er trimestre",
        "Quand : jeudi 3 décembre 2026, de 18:10 à 18:20",
        "Local : B12",
        "Élève : Emma Dupont (3A)",
        "annuler ce rendez-vous jusqu’au 1 décembre 2026 à 23:59",
        "https://cartable.example/reunions",
        "« Courriels »",  # an optional mail says where to turn it off
    ):
        assert expected in text, expected
    html = html_of(msg)
    assert '<a href="https://cartable.example/reunions">' in html
    assert "jeudi 3 décembre 2026, de 18:10 à 18:20" in html and "B12" in html


@pytest.mark.parametrize(
    ("account", "address", "subject", "expected"),
    [
        (
            "acc-els",
            "els@example.be",
            "Afspraak bevestigd met Mme Martin: 3 december 2026 om 18:10",
            (
                "Beste Els Peeters,",
                "Uw afspraak met Mme Martin over Lucas Peeters is bevestigd.",
                "Wanneer: donderdag 3 december 2026, van 18:10 tot 18:20",
                "Lokaal: B12",
                "Leerling: Lucas Peeters (3A)",
                "tot 1 december 2026 om 23:59 annuleren",
                "https://cartable.example/reunions",
            ),
        ),
        (
            "acc-john",
            "john@example.be",
            "Appointment confirmed with Mme Martin: 3 December 2026 at 18:10",
            (
                "Hello John Smith,",
                "Your appointment with Mme Martin about Emma Dupont is confirmed.",
                "When: Thursday 3 December 2026, from 18:10 to 18:20",
                "Room: B12",
                "Pupil: Emma Dupont (3A)",
                "until 1 December 2026 at 23:59",
                "https://cartable.example/reunions",
            ),
        ),
    ],
)
def test_booking_confirmation_is_in_the_parents_language(
    parents, consumer, mailer, smtp_catcher, account, address, subject, expected
):
    student, child = ("stu-lucas", "Lucas Peeters") if account == "acc-els" else ("stu-emma", "Emma Dupont")
    consumer.handle(confirmed(parent=account, student=student, child=child))
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == [address] and msg["Subject"] == subject
    text = text_of(msg)
    for value in expected:
        assert value in text, value


def test_times_are_shown_in_brussels_time_whatever_offset_the_event_carries(
    parents, consumer, mailer, smtp_catcher
):
    consumer.handle(confirmed(starts_at="2026-12-03T17:10:00Z", ends_at="2026-12-03T17:20:00Z"))
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    assert "Quand : jeudi 3 décembre 2026, de 18:10 à 18:20" in text_of(msg)


def test_the_parents_chosen_language_wins_over_the_one_the_school_knows(
    parents, consumer, mailer, smtp_catcher, notifications_rt
):
    choose(notifications_rt, "acc-marie", language="nl")
    consumer.handle(reminder())
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    assert msg["Subject"] == "Herinnering: afspraak met Mme Martin, 3 december 2026 om 18:10"


def test_reminder_the_day_before_says_when_where_and_that_cancelling_online_is_closed(
    parents, consumer, mailer, smtp_catcher, clock
):
    clock.now = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # the day before, after the close of bookings
    consumer.handle(reminder())
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == "Rappel : rendez-vous avec Mme Martin, 3 décembre 2026 à 18:10"
    text = text_of(msg)
    for expected in (
        "Nous vous rappelons votre rendez-vous avec Mme Martin pour Emma Dupont.",
        "Quand : jeudi 3 décembre 2026, de 18:10 à 18:20",
        "Local : B12",
        "Les annulations en ligne sont closes depuis le 1 décembre 2026 à 23:59",
        "https://cartable.example/reunions",
    ):
        assert expected in text, expected
    assert "Annulez ce rendez-vous" not in text


def test_reminder_before_the_close_says_until_when_the_parent_may_cancel(
    parents, consumer, mailer, smtp_catcher
):
    # the clock is on 28 November, before bookings close on 1 December
    consumer.handle(reminder(closes_at="2026-12-03T12:00:00+01:00"))
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    assert "Annulez ce rendez-vous avant le 3 décembre 2026 à 12:00" in text_of(msg)


def test_cancellation_mail_confirms_the_slot_is_given_up(parents, consumer, mailer, smtp_catcher):
    consumer.handle(cancelled(parent="acc-john", by="acc-john", room=""))
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["john@example.be"]
    assert msg["Subject"] == "Appointment cancelled with Mme Martin: 3 December 2026 at 18:10"
    text = text_of(msg)
    assert "You have cancelled your appointment with Mme Martin about Emma Dupont." in text
    assert "When: Thursday 3 December 2026, from 18:10 to 18:20" in text
    assert "The slot is free again" in text and "https://cartable.example/reunions" in text
    assert "Room:" not in text  # no room given, no empty line for it


def test_cancellation_by_someone_else_is_told_as_such(parents, consumer, mailer, smtp_catcher):
    consumer.handle(cancelled(by="acc-staff"))
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    assert msg["Subject"] == "Rendez-vous annulé avec Mme Martin : 3 décembre 2026 à 18:10"
    assert "Votre rendez-vous avec Mme Martin pour Emma Dupont a été annulé." in text_of(msg)


@pytest.mark.parametrize("body", [confirmed, cancelled, reminder], ids=["confirmed", "cancelled", "reminder"])
def test_each_meeting_mail_is_queued_once_for_a_redelivered_event(
    parents, consumer, mailer, smtp_catcher, notifications_rt, body
):
    event = body()
    assert consumer.handle(event) == "handled"
    assert consumer.handle(event) == "duplicate"
    # Even past the inbox (a handler run twice), the unique (event_id, kind, recipient) holds.
    env = envelope_pb2.Envelope()
    env.ParseFromString(event)
    payload = consumer.bindings[env.event_name].payload_type()
    env.payload.Unpack(payload)
    with notifications_rt.db.unit_of_work() as s:
        consumer.bindings[env.event_name].handler(s, env, payload)
    assert queued(notifications_rt) == 1
    drain(mailer)
    assert [r for r, _m in smtp_catcher.messages] == [["marie@example.be"]]


def test_a_parent_who_turned_meeting_mails_off_gets_none_of_the_three(
    parents, consumer, mailer, smtp_catcher, notifications_rt
):
    choose(notifications_rt, "acc-marie", meetings=False)
    choose(notifications_rt, "acc-john", documents=False)  # another switch: meeting mails still go
    for body in (confirmed(), reminder(), cancelled()):
        assert consumer.handle(body) == "handled"
    consumer.handle(confirmed(parent="acc-john", booking_id="bk-2"))
    assert queued(notifications_rt) == 1
    drain(mailer)
    assert [(r, m["Subject"]) for r, m in smtp_catcher.messages] == [
        (["john@example.be"], "Appointment confirmed with Mme Martin: 3 December 2026 at 18:10")
    ]


def test_an_account_not_in_the_contact_book_gets_nothing_and_it_is_logged(
    parents, consumer, notifications_rt, caplog
):
    with caplog.at_level(logging.WARNING, logger="notifications.handlers"):
        assert consumer.handle(confirmed(parent="acc-unknown")) == "handled"  # acked: retrying would not help
    assert queued(notifications_rt) == 0
    assert any(
        r.getMessage() == "account not in the contact book, nothing queued" and r.account_id == "acc-unknown"
        for r in caplog.records
    )


def test_a_booking_announced_for_another_school_does_not_reach_the_parent(
    parents, consumer, notifications_rt
):
    event = event_body(CONFIRMED, meetings_events.BookingConfirmed(booking=booking()), school_id="school-2")
    assert consumer.handle(event) == "handled"
    assert queued(notifications_rt) == 0


def test_values_from_the_booking_are_escaped_in_the_html_part(parents, consumer, mailer, smtp_catcher):
    consumer.handle(confirmed(teacher_name="<b>Mme</b> & Co", evening_title="<script>x</script>"))
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    html = html_of(msg)
    assert "<script>" not in html and "<b>Mme</b>" not in html
    assert "&lt;b&gt;Mme&lt;/b&gt; &amp; Co" in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>Mme</b> & Co" in text_of(msg)
