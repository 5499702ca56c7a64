"""Every staff RPC of the notifications service refuses, in the service itself, an id of another
school: not_found, like an id that never existed, and nothing written (every table, outbox included,
the same before and after). Through the real servicer over gRPC, with staff tokens.

A staff token names no student: a student is "of another school" when the contact book (auth's
announcements of parents, each with its school) has them in that school and never in the caller's."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import grpc
import pytest

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import events_pb2 as documents_events
from cartable.finance.v1 import events_pb2 as finance_events
from cartable.notifications.v1 import notifications_pb2 as pb
from services.notifications.tests.conftest import SCHOOL, drain, event_body, snapshot

OURS, THEIRS = SCHOOL, "school-2"


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def _failed_mail_of(consumer, mailer, smtp_catcher, school: str, student: str) -> None:
    """A parent of ``student`` in ``school`` (as auth announces them) whose mail about a new document is
    refused for good by the SMTP server: a failed mail of that school."""
    parent = auth_events.ParentCreated(
        account_id=f"parent-of-{student}",
        email=f"{student}@example.be",
        language="fr",
        student_ids=[student],
        student_names={student: student.title()},
    )
    assert consumer.handle(event_body("auth.parent.created.v1", parent, school)) == "handled"
    doc = documents_events.DocumentDeposited(
        document_id=f"doc-{student}", student_id=student, title="Circulaire"
    )
    assert consumer.handle(event_body("documents.document.deposited.v1", doc, school)) == "handled"
    smtp_catcher.refuse_rcpt = "550 5.1.1 No such user"
    assert [o.status for o in drain(mailer)] == ["failed"]
    smtp_catcher.refuse_rcpt = None


@pytest.fixture
def schools(notifications_rt, notifications_stub, consumer, mailer, smtp_catcher, keys) -> SimpleNamespace:
    staff = keys.token(role="staff", school_id=OURS, account_id="boss-1")
    ids = {}
    for school, student in ((OURS, "emma"), (THEIRS, "zoe")):
        _failed_mail_of(consumer, mailer, smtp_catcher, school, student)
        their_staff = keys.token(role="staff", school_id=school)
        [mail] = notifications_stub.ListFailedMails(
            pb.ListFailedMailsRequest(), metadata=md(their_staff)
        ).mails
        event = notifications_stub.CreateEvent(
            pb.CreateEventRequest(title=f"Fête de {student}", starts_at="2026-12-05T10:00:00+01:00"),
            metadata=md(their_staff),
        )
        invoice = finance_events.InvoiceIssued(
            invoice_id=f"inv-{student}",
            student_id=f"no-parent-{school}",  # no mail: the failed-mail count stays
            number="F-1",
            total_cents=1000,
            due_on="2026-11-01",
        )
        assert consumer.handle(event_body("finance.invoice.issued.v1", invoice, school)) == "handled"
        ids[school] = SimpleNamespace(
            student=student, mail=mail.id, event=event.id, invoice=invoice.invoice_id
        )
    return SimpleNamespace(
        rt=notifications_rt, stub=notifications_stub, staff=staff, us=ids[OURS], them=ids[THEIRS]
    )


# (RPC, the request field holding the other school's id) -> the request, with the ids given (ours in
# the control test, theirs in the matrix).
CASES: dict[tuple[str, str], Callable[[SimpleNamespace], object]] = {
    ("ListEvents", "student_id"): lambda x: pb.ListEventsRequest(student_id=x.student),
    ("RetryFailedMail", "mail_id"): lambda x: pb.RetryFailedMailRequest(mail_id=x.mail),
    ("GetEvent", "event_id"): lambda x: pb.GetEventRequest(event_id=x.event),
    ("UpdateEvent", "event_id"): lambda x: pb.UpdateEventRequest(
        event_id=x.event, title="Changed", class_names=pb.EventClasses(names=["6A"])
    ),
    ("DeleteEvent", "event_id"): lambda x: pb.DeleteEventRequest(event_id=x.event),
    ("SendInvoiceReminder", "invoice_id"): lambda x: pb.SendInvoiceReminderRequest(invoice_id=x.invoice),
    ("CountInvoiceReminders", "invoice_ids"): lambda x: pb.CountInvoiceRemindersRequest(
        invoice_ids=[x.invoice]
    ),
}
# CreateEvent, ListSchoolEvents, ListFailedMails, Update/GetReminderSettings and the parents' GetMailPreferences / UpdateMailPreferences take no id:
# they act on the caller's school (or account) only.
EXEMPT: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_refused_and_nothing_is_written(schools, rpc, field):
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.them), metadata=md(schools.staff))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.us), metadata=md(schools.staff))


def test_the_failed_mails_listed_are_the_callers_schools_only(schools):
    listed = schools.stub.ListFailedMails(pb.ListFailedMailsRequest(), metadata=md(schools.staff)).mails
    assert [m.id for m in listed] == [schools.us.mail]


def test_the_events_listed_are_the_callers_schools_only(schools):
    listed = schools.stub.ListSchoolEvents(pb.ListSchoolEventsRequest(), metadata=md(schools.staff)).events
    assert [e.id for e in listed] == [schools.us.event]


def _id_fields(message, prefix: str = "") -> set[str]:
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name.endswith(("_id", "_ids")) or f.name == "references":
            out.add(prefix + f.name)
    return out


def test_every_id_field_of_every_rpc_is_in_the_matrix():
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    service = pb.DESCRIPTOR.services_by_name["NotificationsService"]
    fields = {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)}
    assert fields == set(CASES) | set(EXEMPT)
