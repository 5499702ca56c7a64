"""Racing payments over gRPC, each thread its own call: a wallet is never overdrawn (row locks on
PostgreSQL, immediate transactions on SQLite), and one key moves money once."""

from __future__ import annotations

import threading
from collections import Counter

import grpc
from sqlalchemy import select

from cartable.finance.v1 import finance_pb2 as pb
from services.finance.db import invoices, ledger_transactions
from services.finance.tests.conftest import ACCOUNTS, SCHOOL, STAFF, assert_ledger_invariants, error_code, md

RACERS = 50


def race(call, n: int = RACERS) -> list[str]:
    """Start ``n`` calls at once; returns each one's outcome: ``ok`` or its error code."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = [""] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            call(i)
            outcomes[i] = "ok"
        except grpc.RpcError as exc:
            outcomes[i] = error_code(exc) or exc.code().name

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return outcomes


def test_fifty_racing_wallet_payments_the_balance_covers_once_make_exactly_one_payment(
    world, stub, keys, finance_rt
):
    amount = 1250
    world.top_up("emma", amount)
    invoices = [world.invoice("emma", amount, title=f"Sortie {i}") for i in range(RACERS)]
    token = keys.token(role="parent", school_id=SCHOOL, students={"emma": "1A"}, account_id=ACCOUNTS["mum"])
    wallet_id = world.wallet("emma").id

    outcomes = race(
        lambda i: stub.PayInvoice(
            pb.PayInvoiceRequest(
                invoice_id=invoices[i].id, method="wallet", wallet_id=wallet_id, idempotency_key=f"race-{i}"
            ),
            metadata=md(token),
            timeout=60,
        )
    )
    assert Counter(outcomes) == {"ok": 1, "insufficient_balance": RACERS - 1}
    assert world.balance("emma") == 0
    paid = [i for i in world.finance.invoices.list_invoices(STAFF, "emma").invoices if i.status == "paid"]
    assert len(paid) == 1
    assert_ledger_invariants(finance_rt)


def test_fifty_racing_sales_the_balance_covers_once_record_exactly_one(world, stub, keys, finance_rt):
    world.top_up("leo", 395)
    token = keys.token(role="staff", school_id=SCHOOL, account_id=ACCOUNTS["canteen"])
    wallet_id = world.wallet("leo").id
    outcomes = race(
        lambda i: stub.RecordSale(
            pb.RecordSaleRequest(
                student_id="leo",
                wallet_id=wallet_id,
                idempotency_key=f"sale-{i}",
                lines=[pb.SaleLineInput(label="Repas chaud", quantity=1, unit_price_cents=395)],
            ),
            metadata=md(token),
            timeout=60,
        )
    )
    assert Counter(outcomes) == {"ok": 1, "insufficient_balance": RACERS - 1}
    assert world.balance("leo") == 0
    assert_ledger_invariants(finance_rt)


def test_one_key_sent_many_times_at_once_pays_once_and_answers_the_same(world, stub, keys, finance_rt):
    world.top_up("emma", 5000)
    inv = world.invoice("emma", 1000)
    token = keys.token(role="parent", school_id=SCHOOL, students={"emma": "1A"}, account_id=ACCOUNTS["mum"])
    answers: dict[int, pb.PayInvoiceResponse] = {}

    def call(i: int) -> None:
        answers[i] = stub.PayInvoice(
            pb.PayInvoiceRequest(
                invoice_id=inv.id,
                method="wallet",
                wallet_id=world.wallet("emma").id,
                idempotency_key="double-click",
            ),
            metadata=md(token),
            timeout=60,
        )

    outcomes = race(call, n=10)
    assert outcomes == ["ok"] * 10
    assert len({a.SerializeToString(deterministic=True) for a in answers.values()}) == 1
    assert world.balance("emma") == 4000
    assert_ledger_invariants(finance_rt)


def test_thirty_racing_invoices_of_one_school_are_numbered_without_gap_or_repeat(
    world, stub, keys, finance_rt
):
    """The number is taken last in each invoice's transaction (its provisional one replaced there):
    racing invoices still get consecutive numbers, each booked under its own, none provisional."""
    token = keys.token(role="staff", school_id=SCHOOL, account_id=ACCOUNTS["manager"])
    made: dict[int, pb.Invoice] = {}

    def call(i: int) -> None:
        made[i] = stub.CreateInvoice(
            pb.CreateInvoiceRequest(
                student_id="emma" if i % 2 else "leo",
                title=f"Excursion {i}",
                idempotency_key=f"invoice-{i}",
                lines=[pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=1000 + i)],
            ),
            metadata=md(token),
            timeout=60,
        ).invoice

    n = 30
    assert Counter(race(call, n)) == {"ok": n}
    year = made[0].issued_on[:4]
    assert sorted(inv.number for inv in made.values()) == [f"{year}-{k:05d}" for k in range(1, n + 1)]
    with finance_rt.db.unit_of_work() as s:
        stored = dict(s.execute(select(invoices.c.id, invoices.c.number)).all())
        labels = [t for (t,) in s.execute(select(ledger_transactions.c.label))]
    assert {inv.id: inv.number for inv in made.values()} == stored
    for inv in made.values():
        assert f"Facture {inv.number} – {inv.title}" in labels
    assert_ledger_invariants(finance_rt)
