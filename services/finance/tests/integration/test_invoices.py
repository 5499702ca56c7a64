"""Invoices, credit notes and paying an invoice from a wallet, through the use cases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.finance.db import (
    counters,
    invoices,
    ledger_postings,
    ledger_transactions,
    number_invoice,
    outbox,
)
from services.finance.tests.conftest import (
    MUM,
    OTHER_SCHOOL_STAFF,
    STAFF,
    STRANGER,
    assert_ledger_invariants,
    settings,
)


def events(rt, name: str) -> list:
    types = {
        "finance.invoice.issued.v1": ev.InvoiceIssued,
        "finance.invoice.cancelled.v1": ev.InvoiceCancelled,
        "finance.payment.received.v1": ev.PaymentReceived,
        "finance.sale.recorded.v1": ev.SaleRecorded,
    }
    with rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(outbox.c.body).where(outbox.c.event_name == name).order_by(outbox.c.id)
        ).scalars()
        out = []
        for body in bodies:
            env = envelope_pb2.Envelope.FromString(body)
            msg = types[name]()
            env.payload.Unpack(msg)
            out.append(msg)
        return out


def test_the_hundred_thousandth_invoice_of_a_year_keeps_every_digit_and_the_next_follows(world, finance_rt):
    first = world.invoice("emma", 100)
    year = first.issued_on[:4]
    assert first.number == f"{year}-00001"
    with finance_rt.db.unit_of_work() as s:
        s.execute(update(counters).where(counters.c.name == f"invoice:{year}").values(value=99_999))
    assert world.invoice("leo", 200).number == f"{year}-100000"
    assert world.invoice("emma", 300).number == f"{year}-100001"
    with finance_rt.db.unit_of_work() as s:
        stored = sorted(n for (n,) in s.execute(select(invoices.c.number)))
        labels = sorted(t for (t,) in s.execute(select(ledger_transactions.c.label)))
    assert stored == [f"{year}-00001", f"{year}-100000", f"{year}-100001"]
    assert [lb.split(" ")[1] for lb in labels if lb.startswith("Facture")] == stored
    assert_ledger_invariants(finance_rt)


def test_numbering_an_invoice_that_does_not_exist_fails_and_takes_no_number(world, finance_rt):
    first = world.invoice("emma", 100)
    year = int(first.issued_on[:4])
    with pytest.raises(LookupError, match="no invoice"), finance_rt.db.unit_of_work() as s:
        number_invoice(s, STAFF.school_id, "no-such-invoice", year)
    assert world.invoice("leo", 200).number == f"{year}-00002"  # the failed attempt left no gap


def test_an_invoice_has_lines_a_total_a_number_per_school_and_its_own_communication(world, finance_rt):
    inv = world.finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id="emma",
            title="Classe de neige",
            due_on="2026-04-30",
            lines=[
                pb.InvoiceLineInput(label="Séjour", quantity=1, unit_price_cents=18000),
                pb.InvoiceLineInput(label="Location de skis", quantity=2, unit_price_cents=1250),
            ],
        ),
    ).invoice
    assert (inv.total_cents, inv.paid_cents, inv.status) == (20500, 0, "unpaid")
    assert (inv.issued_on, inv.due_on, inv.number) == ("2026-03-16", "2026-04-30", "2026-00001")
    assert [(ln.label, ln.amount_cents) for ln in inv.lines] == [
        ("Séjour", 18000),
        ("Location de skis", 2500),
    ]
    wallet_comms = {w.structured_communication for w in world.wallets["emma"].values()}
    assert inv.structured_communication not in wallet_comms
    second = world.invoice("leo", 500)
    assert second.number == "2026-00002"
    elsewhere = world.finance.invoices.create_invoice
    with pytest.raises(NotFound):  # staff of another school do not know emma
        elsewhere(
            OTHER_SCHOOL_STAFF,
            pb.CreateInvoiceRequest(
                student_id="emma",
                title="x",
                lines=[pb.InvoiceLineInput(label="x", quantity=1, unit_price_cents=1)],
            ),
        )
    (issued, _) = events(finance_rt, "finance.invoice.issued.v1")
    assert issued.invoice_id == inv.id and issued.total_cents == 20500 and issued.number == "2026-00001"
    assert issued.iban == "BE68539007547034" and issued.beneficiary == "École Saint-Joseph"
    assert issued.student_name == "Emma Dupont" and len(issued.lines) == 2
    assert issued.structured_communication == inv.structured_communication.strip("+").replace("/", "")
    listed = world.finance.invoices.list_invoices(MUM, "emma").invoices
    assert [i.id for i in listed] == [inv.id]
    assert_ledger_invariants(finance_rt)


@pytest.mark.parametrize(
    ("title", "lines", "due_on", "field"),
    [
        ("", [("a", 1, 100)], "", "title"),
        ("T", [], "", "lines"),
        ("T", [("", 1, 100)], "", "lines[0].label"),
        ("T", [("a", 0, 100)], "", "lines[0].quantity"),
        ("T", [("a", 1, -5)], "", "lines[0].unit_price_cents"),
        ("T", [("a", 1, 100)], "31/12/2026", "due_on"),
        ("T", [("a", 1, 100)], "2020-01-01", "due_on"),
    ],
)
def test_a_bad_invoice_is_refused_with_the_field_and_writes_nothing(
    world, finance_rt, title, lines, due_on, field
):
    with pytest.raises(InvalidRequest) as exc:
        world.finance.invoices.create_invoice(
            STAFF,
            pb.CreateInvoiceRequest(
                student_id="emma",
                title=title,
                due_on=due_on,
                lines=[pb.InvoiceLineInput(label=lb, quantity=q, unit_price_cents=u) for lb, q, u in lines],
            ),
        )
    assert field in exc.value.fields
    assert world.finance.invoices.list_invoices(STAFF, "emma").invoices == []
    assert events(finance_rt, "finance.invoice.issued.v1") == []


def test_paying_from_the_wallet_settles_the_invoice_and_debits_the_wallet(world, finance_rt):
    world.top_up("emma", 3710)
    inv = world.invoice("emma", 1250)
    paid = world.pay(MUM, inv.id, world.wallet("emma").id, key="k1")
    assert (paid.invoice.status, paid.invoice.paid_cents, paid.wallet_balance_cents) == ("paid", 1250, 2460)
    assert world.balance("emma") == 2460
    (received,) = [e for e in events(finance_rt, "finance.payment.received.v1") if e.method == "wallet"]
    assert (received.invoice_id, received.amount_cents, received.purpose) == (inv.id, 1250, "invoice")
    assert received.balance_after_cents == 2460 and received.wallet_name == "Repas"
    assert received.invoice_number == inv.number
    with pytest.raises(Conflict) as exc:
        world.pay(MUM, inv.id, world.wallet("emma").id, key="k2")
    assert exc.value.code == "already_paid"
    assert_ledger_invariants(finance_rt)


def test_a_wallet_payment_is_refused_when_the_balance_does_not_cover_it(world, finance_rt):
    world.top_up("emma", 1000)
    inv = world.invoice("emma", 1001)
    with pytest.raises(Conflict) as exc:
        world.pay(MUM, inv.id, world.wallet("emma").id)
    assert exc.value.code == "insufficient_balance"
    assert world.balance("emma") == 1000
    assert world.finance.invoices.get_invoice(MUM, inv.id).invoice.status == "unpaid"
    assert_ledger_invariants(finance_rt)


def test_a_wallet_payment_is_refused_when_the_school_did_not_enable_it(world):
    world.finance.settings.update_settings(STAFF, settings(internal_wallet_payments=False))
    world.top_up("emma", 5000)
    inv = world.invoice("emma", 100)
    with pytest.raises(Conflict) as exc:
        world.pay(MUM, inv.id, world.wallet("emma").id)
    assert exc.value.code == "method_disabled"


def test_online_payment_is_not_offered_yet_and_unknown_methods_are_refused(world):
    inv = world.invoice("emma", 100)
    for method in ("online", "cheque", ""):
        with pytest.raises(InvalidRequest):
            world.finance.wallet_payments.pay_invoice(
                MUM, pb.PayInvoiceRequest(invoice_id=inv.id, method=method)
            )


def test_another_familys_invoice_and_wallet_answer_not_found(world):
    world.top_up("noah", 5000)
    world.top_up("emma", 5000)
    emma_invoice = world.invoice("emma", 100)
    with pytest.raises(NotFound):
        world.pay(STRANGER, emma_invoice.id, world.wallet("noah").id)
    with pytest.raises(NotFound):
        world.finance.invoices.get_invoice(STRANGER, emma_invoice.id)
    with pytest.raises(NotFound):  # emma's invoice from noah's wallet
        world.pay(STAFF, emma_invoice.id, world.wallet("noah").id)
    with pytest.raises(NotFound):  # from a sibling's wallet: the invoice's own student only
        world.pay(MUM, emma_invoice.id, world.wallet("leo").id)
    with pytest.raises(NotFound):  # the gateway names the active child
        world.finance.wallet_payments.pay_invoice(
            MUM,
            pb.PayInvoiceRequest(
                invoice_id=emma_invoice.id,
                method="wallet",
                wallet_id=world.wallet("emma").id,
                student_id="leo",
            ),
        )
    with pytest.raises(Forbidden):
        world.finance.invoices.list_invoices(STRANGER, "emma")
    assert world.balance("noah") == 5000


def test_replaying_a_payment_key_answers_the_first_answer_and_moves_money_once(world, finance_rt):
    world.top_up("emma", 5000)
    first_inv, second_inv = world.invoice("emma", 700), world.invoice("emma", 800)
    first = world.pay(MUM, first_inv.id, world.wallet("emma").id, key="pay-1")
    again = world.pay(MUM, first_inv.id, world.wallet("emma").id, key="pay-1")
    assert again == first
    assert world.balance("emma") == 4300
    with pytest.raises(Conflict) as exc:
        world.pay(MUM, second_inv.id, world.wallet("emma").id, key="pay-1")
    assert exc.value.code == "idempotency_key_reused"
    assert world.balance("emma") == 4300
    payments = [e for e in events(finance_rt, "finance.payment.received.v1") if e.method == "wallet"]
    assert len(payments) == 1


def test_a_credit_note_cancels_the_invoice_and_reverses_what_was_due(world, finance_rt):
    inv = world.invoice("emma", 2400)
    made = world.finance.invoices.issue_credit_note(
        STAFF, pb.IssueCreditNoteRequest(invoice_id=inv.id, reason="Sortie annulée")
    )
    assert made.invoice.status == "cancelled" and made.credit_note.credited_cents == 2400
    assert made.credit_note.number == "NC2026-00001"
    with finance_rt.db.unit_of_work() as s:
        receivable = (
            s.execute(
                select(ledger_postings.c.amount_cents).where(
                    ledger_postings.c.account == f"invoice:{inv.id}:receivable"
                )
            )
            .scalars()
            .all()
        )
    assert sum(receivable) == 0  # nothing is owed any more
    (cancelled,) = events(finance_rt, "finance.invoice.cancelled.v1")
    assert (cancelled.invoice_id, cancelled.credited_cents, cancelled.reason) == (
        inv.id,
        2400,
        "Sortie annulée",
    )
    assert cancelled.credit_note_number == "NC2026-00001"
    with pytest.raises(Conflict) as exc:
        world.finance.invoices.issue_credit_note(
            STAFF, pb.IssueCreditNoteRequest(invoice_id=inv.id, reason="encore")
        )
    assert exc.value.code == "invoice_cancelled"
    world.top_up("emma", 5000)
    with pytest.raises(Conflict) as exc:
        world.pay(MUM, inv.id, world.wallet("emma").id)
    assert exc.value.code == "invoice_cancelled"
    with pytest.raises(Forbidden):
        world.finance.invoices.issue_credit_note(
            MUM, pb.IssueCreditNoteRequest(invoice_id=inv.id, reason="x")
        )
    assert_ledger_invariants(finance_rt)


def test_a_paid_invoice_takes_no_credit_note(world):
    world.top_up("emma", 5000)
    inv = world.invoice("emma", 500)
    world.pay(MUM, inv.id, world.wallet("emma").id)
    with pytest.raises(Conflict) as exc:
        world.finance.invoices.issue_credit_note(
            STAFF, pb.IssueCreditNoteRequest(invoice_id=inv.id, reason="trop tard")
        )
    assert exc.value.code == "already_paid"


def test_an_order_invoice_is_made_once_per_key_with_the_credit_taken_off(world, finance_rt):
    req = pb.CreateOrderInvoiceRequest(
        student_id="emma",
        title="Manuels 2026-2027",
        idempotency_key="order:o-1",
        return_url="http://x/back",
        credit_cents=500,
        lines=[
            pb.InvoiceLineInput(label="Actimath 1 (location)", quantity=1, unit_price_cents=1250),
            pb.InvoiceLineInput(label="Cahier", quantity=1, unit_price_cents=890),
        ],
    )
    first = world.finance.invoices.create_order_invoice(MUM, req)
    assert (
        first.invoice.total_cents == 1640 and first.invoice.credit_cents == 500 and first.checkout_url == ""
    )
    retried = pb.CreateOrderInvoiceRequest()
    retried.CopyFrom(req)
    retried.return_url = "http://y/other"
    assert world.finance.invoices.create_order_invoice(MUM, retried) == first
    assert len(world.finance.invoices.list_invoices(MUM, "emma").invoices) == 1
    with pytest.raises(Forbidden):
        world.finance.invoices.create_order_invoice(STRANGER, req)
    (issued,) = events(finance_rt, "finance.invoice.issued.v1")
    assert issued.credit_cents == 500
    covered = pb.CreateOrderInvoiceRequest(
        student_id="emma",
        title="Manuels",
        idempotency_key="order:o-2",
        credit_cents=890,
        lines=[pb.InvoiceLineInput(label="Cahier", quantity=1, unit_price_cents=890)],
    )
    assert (
        world.finance.invoices.create_order_invoice(MUM, covered).invoice.status == "paid"
    )  # the credit covers it all
    assert_ledger_invariants(finance_rt)


def test_invoices_filter_by_status(world):
    world.top_up("emma", 5000)
    paid = world.invoice("emma", 100, title="Photos")
    world.pay(MUM, paid.id, world.wallet("emma").id)
    unpaid = world.invoice("emma", 200, title="Bruges")
    assert [i.id for i in world.finance.invoices.list_invoices(MUM, "emma", "paid").invoices] == [paid.id]
    assert [i.id for i in world.finance.invoices.list_invoices(MUM, "emma", "unpaid").invoices] == [unpaid.id]
    with pytest.raises(InvalidRequest):
        world.finance.invoices.list_invoices(MUM, "emma", "late")


def test_the_ledger_refuses_to_be_rewritten(world, finance_rt):
    world.top_up("emma", 1000)
    for statement in (
        "UPDATE ledger_postings SET amount_cents = amount_cents * 2",
        "DELETE FROM ledger_postings",
        "DELETE FROM ledger_transactions",
    ):
        with pytest.raises(DBAPIError), finance_rt.db.unit_of_work() as s:
            s.execute(text(statement))
    assert world.balance("emma") == 1000
    assert_ledger_invariants(finance_rt)
