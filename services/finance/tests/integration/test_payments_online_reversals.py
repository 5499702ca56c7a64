"""Refunds and chargebacks made at the provider (its stand-in, real HTTP), on SQLite and PostgreSQL:
each booked once from what the provider lists, however often and in whatever order the webhooks come;
never beyond the payment's amount. (Split from test_payments_online.py, assertions unchanged.)"""

from __future__ import annotations

import dataclasses
import threading

import pytest
import requests
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from services.finance.app import UseCases, use_cases
from services.finance.db import ledger_sums, outbox
from services.finance.providers.mollie import MollieClient
from services.finance.tests.conftest import MUM, STAFF, assert_ledger_invariants
from services.finance.tests.online_helpers import checkout, make_pay, provider_id, top_up


@pytest.fixture
def pay(finance_rt, provider, webhooks, world) -> UseCases:
    return make_pay(finance_rt, provider, webhooks)


def _value(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def refund(provider, pid: str, cents: int, status: str = "pending") -> dict:
    """The school refunds part of a paid payment at the provider (which calls the webhook)."""
    resp = requests.post(
        f"{provider.url}/_standin/payments/{pid}/refunds",
        json={"amount": {"currency": "EUR", "value": _value(cents)}, "status": status},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def charge_back(provider, pid: str, cents: int) -> dict:
    resp = requests.post(
        f"{provider.url}/_standin/payments/{pid}/chargebacks",
        json={"amount": {"currency": "EUR", "value": _value(cents)}},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def paid_top_up(pay, world, finance_rt, cents: int) -> tuple[pb.StartPaymentResponse, str]:
    started = top_up(pay, world, cents)
    checkout(started, "paid")
    pid = provider_id(finance_rt, started.payment.id)
    assert pay.webhooks.handle_webhook(pid).booked
    return started, pid


def reversed_events(finance_rt) -> list[ev.PaymentReversed]:
    out = []
    with finance_rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.payment.reversed.v1")
            .order_by(outbox.c.id)
        ).scalars():
            msg = ev.PaymentReversed()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(msg)
            out.append(msg)
    return out


def test_a_refund_of_a_top_up_is_booked_once_however_often_the_webhook_comes(
    pay, world, finance_rt, provider, webhooks
):
    started, pid = paid_top_up(pay, world, finance_rt, 1000)
    made = refund(provider, pid, 400)
    assert made["id"].startswith("re_") and made["webhook"]["delivered"] is True
    assert webhooks.received[-1] == pid  # the provider calls the same webhook with the payment id
    results = [pay.webhooks.handle_webhook(pid) for _ in range(3)]
    assert [(r.status, r.booked, r.reversals_booked) for r in results] == [
        ("paid", False, 1),
        ("paid", False, 0),
        ("paid", False, 0),
    ]
    assert world.balance("emma") == 600
    got = pay.online_payments.get_payment(MUM, started.payment.id).payment
    assert (got.status, got.amount_cents, got.refunded_cents, got.charged_back_cents) == (
        "paid",
        1000,
        400,
        0,
    )
    ops = world.finance.operations.list_operations(
        MUM, pb.ListOperationsRequest(student_id="emma")
    ).operations
    assert [(o.type, o.payment_method, o.amount_cents) for o in ops] == [
        ("refund", "online", -400),
        ("top_up", "online", 1000),
    ]
    assert ops[0].label == "Remboursement du paiement en ligne du 16/03/2026"
    (event,) = reversed_events(finance_rt)
    assert (event.kind, event.provider_reversal_id, event.amount_cents, event.wallet_debited_cents) == (
        "refund",
        made["id"],
        400,
        400,
    )
    assert event.balance_after_cents == 600 and event.rest_invoice_id == ""
    # a second, later partial refund is booked on its own
    refund(provider, pid, 250, status="refunded")
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    assert world.balance("emma") == 350
    assert pay.online_payments.get_payment(MUM, started.payment.id).payment.refunded_cents == 650
    assert world.finance.invoices.list_invoices(STAFF, "emma").invoices == []
    assert_ledger_invariants(finance_rt)


def test_racing_webhooks_book_a_refund_once(pay, world, finance_rt, provider):
    _started, pid = paid_top_up(pay, world, finance_rt, 1500)
    refund(provider, pid, 1500, status="processing")
    results, errors = [], []

    def hook():
        try:
            results.append(pay.webhooks.handle_webhook(pid).reversals_booked)
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - a thread collects any failure, shown below
            errors.append(exc)

    threads = [threading.Thread(target=hook) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [0] * 7 + [1]
    assert world.balance("emma") == 0
    assert len(reversed_events(finance_rt)) == 1
    assert_ledger_invariants(finance_rt)


def test_a_chargeback_of_a_top_up_already_spent_empties_the_wallet_and_invoices_the_rest(
    pay, world, finance_rt, provider
):
    started, pid = paid_top_up(pay, world, finance_rt, 1000)
    world.sale("emma", [("Repas chaud", 2, 350)])  # 700 of the 1000 spent
    chargeback = charge_back(provider, pid, 1000)
    assert chargeback["id"].startswith("chb_") and chargeback["reversedAt"] is None
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 0
    assert world.balance("emma") == 0
    (inv,) = world.finance.invoices.list_invoices(STAFF, "emma").invoices
    assert (inv.title, inv.total_cents, inv.paid_cents, inv.status) == (
        "Rétrofacturation du paiement en ligne du 16/03/2026",
        700,
        0,
        "unpaid",
    )
    got = pay.online_payments.get_payment(MUM, started.payment.id).payment
    assert (got.status, got.refunded_cents, got.charged_back_cents) == ("paid", 0, 1000)
    (event,) = reversed_events(finance_rt)
    assert (event.kind, event.wallet_debited_cents, event.rest_invoice_cents, event.rest_invoice_id) == (
        "chargeback",
        300,
        700,
        inv.id,
    )
    ops = world.finance.operations.list_operations(
        MUM, pb.ListOperationsRequest(student_id="emma")
    ).operations
    assert [(o.type, o.amount_cents) for o in ops] == [("refund", -300), ("purchase", -700), ("top_up", 1000)]
    with finance_rt.db.unit_of_work() as s:
        sums = ledger_sums(s, STAFF.school_id)
    # nothing stays at the provider, the sale's revenue stands and the parent owes the rest
    assert sums.get(f"school:{STAFF.school_id}:psp", 0) == 0
    assert sums[f"school:{STAFF.school_id}:revenue"] == 700
    assert sums[f"invoice:{inv.id}:receivable"] == -700
    issued = [
        b
        for b in received_names(finance_rt)
        if b == "finance.invoice.issued.v1"  # the invoice reaches documents and the parent's mail
    ]
    assert issued == ["finance.invoice.issued.v1"]
    assert_ledger_invariants(finance_rt)


def received_names(finance_rt) -> list[str]:
    with finance_rt.db.unit_of_work() as s:
        return list(s.execute(select(outbox.c.event_name).order_by(outbox.c.id)).scalars())


def test_a_refund_of_an_invoice_payment_reopens_the_invoice(pay, world, finance_rt, provider):
    inv = world.invoice("emma", 4200)
    started = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    checkout(started, "paid")
    pid = provider_id(finance_rt, started.payment.id)
    assert pay.webhooks.handle_webhook(pid).booked
    refund(provider, pid, 1000)
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    got = world.finance.invoices.get_invoice(MUM, inv.id).invoice
    assert (got.status, got.paid_cents) == ("partially_paid", 3200)
    assert_ledger_invariants(finance_rt)
    charge_back(provider, pid, 3200)
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    got = world.finance.invoices.get_invoice(MUM, inv.id).invoice
    assert (got.status, got.paid_cents) == ("unpaid", 0)
    payment = pay.online_payments.get_payment(MUM, started.payment.id).payment
    assert (payment.status, payment.refunded_cents, payment.charged_back_cents) == ("paid", 1000, 3200)
    events = reversed_events(finance_rt)
    assert [(e.kind, e.invoice_reopened_cents, e.invoice_number) for e in events] == [
        ("refund", 1000, inv.number),
        ("chargeback", 3200, inv.number),
    ]
    assert len(world.finance.invoices.list_invoices(STAFF, "emma").invoices) == 1  # no invoice for a rest
    # the parent can pay it again online
    again = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    assert again.payment.amount_cents == 4200
    assert_ledger_invariants(finance_rt)


def test_refunding_the_excess_of_an_invoice_paid_twice_closes_the_unmatched_transfer(
    pay, world, finance_rt, provider
):
    inv = world.invoice("emma", 3000)
    first = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    second = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    for started in (first, second):
        checkout(started, "paid")
        pay.webhooks.handle_webhook(provider_id(finance_rt, started.payment.id))
    pid = provider_id(finance_rt, second.payment.id)
    refund(provider, pid, 3000)
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    got = world.finance.invoices.get_invoice(MUM, inv.id).invoice
    assert (got.status, got.paid_cents) == ("paid", 3000)  # the first payment still pays it
    assert pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers == []
    (gone,) = pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest(status="all")).transfers
    assert (gone.status, gone.amount_cents) == ("refunded", 3000)
    (event,) = reversed_events(finance_rt)
    assert (event.unallocated_cents, event.invoice_reopened_cents, event.rest_invoice_cents) == (3000, 0, 0)
    with finance_rt.db.unit_of_work() as s:
        sums = ledger_sums(s, STAFF.school_id)
    assert sums.get(f"school:{STAFF.school_id}:unallocated", 0) == 0
    assert_ledger_invariants(finance_rt)


@pytest.mark.parametrize("outcome", ["failed", "canceled"])
def test_a_failed_or_canceled_refund_books_nothing(pay, world, finance_rt, provider, outcome):
    started, pid = paid_top_up(pay, world, finance_rt, 1000)
    made = refund(provider, pid, 600, status="pending")
    moved = requests.post(
        f"{provider.url}/_standin/payments/{pid}/refunds/{made['id']}", json={"status": outcome}, timeout=10
    )
    assert moved.status_code == 200 and moved.json()["status"] == outcome
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 0
    assert world.balance("emma") == 1000
    # with another refund that goes through, only that one is booked
    refund(provider, pid, 300)
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 1
    assert world.balance("emma") == 700
    assert pay.online_payments.get_payment(MUM, started.payment.id).payment.refunded_cents == 300
    assert [e.amount_cents for e in reversed_events(finance_rt)] == [300]
    assert_ledger_invariants(finance_rt)


def test_a_chargeback_reversed_before_we_saw_it_books_nothing(pay, world, finance_rt, provider):
    _started, pid = paid_top_up(pay, world, finance_rt, 800)
    chargeback = charge_back(provider, pid, 800)
    requests.post(
        f"{provider.url}/_standin/payments/{pid}/chargebacks/{chargeback['id']}/reverse", timeout=10
    )
    assert pay.webhooks.handle_webhook(pid).reversals_booked == 0
    assert world.balance("emma") == 800
    assert reversed_events(finance_rt) == []


class _ListingProvider:
    """The provider as seen by the use case, answering a fixed payment and fixed lists."""

    def __init__(self, real: MollieClient, refunds=(), chargebacks=()) -> None:
        self.real, self.refunds, self.chargebacks = real, list(refunds), list(chargebacks)

    def create_payment(self, **kw):
        return self.real.create_payment(**kw)

    def get_payment(self, payment_id):
        got = self.real.get_payment(payment_id)
        return dataclasses.replace(
            got,
            amount_refunded_cents=sum(r.amount_cents for r in self.refunds),
            amount_charged_back_cents=sum(c.amount_cents for c in self.chargebacks),
        )

    def list_refunds(self, payment_id):
        return self.refunds

    def list_chargebacks(self, payment_id):
        return self.chargebacks


def test_reversals_beyond_the_payment_amount_are_not_booked(pay, world, finance_rt, provider):
    from services.finance.providers.mollie import ProviderReversal

    _started, pid = paid_top_up(pay, world, finance_rt, 1000)
    fake = _ListingProvider(
        MollieClient(provider.url, "test_service_tests"),
        refunds=[ProviderReversal("re_first", "refund", 700, "refunded")],
        chargebacks=[ProviderReversal("chb_second", "chargeback", 700)],
    )
    out = use_cases(finance_rt, fake).webhooks.handle_webhook(pid)
    assert out.reversals_booked == 1  # the second would take back more than was paid: logged, not booked
    assert world.balance("emma") == 300
    assert_ledger_invariants(finance_rt)
