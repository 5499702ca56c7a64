"""Reminders of overdue invoices through the consumer (finance's and auth's events), the scheduled
round and the servicer, on SQLite and PostgreSQL, with a FakeClock (the days move by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.finance.v1 import events_pb2 as finance_events
from cartable.notifications.v1 import notifications_pb2 as pb
from services.notifications.tests.conftest import SCHOOL, add_parent, drain, event_body, text_of
from services.notifications.use_cases.reminders import Reminders


def issue(consumer, invoice_id="inv-1", student="emma", due_on="2026-11-20", total=4550, school=SCHOOL):
    ev = finance_events.InvoiceIssued(
        invoice_id=invoice_id,
        student_id=student,
        number="F-2026-0042",
        title="Classes vertes",
        total_cents=total,
        due_on=due_on,
        structured_communication="010806817183",
        school_name="Athénée Royal",
        beneficiary="Athénée Royal",
        iban="BE71096123456769",
        bic="GKCCBEBB",
        student_name="Emma",
    )
    assert consumer.handle(event_body("finance.invoice.issued.v1", ev, school)) == "handled"


@pytest.fixture
def setup(notifications_rt, notifications_stub, consumer, mailer, smtp_catcher, keys, clock):
    add_parent(consumer, "marie", "marie@example.be", "fr", {"emma": "Emma"})
    issue(consumer)
    drain(mailer)  # the invoice_issued mail
    smtp_catcher.messages.clear()
    staff = [("authorization", "Bearer " + keys.token(role="staff", school_id=SCHOOL, account_id="boss"))]
    notifications_stub.UpdateReminderSettings(
        pb.UpdateReminderSettingsRequest(
            settings=pb.ReminderSettings(enabled=True, first_after_days=7, repeat_every_days=5, max_count=2)
        ),
        metadata=staff,
    )

    class S:
        rt, stub, md, reminders = notifications_rt, notifications_stub, staff, Reminders(notifications_rt)

        @staticmethod
        def on(day: str) -> int:
            clock.set(datetime.fromisoformat(day + "T08:00:00+00:00").astimezone(UTC))
            sent = S.reminders.send_due_reminders()
            drain(mailer)
            return sent

        @staticmethod
        def count() -> int:
            r = S.stub.CountInvoiceReminders(
                pb.CountInvoiceRemindersRequest(invoice_ids=["inv-1"]), metadata=staff
            )
            return r.reminders_sent["inv-1"]

    return S


def test_reminders_go_on_the_right_days_once_a_day_and_at_most_max_count(setup, smtp_catcher):
    assert setup.on("2026-11-26") == 0  # due 20th + 7 days: the 27th
    assert setup.on("2026-11-27") == 1
    assert setup.on("2026-11-27") == 0  # a rerun the same day
    assert setup.on("2026-12-01") == 0
    assert setup.on("2026-12-02") == 1  # 5 days after the first
    assert setup.on("2026-12-07") == 0  # max_count 2
    assert setup.count() == 2
    assert [rcpt for rcpt, _m in smtp_catcher.messages] == [["marie@example.be"]] * 2
    _rcpt, msg = smtp_catcher.messages[0]
    assert "Rappel" in msg["Subject"]
    assert "+++010/8068/17183+++" in text_of(msg)
    assert "https://cartable.example/soldes/factures/inv-1/payer" in text_of(msg)
    assert [p.get_content_type() for p in msg.iter_attachments()] == ["image/png"]


def test_a_payment_stops_the_reminders_and_a_partial_one_lowers_the_amount(setup, consumer, smtp_catcher):
    paid = finance_events.PaymentReceived(
        payment_id="p1",
        student_id="emma",
        amount_cents=1000,
        method="transfer",
        purpose="invoice",
        invoice_id="inv-1",
    )
    assert consumer.handle(event_body("finance.payment.received.v1", paid)) == "handled"
    assert setup.on("2026-11-27") == 1
    assert "35,50" in text_of(smtp_catcher.messages[-1][1])
    rest = finance_events.PaymentReceived(
        payment_id="p2",
        student_id="emma",
        amount_cents=3550,
        method="online",
        purpose="invoice",
        invoice_id="inv-1",
    )
    assert consumer.handle(event_body("finance.payment.received.v1", rest)) == "handled"
    assert setup.on("2026-12-05") == 0
    with pytest.raises(grpc.RpcError) as exc:
        setup.stub.SendInvoiceReminder(pb.SendInvoiceReminderRequest(invoice_id="inv-1"), metadata=setup.md)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert dict(exc.value.trailing_metadata())["x-error-code"] == "already_paid"


def test_a_cancellation_stops_the_reminders(setup, consumer):
    ev = finance_events.InvoiceCancelled(invoice_id="inv-1", student_id="emma")
    assert consumer.handle(event_body("finance.invoice.cancelled.v1", ev)) == "handled"
    assert setup.on("2026-11-27") == 0
    with pytest.raises(grpc.RpcError) as exc:
        setup.stub.SendInvoiceReminder(pb.SendInvoiceReminderRequest(invoice_id="inv-1"), metadata=setup.md)
    assert dict(exc.value.trailing_metadata())["x-error-code"] == "invoice_cancelled"


def test_a_manual_reminder_goes_at_once_counts_and_is_not_repeated_that_day(
    setup, mailer, smtp_catcher, clock
):
    clock.set(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    r = setup.stub.SendInvoiceReminder(pb.SendInvoiceReminderRequest(invoice_id="inv-1"), metadata=setup.md)
    assert (r.sent, r.reminders_sent, r.mails_queued) == (True, 1, 1)
    again = setup.stub.SendInvoiceReminder(
        pb.SendInvoiceReminderRequest(invoice_id="inv-1"), metadata=setup.md
    )
    assert (again.sent, again.reminders_sent) == (False, 1)
    drain(mailer)
    assert len(smtp_catcher.messages) == 1
    assert (
        setup.on("2026-11-27") == 1
    )  # the first automatic one still goes after 7 days from due, 6 after the manual
    assert setup.on("2026-12-02") == 0  # manual + automatic = max_count
    assert setup.count() == 2


def test_the_secondary_paragraph_is_only_for_secondary_students(setup, consumer, smtp_catcher):
    add_parent(consumer, "jan", "jan@example.be", "nl", {"lucas": "Lucas"})
    lvl = auth_events.StudentCreated(student_id="lucas", class_name="3B", level="secondary")
    assert consumer.handle(event_body("auth.student.created.v1", lvl)) == "handled"
    issue(consumer, "inv-2", "lucas")
    assert setup.on("2026-11-27") == 2
    texts = {
        rcpt[0]: text_of(m)
        for rcpt, m in smtp_catcher.messages
        if "Herinnering" in m["Subject"] or "Rappel" in m["Subject"]
    }
    assert "betaling spreiden" in texts["jan@example.be"]
    assert "étaler" not in texts["marie@example.be"]


def test_another_schools_invoice_is_not_found(setup, consumer):
    issue(consumer, "inv-9", "zoe", school="school-2")
    with pytest.raises(grpc.RpcError) as exc:
        setup.stub.SendInvoiceReminder(pb.SendInvoiceReminderRequest(invoice_id="inv-9"), metadata=setup.md)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
