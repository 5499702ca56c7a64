"""The staff's side of textbook orders: periods with their order counts, a period changed (checked as
a new one), an item withdrawn (placed orders keep it), the orders page by page, totals per item."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cartable.orders.v1 import orders_pb2 as pb
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from services.orders.tests.conftest import snapshot


def _place(svc, period, student, item_ids, key):
    parent = Identity(account_id=f"p-{student}", role="parent", school_id="sch-1", students={student: "1A"})
    return svc.ordering.place_order(parent, period, student, item_ids, key)


def test_periods_are_listed_with_their_placed_orders_count(orders_world):
    rt, svc, _inv, staff, _parent, period, items = orders_world
    empty = svc.periods.create_period(
        staff, "Fournitures", "", rt.clock.now.isoformat(), (rt.clock.now + timedelta(days=3)).isoformat(), []
    ).id
    _place(svc, period, "emma", [items["maths"]], "k1")
    _place(svc, period, "leo", [items["cahier"]], "k2")
    counts = {p.id: p.orders_count for p in svc.periods.list_periods(staff).periods}
    assert counts == {period: 2, empty: 0}


def test_a_period_is_changed_field_by_field_and_checked_as_a_new_one(orders_world):
    rt, svc, _inv, staff, _parent, period, _items = orders_world
    later = (rt.clock.now + timedelta(days=30)).isoformat()
    got = svc.periods.update_period(
        staff, pb.UpdatePeriodRequest(period_id=period, closes_at=later, notes="  Avant le 30  ")
    ).period
    assert (got.title, got.notes, got.closes_at, list(got.class_names)) == (
        "Manuels 2026-2027",
        "Avant le 30",
        later,
        ["1A", "1B"],
    )
    got = svc.periods.update_period(
        staff, pb.UpdatePeriodRequest(period_id=period, set_class_names=True, class_names=[" 2B ", "2A", ""])
    ).period
    assert list(got.class_names) == ["2A", "2B"]
    before = snapshot(rt)
    with pytest.raises(InvalidRequest) as exc:
        svc.periods.update_period(
            staff,
            pb.UpdatePeriodRequest(
                period_id=period, title=" ", closes_at=(rt.clock.now - timedelta(days=5)).isoformat()
            ),
        )
    assert set(exc.value.fields) == {"title", "closes_at"}
    with pytest.raises(InvalidRequest) as exc:
        svc.periods.update_period(staff, pb.UpdatePeriodRequest(period_id=period, opens_at="demain"))
    assert set(exc.value.fields) == {"opens_at"}
    svc.periods.update_period(staff, pb.UpdatePeriodRequest(period_id=period))  # nothing changes
    assert snapshot(rt) == before
    with pytest.raises(NotFound):
        svc.periods.update_period(staff, pb.UpdatePeriodRequest(period_id="nope", title="x"))


def test_a_withdrawn_item_leaves_the_catalog_and_placed_orders_keep_it(orders_world):
    _rt, svc, _inv, staff, parent, period, items = orders_world
    placed = _place(svc, period, "emma", [items["maths"], items["cahier"]], "k1")
    assert svc.catalog.withdraw_item(staff, period, items["maths"]).withdrawn_now is True
    assert svc.catalog.withdraw_item(staff, period, items["maths"]).withdrawn_now is False
    assert items["maths"] not in {i.id for i in svc.catalog.get_catalog(parent, period, "emma").items}
    with pytest.raises(InvalidRequest):
        svc.ordering.summarize_order(parent, period, "emma", [items["maths"]])
    (order,) = svc.staff_orders.list_period_orders(staff, period, 0, "").orders
    assert order.id == placed.order_id
    assert [li.item_id for li in order.lines] == [items["maths"], items["cahier"]]
    totals = {
        t.item_id: (t.ordered, t.withdrawn) for t in svc.staff_orders.get_period_totals(staff, period).items
    }
    assert totals == {items["maths"]: (1, True), items["cahier"]: (1, False), items["french"]: (0, False)}
    with pytest.raises(NotFound):
        svc.catalog.withdraw_item(staff, period, "unknown-item")


def test_orders_are_paged_by_a_cursor_the_service_computes(orders_world):
    rt, svc, _inv, staff, _parent, period, items = orders_world
    placed = []
    for n in range(5):
        rt.clock.now += timedelta(seconds=1 if n != 3 else 0)  # two orders at the same instant
        placed.append(_place(svc, period, f"s{n}", [items["french"]], f"k{n}").order_id)
    seen, cursor = [], ""
    while True:
        page = svc.staff_orders.list_period_orders(staff, period, 2, cursor)
        assert len(page.orders) <= 2
        seen += [o.id for o in page.orders]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(placed) and len(seen) == 5
    first = svc.staff_orders.list_period_orders(staff, period, 0, "").orders[0]
    assert (first.student_id, first.grand_total_cents, first.invoice_id) == ("s0", 2000, "inv-1")
    for bad in ("nonsense", "eyJ4Ijp9"):
        with pytest.raises(InvalidRequest) as exc:
            svc.staff_orders.list_period_orders(staff, period, 2, bad)
        assert "cursor" in exc.value.fields
    with pytest.raises(InvalidRequest) as exc:
        svc.staff_orders.list_period_orders(staff, period, 201, "")
    assert "limit" in exc.value.fields


def test_totals_count_each_item_of_the_placed_orders(orders_world):
    _rt, svc, _inv, staff, _parent, period, items = orders_world
    _place(svc, period, "emma", [items["maths"], items["french"]], "k1")
    _place(svc, period, "leo", [items["maths"]], "k2")
    got = [(t.subject, t.title, t.ordered) for t in svc.staff_orders.get_period_totals(staff, period).items]
    assert got == [
        ("Français", "Grammaire", 1),
        ("Mathématiques", "Actimath 1", 2),
        ("Mathématiques", "Cahier d'exercices", 0),
    ]
