"""School sales (the sales journal), cash top-ups and the operations list with its period and filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.finance.tests.conftest import MUM, STAFF, STRANGER, assert_ledger_invariants


def ops(world, who=MUM, student="emma", period="today", **kw) -> list[pb.Operation]:
    f = pb.PeriodFilter(period=period, from_date=kw.pop("from_date", ""), to_date=kw.pop("to_date", ""))
    return list(
        world.finance.operations.list_operations(
            who, pb.ListOperationsRequest(student_id=student, period=f, **kw)
        ).operations
    )


def journal(world, who=MUM, student="emma", period="today", **kw) -> list[pb.SaleLine]:
    f = pb.PeriodFilter(period=period, from_date=kw.pop("from_date", ""), to_date=kw.pop("to_date", ""))
    return list(
        world.finance.operations.list_sales(
            who, pb.ListSalesRequest(student_id=student, period=f, **kw)
        ).lines
    )


def test_a_sale_debits_the_wallet_and_lands_in_the_sales_journal_line_by_line(world, finance_rt):
    world.top_up("emma", 2000)
    sold = world.sale("emma", [("Repas chaud", 2, 395), ("Photocopies", 10, 5)])
    assert (sold.amount_cents, sold.balance_cents) == (840, 1160)
    lines = journal(world)
    assert [(ln.label, ln.quantity, ln.unit_price_cents, ln.amount_cents) for ln in lines] == [
        ("Repas chaud", 2, 395, 790),
        ("Photocopies", 10, 5, 50),
    ]
    assert {ln.sale_id for ln in lines} == {sold.id} and lines[0].wallet_name == "Repas"
    (purchase,) = ops(world, type="purchase")
    assert purchase.amount_cents == -840 and purchase.payment_method == "wallet"
    assert purchase.label == "Repas chaud ×2, Photocopies ×10"
    assert_ledger_invariants(finance_rt)


def test_a_sale_the_wallet_does_not_cover_is_refused_and_books_nothing(world, finance_rt):
    world.top_up("emma", 300)
    with pytest.raises(Conflict) as exc:
        world.sale("emma", [("Repas chaud", 1, 395)])
    assert exc.value.code == "insufficient_balance"
    assert world.balance("emma") == 300 and journal(world) == []
    with pytest.raises(NotFound):  # a wallet that is not this student's
        world.finance.operations.record_sale(
            STAFF,
            pb.RecordSaleRequest(
                student_id="noah",
                wallet_id=world.wallet("emma").id,
                lines=[pb.SaleLineInput(label="x", quantity=1, unit_price_cents=1)],
            ),
        )
    with pytest.raises(Forbidden):  # parents do not record sales
        world.finance.operations.record_sale(
            MUM,
            pb.RecordSaleRequest(
                student_id="emma",
                wallet_id=world.wallet("emma").id,
                lines=[pb.SaleLineInput(label="x", quantity=1, unit_price_cents=1)],
            ),
        )
    assert_ledger_invariants(finance_rt)


def test_operations_list_every_movement_of_the_childs_wallets_signed(world, finance_rt):
    world.top_up("emma", 3710, key="t1")
    world.top_up("emma", 1000, name="Activités")
    world.sale("emma", [("Repas chaud", 1, 395)])
    inv = world.invoice("emma", 850, title="Photos de classe")
    world.pay(MUM, inv.id, world.wallet("emma", "Activités").id)
    world.top_up("leo", 999)  # another child: not in emma's list
    listed = ops(world)
    assert [(o.type, o.amount_cents, o.payment_method, o.wallet_name) for o in listed] == [
        ("invoice_payment", -850, "wallet", "Activités"),
        ("purchase", -395, "wallet", "Repas"),
        ("top_up", 1000, "cash", "Activités"),
        ("top_up", 3710, "cash", "Repas"),
    ]
    assert listed[0].label == f"Facture {inv.number} – Photos de classe"
    assert all(o.at.endswith("+00:00") for o in listed)
    assert [o.type for o in ops(world, type="top_up")] == ["top_up", "top_up"]
    assert [o.type for o in ops(world, payment_method="wallet")] == ["invoice_payment", "purchase"]
    assert ops(world, payment_method="online") == []
    assert ops(world, type="refund") == [] and ops(world, type="adjustment") == []
    assert [o.amount_cents for o in ops(world, wallet_id=world.wallet("emma", "Activités").id)] == [
        -850,
        1000,
    ]
    with pytest.raises(NotFound):
        ops(world, wallet_id=world.wallet("noah").id)
    with pytest.raises(Forbidden):
        ops(world, who=STRANGER)


def test_operations_and_sales_follow_the_period_in_brussels_days(world, finance_rt):
    clock = finance_rt.clock
    # 31 March 2026, 23:30 in Brussels (CEST, UTC+2) is still March
    clock.set(datetime(2026, 3, 31, 21, 30, tzinfo=UTC))
    world.top_up("emma", 100)
    world.sale("emma", [("Goûter", 1, 50)])
    # 1 April, 00:30 in Brussels
    clock.set(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))
    world.top_up("emma", 200)
    assert [o.amount_cents for o in ops(world, period="today")] == [200]
    assert [o.amount_cents for o in ops(world, period="yesterday")] == [-50, 100]
    assert [o.amount_cents for o in ops(world, period="this_month")] == [200]
    assert [o.amount_cents for o in ops(world, period="last_month")] == [-50, 100]
    assert [o.amount_cents for o in ops(world, period="last_7_days")] == [200, -50, 100]
    assert [ln.label for ln in journal(world, period="last_month")] == ["Goûter"]
    assert journal(world, period="this_month") == []
    custom = ops(world, period="custom", from_date="2026-03-31", to_date="2026-03-31")
    assert [o.amount_cents for o in custom] == [-50, 100]
    assert [
        o.amount_cents for o in ops(world, period="custom", from_date="2026-04-01", to_date="2026-04-01")
    ] == [200]
    resp = world.finance.operations.list_operations(
        MUM, pb.ListOperationsRequest(student_id="emma")
    )  # default: last 30 days
    assert (resp.starts_at, resp.ends_at) == ("2026-03-02T23:00:00+00:00", "2026-04-01T22:00:00+00:00")
    assert len(resp.operations) == 3


@pytest.mark.parametrize(
    ("period", "from_date", "to_date", "field"),
    [
        ("someday", "", "", "period"),
        ("custom", "", "", "period"),
        ("custom", "2026-04-02", "2026-04-01", "period"),
        ("custom", "01/04/2026", "2026-04-02", "from"),
        ("custom", "2026-04-01", "tomorrow", "to"),
    ],
)
def test_a_bad_period_is_a_clear_400(world, period, from_date, to_date, field):
    with pytest.raises(InvalidRequest) as exc:
        ops(world, period=period, from_date=from_date, to_date=to_date)
    assert field in exc.value.fields
    with pytest.raises(InvalidRequest):
        ops(world, type="gift")
    with pytest.raises(InvalidRequest):
        ops(world, payment_method="bitcoin")


def test_staff_see_the_whole_schools_sales_journal(world):
    for student in ("emma", "noah"):
        world.top_up(student, 1000)
        world.sale(student, [("Repas", 1, 400)])
    whole = journal(world, who=STAFF, student="")
    assert sorted(ln.student_id for ln in whole) == ["emma", "noah"]
    with pytest.raises(Forbidden):
        journal(world, who=MUM, student="")


def test_the_journal_pages_are_computed_in_finance_by_keyset(world):
    """The school's journal comes a page at a time (50 by default), each line once across the pages,
    in the journal's order, even with sales at the same instant; one student's may come whole."""
    world.top_up("emma", 5000)
    world.top_up("noah", 5000)
    for i in range(4):  # lines of one sale share its instant: the cursor tells them apart
        world.sale("emma" if i % 2 else "noah", [(f"Repas {i}", 1, 100), (f"Dessert {i}", 1, 50)])
    whole = journal(world, who=STAFF, student="", limit=200)
    assert len(whole) == 8
    f = pb.PeriodFilter(period="today")
    seen, cursor, pages = [], "", 0
    while True:
        page = world.finance.operations.list_sales(
            STAFF, pb.ListSalesRequest(period=f, limit=3, cursor=cursor)
        )
        assert len(page.lines) <= 3
        seen += [ln.id for ln in page.lines]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and seen == [ln.id for ln in whole]
    default = world.finance.operations.list_sales(STAFF, pb.ListSalesRequest(period=f))
    assert len(default.lines) == 8 and default.next_cursor == ""  # 50 by default: one page here
    assert len(journal(world, student="emma")) == 4  # a parent's child: the whole period
    with pytest.raises(InvalidRequest) as exc:
        world.finance.operations.list_sales(STAFF, pb.ListSalesRequest(period=f, cursor="not-ours"))
    assert "cursor" in exc.value.fields
    with pytest.raises(InvalidRequest) as exc:
        world.finance.operations.list_sales(STAFF, pb.ListSalesRequest(period=f, limit=500))
    assert "limit" in exc.value.fields


def test_operations_pages_are_computed_in_finance_by_keyset(world):
    """Asked a page at a time, every movement comes once, in the list's order (newest first)."""
    world.top_up("emma", 5000)
    for i in range(4):
        world.sale("emma", [(f"Repas {i}", 1, 100)])
    whole = ops(world)
    assert len(whole) == 5
    f = pb.PeriodFilter(period="today")
    seen, cursor, pages = [], "", 0
    while True:
        page = world.finance.operations.list_operations(
            MUM, pb.ListOperationsRequest(student_id="emma", period=f, limit=2, cursor=cursor)
        )
        seen += [o.id for o in page.operations]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and seen == [o.id for o in whole]
    with pytest.raises(InvalidRequest) as exc:
        world.finance.operations.list_operations(
            MUM, pb.ListOperationsRequest(student_id="emma", period=f, cursor="bm90IG91cnM")
        )
    assert "cursor" in exc.value.fields


def test_top_ups_by_staff_are_cash_only_and_replay_by_key(world, finance_rt):
    first = world.top_up("emma", 1500, key="cash-1")
    assert world.top_up("emma", 1500, key="cash-1") == first
    assert world.balance("emma") == 1500
    with pytest.raises(InvalidRequest):
        world.finance.operations.record_top_up(
            STAFF, pb.RecordTopUpRequest(wallet_id=world.wallet("emma").id, amount_cents=10, method="online")
        )
    with pytest.raises(InvalidRequest):
        world.top_up("emma", 0)
    with pytest.raises(Forbidden):
        world.finance.operations.record_top_up(
            MUM, pb.RecordTopUpRequest(wallet_id=world.wallet("emma").id, amount_cents=10)
        )
    assert_ledger_invariants(finance_rt)
