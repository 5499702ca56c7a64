"""Ordering textbooks: catalog, summary with book-return credit, orders once, closed periods."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from kit.identity import Identity
from services.orders.db import catalog_items, credit_accounts, credit_entries, orders


def test_catalog_is_sorted_by_subject_with_comments(orders_world):
    _rt, svc, _inv, _staff, parent, period, items = orders_world
    catalog = svc.catalog.get_catalog(parent, period, "emma")
    p, listed, comments = catalog.period, catalog.items, {i.id: i.comment for i in catalog.items}
    assert p.notes == "Cochez les livres nécessaires."
    assert [(i.subject, i.title) for i in listed] == [
        ("Français", "Grammaire"),
        ("Mathématiques", "Actimath 1"),
        ("Mathématiques", "Cahier d'exercices"),
    ]
    assert comments[items["french"]] == "Option latin: non"


def test_summary_takes_the_credit_off_rentals_only(orders_world):
    _rt, svc, _inv, staff, parent, period, items = orders_world
    svc.returns.record_book_return(staff, "emma", 3000, "5 livres rendus")
    s = svc.ordering.summarize_order(parent, period, "emma", [items["maths"], items["cahier"]])
    assert (s.subtotal_cents, s.credit_cents, s.grand_total_cents) == (2140, 1250, 890)
    s2 = svc.ordering.summarize_order(parent, period, "emma", [items["cahier"]])
    assert (s2.credit_cents, s2.grand_total_cents) == (0, 890)


def test_credit_is_applied_once_across_orders(orders_world):
    rt, svc, inv, staff, parent, period, items = orders_world
    svc.returns.record_book_return(staff, "emma", 1000, "rendu")
    first = svc.ordering.place_order(parent, period, "emma", [items["french"]], "k1")
    second = svc.ordering.place_order(parent, period, "emma", [items["french"]], "k2")
    assert first.summary.credit_cents == 1000 and first.grand_total_cents == 1000
    assert second.summary.credit_cents == 0 and second.grand_total_cents == 2000
    with rt.db.unit_of_work() as s:
        assert s.execute(select(credit_accounts.c.balance_cents)).scalar_one() == 0
        assert s.execute(select(func.sum(credit_entries.c.amount_cents))).scalar_one() == 0
    assert [c[3] for c in inv.calls] == [1000, 0]  # finance got the credit with the first order only


def test_order_is_invoiced_with_its_lines(orders_world):
    _rt, svc, inv, _staff, parent, period, items = orders_world
    placed = svc.ordering.place_order(parent, period, "emma", [items["maths"], items["cahier"]], "k")
    assert placed.invoice_id == "inv-1" and placed.checkout_url == ""
    student, title, lines, credit, key = inv.calls[0]
    assert (student, title, credit, key) == ("emma", "Manuels 2026-2027", 0, f"order:{placed.order_id}")
    assert lines == (
        ("Mathématiques – Actimath 1 (location)", 1, 1250),
        ("Mathématiques – Cahier d'exercices", 1, 890),
    )


def test_closed_period_refuses_orders_and_catalog(orders_world):
    rt, svc, _inv, _staff, parent, period, items = orders_world
    rt.clock.now += timedelta(days=8)
    with pytest.raises(Conflict) as exc:
        svc.ordering.place_order(parent, period, "emma", [items["maths"]], "k")
    assert exc.value.code == "period_closed"
    with pytest.raises(Conflict):
        svc.catalog.get_catalog(parent, period, "emma")
    assert list(svc.periods.list_open_periods(parent, "emma").periods) == []


def test_a_period_closing_between_summary_and_order_refuses_cleanly(orders_world):
    rt, svc, _inv, _staff, parent, period, items = orders_world
    svc.ordering.summarize_order(parent, period, "emma", [items["maths"]])
    rt.clock.now += timedelta(days=7)  # exactly the closing instant
    with pytest.raises(Conflict):
        svc.ordering.place_order(parent, period, "emma", [items["maths"]], "k")
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(orders)).scalar_one() == 0


def test_period_of_another_class_is_not_found(orders_world):
    _rt, svc, _inv, _staff, _parent, period, _items = orders_world
    other = Identity(account_id="dad", role="parent", school_id="sch-1", students={"noah": "6C"})
    assert list(svc.periods.list_open_periods(other, "noah").periods) == []
    with pytest.raises(NotFound):
        svc.catalog.get_catalog(other, period, "noah")


def test_bad_item_choices_are_refused(orders_world):
    _rt, svc, _inv, _staff, parent, period, _items = orders_world
    with pytest.raises(InvalidRequest):
        svc.ordering.place_order(parent, period, "emma", [], "k")
    with pytest.raises(InvalidRequest):
        svc.ordering.place_order(parent, period, "emma", ["not-an-item"], "k2")


def test_same_key_replays_the_order_and_another_body_is_refused(orders_world):
    _rt, svc, inv, _staff, parent, period, items = orders_world
    a = svc.ordering.place_order(parent, period, "emma", [items["maths"]], "same")
    b = svc.ordering.place_order(parent, period, "emma", [items["maths"]], "same")
    assert a == b
    with pytest.raises(Conflict) as exc:
        svc.ordering.place_order(parent, period, "emma", [items["french"]], "same")
    assert exc.value.code == "idempotency_key_reused"
    assert len(inv.calls) == 1


def test_concurrent_double_submission_makes_one_order(orders_world):
    rt, svc, inv, _staff, parent, period, items = orders_world
    results, errors = [], []

    def submit():
        try:
            results.append(svc.ordering.place_order(parent, period, "emma", [items["maths"]], "double-click"))
        except Exception as e:  # noqa: BLE001  # pragma: no cover - a thread collects any failure, reported below
            errors.append(e)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.order_id for r in results}) == 1
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(orders)).scalar_one() == 1
    assert len({c[4] for c in inv.calls}) == 1


def test_an_order_whose_invoicing_failed_is_resumed_by_the_retry(orders_world):
    rt, svc, inv, _staff, parent, period, items = orders_world
    inv.fail_next = True
    with pytest.raises(Unavailable):
        svc.ordering.place_order(parent, period, "emma", [items["maths"]], "retry-me")
    again = svc.ordering.place_order(parent, period, "emma", [items["maths"]], "retry-me")
    assert again.invoice_id == "inv-1"
    with rt.db.unit_of_work() as s:
        assert s.execute(select(orders.c.status)).scalars().all() == ["placed"]


def test_parents_cannot_manage_periods_and_staff_records_credit(orders_world):
    _rt, svc, _inv, staff, parent, period, _items = orders_world
    from kit.errors import Forbidden

    with pytest.raises(Forbidden):
        svc.catalog.add_item(parent, period, "x", "y", "", "loan", 1)
    balance = svc.returns.record_book_return(staff, "emma", 700, "").credit_balance_cents
    balance = svc.returns.record_book_return(staff, "emma", 300, "").credit_balance_cents
    assert balance == 1000


def test_placed_order_is_announced_once_with_its_lines(orders_world):
    rt, svc, _inv, _staff, parent, period, items = orders_world
    from cartable.events.v1 import envelope_pb2
    from cartable.orders.v1 import events_pb2
    from services.orders.db import outbox

    svc.ordering.place_order(parent, period, "emma", [items["maths"], items["cahier"]], "k")
    svc.ordering.place_order(parent, period, "emma", [items["maths"], items["cahier"]], "k")
    with rt.db.unit_of_work() as s:
        # the world's staff actions (period, items) left their audit entries there too
        q = select(outbox.c.body).where(outbox.c.event_name != "orders.audit.recorded.v1")
        bodies = s.execute(q).scalars().all()
    assert len(bodies) == 1
    env = envelope_pb2.Envelope.FromString(bodies[0])
    ev = events_pb2.OrderPlaced()
    env.payload.Unpack(ev)
    assert env.event_name == "orders.order.placed.v1" and env.school_id == "sch-1"
    assert ev.period_title == "Manuels 2026-2027"
    assert [(i.title, i.type) for i in ev.items] == [
        ("Actimath 1", "loan"),
        ("Cahier d'exercices", "purchase"),
    ]
    assert ev.grand_total_cents == 2140


def test_an_item_added_with_a_key_is_added_once(orders_world):
    rt, svc, _inv, staff, parent, period, _items = orders_world
    first = svc.catalog.add_item(
        staff, period, "Photos", "Photo 1", "", "purchase", 500, "album-offer:a:p:1"
    ).id
    again = svc.catalog.add_item(
        staff, period, "Photos", "Photo 1", "", "purchase", 500, "album-offer:a:p:1"
    ).id
    assert again == first
    # the same key with another request is refused, not silently taken as the first one
    with pytest.raises(Conflict):
        svc.catalog.add_item(staff, period, "Photos", "Photo 1", "", "purchase", 900, "album-offer:a:p:1")
    with rt.db.unit_of_work() as s:
        titles = s.execute(select(catalog_items.c.title).where(catalog_items.c.subject == "Photos")).all()
    assert [t.title for t in titles] == ["Photo 1"]
    # without a key every call adds an item
    svc.catalog.add_item(staff, period, "Photos", "Photo 2", "", "purchase", 500)
    svc.catalog.add_item(staff, period, "Photos", "Photo 2", "", "purchase", 500)
    catalog = svc.catalog.get_catalog(parent, period, "emma").items
    assert [i.title for i in catalog if i.subject == "Photos"] == ["Photo 1", "Photo 2", "Photo 2"]


def test_withdrawn_items_leave_the_catalog_and_cannot_be_ordered(orders_world):
    _rt, svc, _inv, staff, parent, period, _items = orders_world
    from kit.errors import Forbidden

    photo = svc.catalog.add_item(
        staff, period, "Photos", "Photo 1", "", "purchase", 500, reference="photo:p1"
    ).id
    other = svc.catalog.add_item(
        staff, period, "Photos", "Photo 2", "", "purchase", 500, reference="photo:p2"
    ).id
    with pytest.raises(Forbidden):
        svc.catalog.withdraw_items(parent, ["photo:p1"])
    # another school's staff cannot touch this school's items
    elsewhere = Identity(account_id="x", role="staff", school_id="sch-2")
    assert svc.catalog.withdraw_items(elsewhere, ["photo:p1"]).count == 0
    assert svc.catalog.withdraw_items(staff, ["photo:p1", "photo:unknown"]).count == 1
    assert svc.catalog.withdraw_items(staff, ["photo:p1"]).count == 0  # once
    catalog = svc.catalog.get_catalog(parent, period, "emma").items
    assert [i.id for i in catalog if i.subject == "Photos"] == [other]
    with pytest.raises(InvalidRequest):
        svc.ordering.summarize_order(parent, period, "emma", [photo])
    assert svc.ordering.summarize_order(parent, period, "emma", [other]).subtotal_cents == 500
