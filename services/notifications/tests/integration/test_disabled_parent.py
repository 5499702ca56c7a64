"""A parent the school disabled gets no mail (auth.parent.updated.v1 with ``disabled``): not about
their children, not about their bookings; enabled again, they do."""

from __future__ import annotations

import pytest

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import events_pb2 as documents_events
from cartable.meetings.v1 import events_pb2 as meetings_events
from services.notifications.tests.conftest import add_parent, drain, event_body

UPDATED = "auth.parent.updated.v1"


@pytest.fixture
def family(consumer):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-john", "john@example.be", "en", {"stu-emma": "Emma"}, "John Smith")


def marie(disabled: bool) -> bytes:
    return event_body(
        UPDATED,
        auth_events.ParentCreated(
            account_id="acc-marie",
            email="marie@example.be",
            display_name="Marie Dupont",
            language="fr",
            student_ids=["stu-emma"],
            student_names={"stu-emma": "Emma"},
            disabled=disabled,
        ),
    )


def deposited(doc_id: str) -> bytes:
    return event_body(
        "documents.document.deposited.v1",
        documents_events.DocumentDeposited(document_id=doc_id, student_id="stu-emma", title="Bulletin"),
    )


def booked(booking_id: str) -> bytes:
    return event_body(
        "meetings.booking.confirmed.v1",
        meetings_events.BookingConfirmed(
            booking=meetings_events.BookingDetails(
                booking_id=booking_id,
                parent_account_id="acc-marie",
                student_id="stu-emma",
                child_name="Emma Dupont",
                teacher_name="Mme Martin",
                evening_title="Réunion",
                starts_at="2026-12-03T18:10:00+01:00",
                ends_at="2026-12-03T18:20:00+01:00",
                timezone="Europe/Brussels",
                closes_at="2026-12-01T23:59:00+01:00",
            )
        ),
    )


def recipients(catcher) -> list[str]:
    return sorted(rcpt[0] for rcpt, _msg in catcher.messages)


def test_a_disabled_parent_gets_no_mail_about_their_child_the_other_parent_still_does(
    family, consumer, mailer, smtp_catcher
):
    assert consumer.handle(marie(disabled=True)) == "handled"
    consumer.handle(deposited("doc-1"))
    drain(mailer)
    assert recipients(smtp_catcher) == ["john@example.be"]


def test_a_disabled_parent_gets_no_booking_mail(family, consumer, mailer, smtp_catcher):
    consumer.handle(marie(disabled=True))
    consumer.handle(booked("bk-1"))
    drain(mailer)
    assert recipients(smtp_catcher) == []


def test_a_parent_enabled_again_gets_mails_again(family, consumer, mailer, smtp_catcher):
    consumer.handle(marie(disabled=True))
    consumer.handle(marie(disabled=False))
    consumer.handle(deposited("doc-2"))
    consumer.handle(booked("bk-2"))
    drain(mailer)
    assert recipients(smtp_catcher) == ["john@example.be", "marie@example.be", "marie@example.be"]
