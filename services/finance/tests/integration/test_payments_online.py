"""Online payments through the provider's stand-in (real HTTP), on SQLite and PostgreSQL: a payment is
booked only from the status fetched from the provider, exactly once, whatever the webhooks do."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests
from sqlalchemy import func, select

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from services.finance.app import UseCases, use_cases
from services.finance.db import payments, unmatched_transfers
from services.finance.providers.mollie import MollieClient
from services.finance.tests.conftest import MUM, STAFF, STRANGER, assert_ledger_invariants, settings
from services.finance.tests.online_helpers import checkout, make_pay, provider_id, received_events, top_up


@pytest.fixture
def pay(finance_rt, provider, webhooks, world) -> UseCases:
    return make_pay(finance_rt, provider, webhooks)


def test_paid_top_up_is_booked_once_from_the_webhook_with_its_event(pay, world, webhooks, finance_rt):
    started = top_up(pay, world, 1000)
    assert started.checkout_url.startswith("http") and started.payment.status == "open"
    assert started.payment.purpose == "top_up" and started.payment.amount_cents == 1000
    assert world.balance("emma") == 0
    back = checkout(started, "paid")
    assert back.status_code == 303 and back.headers["Location"].endswith(
        f"/paiements/{started.payment.id}/retour"
    )
    assert world.balance("emma") == 0  # the redirect proves nothing
    pid = provider_id(finance_rt, started.payment.id)
    assert webhooks.received == [pid]
    done = pay.webhooks.handle_webhook(pid)
    assert (done.known, done.status, done.booked) == (True, "paid", True)
    assert world.balance("emma") == 1000
    for _ in range(3):  # replays
        again = pay.webhooks.handle_webhook(pid)
        assert (again.status, again.booked) == ("paid", False)
    assert world.balance("emma") == 1000
    got = pay.online_payments.get_payment(MUM, started.payment.id).payment
    assert (got.status, got.amount_cents, got.purpose, got.method) == ("paid", 1000, "top_up", "online")
    (event,) = received_events(finance_rt)
    assert (
        event.method,
        event.purpose,
        event.amount_cents,
        event.balance_after_cents,
        event.wallet_name,
    ) == ("online", "top_up", 1000, 1000, "Repas")
    ops = world.finance.operations.list_operations(
        MUM, pb.ListOperationsRequest(student_id="emma")
    ).operations
    assert [(o.type, o.payment_method, o.amount_cents) for o in ops] == [("top_up", "online", 1000)]
    assert_ledger_invariants(finance_rt)


@pytest.mark.parametrize("action", ["failed", "canceled", "expired"])
def test_a_payment_that_does_not_succeed_books_nothing(pay, world, finance_rt, action):
    started = top_up(pay, world, 2500)
    checkout(started, action)
    done = pay.webhooks.handle_webhook(provider_id(finance_rt, started.payment.id))
    assert (done.status, done.booked) == (action, False)
    assert pay.online_payments.get_payment(MUM, started.payment.id).payment.status == action
    assert world.balance("emma") == 0 and received_events(finance_rt) == []


def test_a_webhook_while_the_payment_is_open_changes_nothing_and_a_later_one_books(pay, world, finance_rt):
    started = top_up(pay, world, 700)
    pid = provider_id(finance_rt, started.payment.id)
    early = pay.webhooks.handle_webhook(pid)  # before the parent chose anything
    assert (early.status, early.booked) == ("open", False)
    checkout(started, "paid")
    assert pay.webhooks.handle_webhook(pid).booked
    assert world.balance("emma") == 700


def test_concurrent_webhooks_book_once(pay, world, finance_rt):
    started = top_up(pay, world, 1234)
    checkout(started, "paid")
    pid = provider_id(finance_rt, started.payment.id)
    results, errors = [], []

    def hook():
        try:
            results.append(pay.webhooks.handle_webhook(pid).booked)
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - a thread collects any failure, shown below
            errors.append(exc)

    threads = [threading.Thread(target=hook) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [False] * 7 + [True]
    assert world.balance("emma") == 1234
    assert_ledger_invariants(finance_rt)


def test_unknown_and_malformed_webhook_ids_are_answered_without_booking(pay):
    assert not pay.webhooks.handle_webhook("tr_doesnotexist").known
    assert not pay.webhooks.handle_webhook("not-an-id").known
    assert not pay.webhooks.handle_webhook("").known


def test_the_provider_down_makes_the_webhook_fail_so_it_is_retried(finance_rt, world):
    pay = use_cases(finance_rt, MollieClient("http://127.0.0.1:9", "test_x", timeout=1))
    with finance_rt.db.unit_of_work() as s:
        s.execute(
            payments.insert().values(
                id=str(uuid.uuid4()),
                school_id=STAFF.school_id,
                student_id="emma",
                purpose="top_up",
                method="online",
                status="open",
                amount_cents=500,
                wallet_id=world.wallet("emma").id,
                provider_id="tr_down1234",
                created_at=finance_rt.clock(),
            )
        )
    with pytest.raises(Unavailable):
        pay.webhooks.handle_webhook("tr_down1234")
    with pytest.raises(Unavailable):  # and starting a payment answers 503, not 500
        top_up(pay, world, 500)


def test_the_same_key_answers_the_same_payment_and_checkout(pay, world, provider):
    first = top_up(pay, world, 1500, key="k-1")
    again = top_up(pay, world, 1500, key="k-1")
    assert again.payment.id == first.payment.id and again.checkout_url == first.checkout_url
    listed = requests.get(provider.url + "/_standin/payments", timeout=5).json()["count"]
    assert listed == 1
    with pytest.raises(Conflict) as err:
        top_up(pay, world, 1600, key="k-1")
    assert err.value.code == "idempotency_key_reused"


def test_a_crash_before_the_provider_id_was_written_is_recovered_from_the_provider(
    pay, world, finance_rt, provider
):
    started = top_up(pay, world, 900)
    pid = provider_id(finance_rt, started.payment.id)
    with finance_rt.db.unit_of_work() as s:  # as if we died right after the provider answered
        from sqlalchemy import update

        s.execute(update(payments).where(payments.c.id == started.payment.id).values(provider_id=None))
    checkout(started, "paid")
    # The webhook names an id our table does not hold: unknown, nothing asked of the provider...
    assert not pay.webhooks.handle_webhook(pid).known
    assert world.balance("emma") == 0
    # ...and the sync recovers it: asked again with the same key, the provider answers the same payment.
    finance_rt.clock.advance(minutes=5)
    assert pay.webhooks.sync_open_payments(older_than_seconds=120) == 1
    assert provider_id(finance_rt, started.payment.id) == pid
    assert world.balance("emma") == 900
    assert pay.webhooks.handle_webhook(pid).status == "paid"


def test_online_top_up_needs_the_method_enabled(pay, world):
    world.finance.settings.update_settings(STAFF, settings(top_up_methods=["transfer"]))
    with pytest.raises(Conflict) as err:
        top_up(pay, world)
    assert err.value.code == "method_disabled"


def test_amounts_and_ownership_are_checked(pay, world):
    for cents in (0, -5, 99, 500_001):
        with pytest.raises(InvalidRequest):
            top_up(pay, world, cents)
    with pytest.raises(NotFound):
        top_up(pay, world, who=STRANGER)  # another family's wallet
    started = top_up(pay, world, 1000)
    with pytest.raises(NotFound):
        pay.online_payments.get_payment(STRANGER, started.payment.id)
    with pytest.raises(NotFound):
        pay.online_payments.get_payment(MUM, str(uuid.uuid4()))
    assert pay.online_payments.get_payment(STAFF, started.payment.id).payment.id == started.payment.id


def test_invoice_paid_online_and_its_rules(pay, world, finance_rt):
    inv = world.invoice("emma", 4200)
    started = pay.online_payments.start_invoice_payment(
        MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id, method="online")
    )
    assert (started.payment.purpose, started.payment.amount_cents) == ("invoice", 4200)
    checkout(started, "paid")
    assert pay.webhooks.handle_webhook(provider_id(finance_rt, started.payment.id)).booked
    paid = world.finance.invoices.get_invoice(MUM, inv.id).invoice
    assert (paid.status, paid.paid_cents) == ("paid", 4200)
    (event,) = received_events(finance_rt)
    assert (event.method, event.purpose, event.invoice_number, event.HasField("balance_after_cents")) == (
        "online",
        "invoice",
        inv.number,
        False,
    )
    with pytest.raises(Conflict) as err:
        pay.online_payments.start_invoice_payment(
            MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id, method="online")
        )
    assert err.value.code == "already_paid"
    cancelled = world.invoice("emma", 100, title="Photocopies")
    world.finance.invoices.issue_credit_note(
        STAFF, pb.IssueCreditNoteRequest(invoice_id=cancelled.id, reason="erreur")
    )
    with pytest.raises(Conflict) as err:
        pay.online_payments.start_invoice_payment(
            MUM, pb.StartInvoicePaymentRequest(invoice_id=cancelled.id, method="online")
        )
    assert err.value.code == "invoice_cancelled"
    with pytest.raises(NotFound):
        pay.online_payments.start_invoice_payment(
            STRANGER, pb.StartInvoicePaymentRequest(invoice_id=world.invoice("emma", 50).id)
        )
    world.finance.settings.update_settings(STAFF, settings(top_up_methods=["transfer"]))
    with pytest.raises(Conflict) as err:
        pay.online_payments.start_invoice_payment(
            MUM, pb.StartInvoicePaymentRequest(invoice_id=world.invoice("emma", 70).id)
        )
    assert err.value.code == "method_disabled"
    assert_ledger_invariants(finance_rt)


def test_an_invoice_paid_twice_online_keeps_the_excess_for_the_manager(pay, world, finance_rt):
    inv = world.invoice("emma", 3000)
    first = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    second = pay.online_payments.start_invoice_payment(MUM, pb.StartInvoicePaymentRequest(invoice_id=inv.id))
    for started in (first, second):
        checkout(started, "paid")
        pay.webhooks.handle_webhook(provider_id(finance_rt, started.payment.id))
    got = world.finance.invoices.get_invoice(MUM, inv.id).invoice
    assert (got.status, got.paid_cents) == ("paid", 3000)
    (left,) = pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    assert (left.amount_cents, left.reason, left.source) == (3000, "invoice_settled", "online")
    assert left.communication == inv.structured_communication
    assert pay.online_payments.get_payment(MUM, second.payment.id).payment.status == "paid"
    assert_ledger_invariants(finance_rt)
    with finance_rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(unmatched_transfers)).scalar_one() == 1


def test_an_order_invoice_answers_a_checkout_when_the_school_takes_orders_online(pay, world, finance_rt):
    world.finance.settings.update_settings(STAFF, settings(top_up_methods=[], online_payment_for_orders=True))
    req = pb.CreateOrderInvoiceRequest(
        student_id="emma",
        title="Manuels",
        idempotency_key="order:o-9",
        return_url="http://ignored/",
        lines=[pb.InvoiceLineInput(label="Atlas", quantity=1, unit_price_cents=2150)],
    )
    first = pay.online_payments.create_order_invoice(MUM, req)
    assert first.checkout_url.startswith("http") and first.payment_id
    again = pay.online_payments.create_order_invoice(MUM, req)
    assert (again.invoice.id, again.payment_id, again.checkout_url) == (
        first.invoice.id,
        first.payment_id,
        first.checkout_url,
    )
    got = pay.online_payments.get_payment(MUM, first.payment_id).payment
    assert (got.purpose, got.amount_cents) == ("order", 2150)
    requests.post(first.checkout_url, data={"action": "paid"}, allow_redirects=False, timeout=10)
    assert pay.webhooks.handle_webhook(provider_id(finance_rt, first.payment_id)).booked
    assert world.finance.invoices.get_invoice(MUM, first.invoice.id).invoice.status == "paid"
    # online payment of an order's invoice is allowed by that setting alone
    world.finance.settings.update_settings(
        STAFF, settings(top_up_methods=[], online_payment_for_orders=False)
    )
    plain = pay.online_payments.create_order_invoice(
        MUM,
        pb.CreateOrderInvoiceRequest(
            student_id="emma",
            title="Manuels 2",
            idempotency_key="order:o-10",
            lines=[pb.InvoiceLineInput(label="Atlas", quantity=1, unit_price_cents=100)],
        ),
    )
    assert plain.checkout_url == "" and plain.payment_id == ""


def test_sync_books_a_paid_payment_whose_webhook_was_lost(pay, world, finance_rt):
    started = top_up(pay, world, 800)
    checkout(started, "paid")
    finance_rt.clock.advance(minutes=5)
    assert pay.webhooks.sync_open_payments(older_than_seconds=120) == 1
    assert world.balance("emma") == 800
    assert pay.webhooks.sync_open_payments(older_than_seconds=120) == 0


def test_transfer_details_with_the_epc_qr_code(pay, world):
    details = pay.transfers.get_wallet_transfer(
        MUM, pb.GetWalletTransferRequest(wallet_id=world.wallet("emma").id)
    ).transfer
    assert (details.iban, details.bic, details.beneficiary) == (
        "BE68539007547034",
        "BBRUBEBB",
        "École Saint-Joseph",
    )
    assert details.structured_communication == world.wallet("emma").structured_communication
    assert details.epc_qr_svg.startswith("<svg") and details.amount_cents == 0
    assert details.epc_payload.splitlines()[:4] == ["BCD", "002", "1", "SCT"]
    assert details.structured_communication in details.epc_payload
    inv = world.invoice("emma", 1234)
    got = pay.transfers.get_invoice_transfer(MUM, pb.GetInvoiceTransferRequest(invoice_id=inv.id))
    assert got.transfer.amount_cents == 1234 and "EUR12.34" in got.transfer.epc_payload
    assert got.transfer.structured_communication == inv.structured_communication
    with pytest.raises(NotFound):
        pay.transfers.get_wallet_transfer(
            STRANGER, pb.GetWalletTransferRequest(wallet_id=world.wallet("emma").id)
        )
    with pytest.raises(NotFound):
        pay.transfers.get_invoice_transfer(STRANGER, pb.GetInvoiceTransferRequest(invoice_id=inv.id))
    world.finance.settings.update_settings(STAFF, settings(top_up_methods=["online"]))
    with pytest.raises(Conflict) as err:
        pay.transfers.get_wallet_transfer(MUM, pb.GetWalletTransferRequest(wallet_id=world.wallet("emma").id))
    assert err.value.code == "method_disabled"
    # an invoice's details stay available: its own communication is on the invoice itself
    assert (
        pay.transfers.get_invoice_transfer(
            MUM, pb.GetInvoiceTransferRequest(invoice_id=inv.id)
        ).transfer.amount_cents
        == 1234
    )


# -- refunds and chargebacks (the same webhook; the payment stays paid) -------------------------------
