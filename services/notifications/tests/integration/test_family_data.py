"""A family's data in notifications (issue #21), over the real gRPC server with signed tokens and through
the service's consumer.

The export (``FamilyDataService.ExportFamilyData``) gives the parent, or the school's staff, the contact
the book holds (address, language), the children under that parent, their mail choices, every mail to
them (subject, dates, status, the bodies kept; a sign-in mail's never), the children's invoices in the
reminders' book with the reminders sent, and their levels; nothing of another family or another school.
The erasure (``auth.family.erased.v1``) deletes all of it, drops the mails not yet sent, purges the
published outbox: no name or address of the family is left in any table, the other family is as it was,
and a second run changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from sqlalchemy import select, update

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import events_pb2 as documents_events
from cartable.finance.v1 import events_pb2 as finance_events
from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc
from cartable.privacy.v1 import privacy_pb2 as privacy_pb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.privacy import find_text
from kit.service import start_grpc
from services.notifications import db
from services.notifications.tests.conftest import SCHOOL, add_parent, choose, drain, event_body, snapshot

THEIRS = "school-2"
ERASED = "auth.family.erased.v1"
# The family erased, named so that finding a trace of it anywhere means it was left behind.
PARENT, KID = "acc-zq", "stu-zq"
PARENT_NAME, KID_NAME, EMAIL = "Zéphyrine Quorndel", "Ombeline Quorndel", "zephyrine.quorndel@example.be"
SECRET = "TOKEN-ZQ-4711"  # the sign-in token mailed to that parent
NEEDLES = ["Zéphyrine", "Ombeline", "Quorndel", "zephyrine.quorndel", SECRET]
# The family beside it, in the same school.
OTHER, OTHER_KID = "acc-bv", "stu-bv"
OTHER_NAME, OTHER_KID_NAME, OTHER_EMAIL = (
    "Barnabé Vostrikov",
    "Isaure Vostrikov",
    "barnabe.vostrikov@example.be",
)
FILES = {
    f"notifications/{what}.json"
    for what in ("contact", "children", "preferences", "mails", "invoices", "student_levels")
}


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@dataclass
class World:
    rt: Any
    consumer: Any
    mailer: Any
    catcher: Any
    privacy: privacy_pb2_grpc.FamilyDataServiceStub
    parent: str  # PARENT's token
    staff: str
    their_staff: str

    def export(self, token: str, parent_id: str = PARENT, student_ids: tuple[str, ...] = (KID,)) -> dict:
        answer = self.privacy.ExportFamilyData(
            privacy_pb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=list(student_ids)),
            metadata=md(token),
        )
        assert all(f.content_type == "application/json" for f in answer.files)
        return {f.name: json.loads(f.content.decode("utf-8")) for f in answer.files}

    def erase(self, parents=(PARENT,), students=(KID,)) -> str:
        ev = auth_events.FamilyErased(
            school_id=SCHOOL,
            parent_ids=list(parents),
            student_ids=list(students),
            reason="request",
            erased_at="2026-11-28T15:00:00+00:00",
        )
        return self.consumer.handle(event_body(ERASED, ev))


def _family_mails(consumer, school: str, parent: str, kid: str, kid_name: str, email: str, n: str) -> None:
    """A child's level, invoice (and its mail), a new document's mail, a sign-in token's mail."""
    level = auth_events.StudentCreated(student_id=kid, class_name="3A", level="secondary")
    assert consumer.handle(event_body("auth.student.created.v1", level, school)) == "handled"
    invoice = finance_events.InvoiceIssued(
        invoice_id=f"inv-{kid}",
        student_id=kid,
        number=f"F-2026-{n}",
        title="Classes vertes",
        total_cents=4550,
        due_on="2026-11-20",
        structured_communication="010806817183",
        school_name="Athénée Royal",
        beneficiary="Athénée Royal",
        iban="BE71096123456769",
        bic="GKCCBEBB",
        student_name=kid_name,
    )
    assert consumer.handle(event_body("finance.invoice.issued.v1", invoice, school)) == "handled"
    doc = documents_events.DocumentDeposited(document_id=f"doc-{kid}", student_id=kid, title="Bulletin")
    assert consumer.handle(event_body("documents.document.deposited.v1", doc, school)) == "handled"
    token = auth_events.TokenIssued(
        account_id=parent,
        email=email,
        display_name="",
        language="",
        username=f"user-{n}",
        token=SECRET if parent == PARENT else f"TOKEN-{n}",
        reason="reissued",
    )
    assert consumer.handle(event_body("auth.token.issued.v1", token, school)) == "handled"


@pytest.fixture
def world(notifications_rt, consumer, mailer, smtp_catcher, keys) -> Iterator[World]:
    add_parent(consumer, PARENT, EMAIL, "nl", {KID: KID_NAME}, PARENT_NAME)
    add_parent(consumer, OTHER, OTHER_EMAIL, "fr", {OTHER_KID: OTHER_KID_NAME}, OTHER_NAME)
    choose(notifications_rt, PARENT, low_balance_threshold_cents=500, orders=False)
    choose(notifications_rt, OTHER, low_balance_threshold_cents=700)
    _family_mails(consumer, SCHOOL, PARENT, KID, KID_NAME, EMAIL, "0001")
    _family_mails(consumer, SCHOOL, OTHER, OTHER_KID, OTHER_KID_NAME, OTHER_EMAIL, "0002")
    # Another school's parent of the same ids would be a bug elsewhere; a family of its own is enough.
    add_parent(consumer, "acc-t2", "t2@example.be", "fr", {"stu-t2": "Zoé Autre"}, "Paul Autre")
    assert [o.status for o in drain(mailer)] == ["sent"] * 6

    server = start_grpc(notifications_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    staff = keys.token(role="staff", school_id=SCHOOL, account_id="boss-1")
    # A reminder sent by a manager for each child's overdue invoice (mailed, and booked per day).
    notifications = notifications_pb2_grpc.NotificationsServiceStub(channel)
    for kid in (KID, OTHER_KID):
        sent = notifications.SendInvoiceReminder(
            pb.SendInvoiceReminderRequest(invoice_id=f"inv-{kid}"), metadata=md(staff)
        )
        assert sent.sent
    assert [o.status for o in drain(mailer)] == ["sent"] * 2
    yield World(
        rt=notifications_rt,
        consumer=consumer,
        mailer=mailer,
        catcher=smtp_catcher,
        privacy=privacy_pb2_grpc.FamilyDataServiceStub(channel),
        parent=keys.token(role="parent", school_id=SCHOOL, students={KID: "3A"}, account_id=PARENT),
        staff=staff,
        their_staff=keys.token(role="staff", school_id=THEIRS, account_id="boss-2"),
    )
    channel.close()
    server.stop(0)


# -- the export ---------------------------------------------------------------------------------


def test_the_parent_gets_their_contact_children_choices_mails_and_invoices(world):
    # a new sign-in mail not sent yet: its body still holds the token, which no export shows
    token = auth_events.TokenIssued(account_id=PARENT, email=EMAIL, username="user-0001", token=SECRET)
    assert world.consumer.handle(event_body("auth.token.issued.v1", token)) == "handled"
    got = world.export(world.parent)
    assert set(got) == FILES
    [contact] = got["notifications/contact.json"]
    assert (contact["account_id"], contact["email"], contact["display_name"], contact["language"]) == (
        PARENT,
        EMAIL,
        PARENT_NAME,
        "nl",
    )
    assert got["notifications/children.json"] == [{"student_id": KID, "student_name": KID_NAME}]
    [prefs] = got["notifications/preferences.json"]
    assert prefs["low_balance_threshold_cents"] == 500 and prefs["orders"] is False
    assert prefs["account_id"] == PARENT and prefs["documents"] is True

    mails = {m["kind"]: m for m in got["notifications/mails.json"]}
    assert set(mails) == {"invoice_issued", "document_deposited", "token", "invoice_reminder"}
    statuses = sorted((m["kind"], m["status"], bool(m["sent_at"])) for m in got["notifications/mails.json"])
    assert statuses == [
        ("document_deposited", "sent", True),
        ("invoice_issued", "sent", True),
        ("invoice_reminder", "sent", True),
        ("token", "pending", False),
        ("token", "sent", True),
    ]
    assert all(m["recipient"] == EMAIL for m in got["notifications/mails.json"])
    invoice_mail = mails["invoice_issued"]
    assert invoice_mail["subject"] == "Nieuwe factuur F-2026-0001: Classes vertes"
    assert invoice_mail["language"] == "nl" and invoice_mail["student_id"] == KID
    assert invoice_mail["created_at"] == "2026-11-28T14:00:00+00:00"  # in UTC on both backends
    assert "€\u00a045,50" in invoice_mail["text_body"] and "Classes vertes" in invoice_mail["html_body"]
    # the sign-in mails are listed (subject, dates, status) but never with their bodies
    for token_mail in (m for m in got["notifications/mails.json"] if m["kind"] == "token"):
        assert token_mail["subject"] and token_mail["text_body"] == token_mail["html_body"] == ""

    [invoice] = got["notifications/invoices.json"]
    assert (invoice["invoice_id"], invoice["number"], invoice["student_name"]) == (
        f"inv-{KID}",
        "F-2026-0001",
        KID_NAME,
    )
    assert (invoice["total_cents"], invoice["open_cents"], invoice["due_on"]) == (4550, 4550, "2026-11-20")
    assert [(r["sent_on"], r["manual"]) for r in invoice["reminders"]] == [("2026-11-28", True)]
    [level] = got["notifications/student_levels.json"]
    assert (level["student_id"], level["level"]) == (KID, "secondary") and level["updated_at"]

    everything = json.dumps(got, ensure_ascii=False)
    for other in (OTHER, OTHER_KID, "Vostrikov", "barnabe", "Isaure", "F-2026-0002", SECRET, "Autre"):
        assert other not in everything, other


def test_a_parent_may_not_ask_for_another_parent_or_a_child_not_theirs(world):
    for parent_id, kids in ((OTHER, ()), (OTHER, (KID,)), (PARENT, (KID, OTHER_KID)), (PARENT, (OTHER_KID,))):
        with pytest.raises(grpc.RpcError) as exc:
            world.export(world.parent, parent_id, kids)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED, (parent_id, kids)


def test_the_schools_staff_get_the_same_data(world):
    assert world.export(world.staff) == world.export(world.parent)


def test_staff_of_another_school_asking_the_same_ids_get_nothing_of_it(world):
    got = world.export(world.their_staff)
    assert got == {name: [] for name in FILES}


# -- the erasure --------------------------------------------------------------------------------


def _relay_publishes(rt) -> None:
    """What the relay does once an event is out: the row stays, marked published."""
    with rt.db.unit_of_work() as s:
        s.execute(update(db.outbox).where(db.outbox.c.published_at.is_(None)).values(published_at=rt.clock()))


def test_erasure_leaves_no_name_or_address_of_the_family_and_keeps_the_other(world):
    rt = world.rt
    # A mail to the parent refused for good: its outbox event (published) carries the address in its reason.
    world.catcher.refuse_rcpt = f"550 5.1.1 <{EMAIL}>: mailbox unavailable"
    doc = documents_events.DocumentDeposited(document_id="doc-2", student_id=KID, title="Circulaire")
    assert world.consumer.handle(event_body("documents.document.deposited.v1", doc)) == "handled"
    assert [o.status for o in drain(world.mailer)] == ["failed"]
    world.catcher.refuse_rcpt = None
    _relay_publishes(rt)
    # And a mail not yet sent when the family is erased: it must never leave.
    later = documents_events.DocumentDeposited(document_id="doc-3", student_id=KID, title="Photo de classe")
    assert world.consumer.handle(event_body("documents.document.deposited.v1", later)) == "handled"
    with rt.db.unit_of_work() as s:
        m = db.outgoing_mails
        pending = s.execute(select(m.c.recipient).where(m.c.status == "pending")).scalars().all()
    assert pending == [EMAIL]
    tables = rt.spec.metadata.sorted_tables
    with rt.db.engine.connect() as conn:
        assert ("outbox", "body") in find_text(conn, tables, [EMAIL])  # the test sees what it looks for
        assert find_text(conn, tables, NEEDLES)
    others_before = export_of_other(world)

    assert world.erase() == "handled"

    with rt.db.engine.connect() as conn:
        assert find_text(conn, tables, NEEDLES) == []
        assert find_text(conn, tables, [OTHER_NAME, OTHER_KID_NAME, OTHER_EMAIL])  # the other family stays
    assert export_of_other(world) == others_before
    assert world.export(world.staff) == {name: [] for name in FILES}
    sent_before = len(world.catcher.messages)
    assert drain(world.mailer) == []  # the pending mail to the erased parent was dropped
    assert len(world.catcher.messages) == sent_before
    # the book no longer knows them: a new mail about the child goes to no one
    again = documents_events.DocumentDeposited(document_id="doc-4", student_id=KID, title="Menu")
    assert world.consumer.handle(event_body("documents.document.deposited.v1", again)) == "handled"
    assert drain(world.mailer) == []


def export_of_other(world) -> dict:
    return world.export(world.staff, OTHER, (OTHER_KID,))


def test_erasing_twice_changes_nothing_and_does_not_fail(world):
    assert world.erase() == "handled"
    before = snapshot(world.rt)
    # the same family named again (a new event: a retention run after the request)
    assert world.erase() == "handled"
    after = snapshot(world.rt)
    assert {t: r for t, r in after.items() if t != "inbox"} == {
        t: r for t, r in before.items() if t != "inbox"
    }
    assert len(after["inbox"]) == len(before["inbox"]) + 1


def test_a_child_still_enrolled_keeps_their_level_and_invoices_when_their_parent_is_erased(world):
    assert world.erase(parents=(PARENT,), students=()) == "handled"
    got = world.export(world.staff, PARENT, (KID,))
    assert got["notifications/contact.json"] == [] and got["notifications/mails.json"] == []
    assert got["notifications/children.json"] == [] and got["notifications/preferences.json"] == []
    assert [i["student_name"] for i in got["notifications/invoices.json"]] == [KID_NAME]
    assert [lv["level"] for lv in got["notifications/student_levels.json"]] == ["secondary"]


def test_an_erasure_for_another_school_touches_nothing_here(world):
    before = snapshot(world.rt)
    ev = auth_events.FamilyErased(school_id=THEIRS, parent_ids=[PARENT], student_ids=[KID], reason="request")
    assert world.consumer.handle(event_body(ERASED, ev, THEIRS)) == "handled"
    after = snapshot(world.rt)
    assert {t: r for t, r in after.items() if t != "inbox"} == {
        t: r for t, r in before.items() if t != "inbox"
    }
