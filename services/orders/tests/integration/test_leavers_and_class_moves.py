"""Issue #16 in orders, on SQLite and PostgreSQL. A child who left the school (their parent's token says
so) orders nothing more: no open period listed, the catalog, the summary and the order answer 409
``student_left`` and nothing is written. A class change needs nothing here: the token carries the
class on every call, so the next call after the move sees the new class's periods and not the old."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from kit.errors import Conflict, NotFound
from services.orders.tests.conftest import snapshot


def test_a_leaver_orders_nothing_and_nothing_is_written(orders_world):
    rt, svc, invoicer, _staff, parent, period, items = orders_world
    gone = dataclasses.replace(parent, left={"emma": "2026-06-30"})
    assert list(svc.periods.list_open_periods(gone, "emma").periods) == []
    before = snapshot(rt)
    for call in (
        lambda: svc.catalog.get_catalog(gone, period, "emma"),
        lambda: svc.ordering.summarize_order(gone, period, "emma", [items["maths"]]),
        lambda: svc.ordering.place_order(gone, period, "emma", [items["maths"]], "k-left"),
    ):
        with pytest.raises(Conflict) as err:
            call()
        assert err.value.code == "student_left"
    assert snapshot(rt) == before and invoicer.calls == []
    # the same parent, the child still at school: served as before
    assert svc.ordering.place_order(parent, period, "emma", [items["maths"]], "k-1").invoice_id


def test_a_class_change_shows_the_new_class_s_periods_at_the_next_call(orders_world):
    rt, svc, _invoicer, staff, parent, period, _items = orders_world
    now = rt.clock.now
    second_year = svc.periods.create_period(
        staff,
        "Manuels 2A",
        "",
        (now - timedelta(hours=1)).isoformat(),
        (now + timedelta(days=3)).isoformat(),
        ["2A"],
    ).id
    assert [p.id for p in svc.periods.list_open_periods(parent, "emma").periods] == [period]
    moved = dataclasses.replace(parent, students={"emma": "2A"})  # the token auth signs after the move
    assert [p.id for p in svc.periods.list_open_periods(moved, "emma").periods] == [second_year]
    with pytest.raises(NotFound):  # the old class's period is no longer hers
        svc.catalog.get_catalog(moved, period, "emma")
    assert svc.catalog.get_catalog(moved, second_year, "emma").period.id == second_year
