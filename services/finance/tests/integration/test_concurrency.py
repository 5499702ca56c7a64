"""Racing payments over gRPC, each thread its own call: a wallet is never overdrawn (row locks on
PostgreSQL, immediate transactions on SQLite), and one key moves money once."""

from __future__ import annotations

import threading
from collections import Counter

import grpc

from cartable.finance.v1 import finance_pb2 as pb
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
