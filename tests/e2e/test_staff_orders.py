"""The school's back office for textbook orders through the gateway (issue #17), SQLite and
PostgreSQL: periods with their order counts, a period changed (bad values refused on their field), an
item withdrawn (the catalog no longer offers it, placed orders keep it), a period's orders with the
students' names and classes from auth and paid or not from finance, totals per item, the distribution
CSV whose amounts add up to the list's cents; another school's ids not found; parents refused."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.e2e.test_finance_wallets_invoices import SETTINGS, top_up, wallets_by_name
from tests.factories import expect, new_family, new_school


def _period(staff, classes=("1A", "2B")):
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels 2027",
                "notes": "Avant le 15 août.",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=7)).isoformat(),
                "class_names": list(classes),
            },
        ),
        201,
    ).json()["id"]
    items = {}
    for key, subject, title, kind, price in (
        ("maths", "Mathématiques", "Actimath 1", "loan", 1250),
        ("cahier", "Mathématiques", "Cahier d'exercices", "purchase", 890),
        ("french", "Français", "Grammaire", "purchase", 2005),
    ):
        items[key] = expect(
            staff.post(
                f"/admin/order-periods/{period}/items",
                json={"subject": subject, "title": title, "type": kind, "price_cents": price},
            ),
            201,
        ).json()["id"]
    return period, items


def _order(parent, period, item_ids):
    return expect(
        parent.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": item_ids, "confirm": True},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    ).json()


def _patch(client, path, body):
    return client.request("PATCH", path, json=body)


@pytest.fixture(scope="module")
def world(suite):
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    period, items = _period(staff)
    zoe = new_family(suite, staff, [{"first_name": "Zoé", "last_name": "Wouters", "class_name": "2B"}])
    adam = new_family(suite, staff, [{"first_name": "Adam", "last_name": "Peeters", "class_name": "1A"}])
    zoe_order = _order(zoe, period, [items["french"], items["maths"]])
    adam_order = _order(adam, period, [items["cahier"], items["maths"]])
    # Adam's invoice paid from his wallet: the list says paid
    wallet = wallets_by_name(adam)["Repas"]
    top_up(staff, wallet["id"], 5000)
    expect(
        adam.post(
            f"/invoices/{adam_order['invoice_id']}/payments",
            json={"method": "wallet", "wallet_id": wallet["id"]},
            headers={"Idempotency-Key": "pay-adam"},
        ),
        200,
    )
    other = new_school(suite)
    other_period, other_items = _period(other)
    return {
        "staff": staff,
        "period": period,
        "items": items,
        "zoe": zoe,
        "adam": adam,
        "orders": {"zoe": zoe_order, "adam": adam_order},
        "other": other,
        "other_period": other_period,
        "other_items": other_items,
    }


def test_periods_are_listed_with_their_order_counts(world):
    staff = world["staff"]
    empty, _ = _period(staff, classes=())
    got = {p["id"]: p for p in expect(staff.get("/admin/order-periods")).json()["items"]}
    assert set(got) == {world["period"], empty}  # not the other school's
    row = got[world["period"]]
    assert set(row) == {"id", "title", "opens_at", "closes_at", "class_names", "orders_count"}
    assert (row["orders_count"], row["class_names"]) == (2, ["1A", "2B"])
    assert (got[empty]["orders_count"], got[empty]["class_names"]) == (0, [])


def test_a_periods_orders_say_who_which_class_which_books_and_paid_or_not(world):
    staff, orders = world["staff"], world["orders"]
    body = expect(staff.get(f"/admin/order-periods/{world['period']}/orders")).json()
    assert body["next_cursor"] is None
    by_id = {o["id"]: o for o in body["items"]}
    zoe, adam = by_id[orders["zoe"]["order_id"]], by_id[orders["adam"]["order_id"]]
    assert (zoe["student_name"], zoe["class_name"], zoe["invoice_status"]) == ("Zoé Wouters", "2B", "unpaid")
    assert (adam["student_name"], adam["class_name"], adam["invoice_status"]) == (
        "Adam Peeters",
        "1A",
        "paid",
    )
    assert zoe["student_id"] == world["zoe"].active_child_id
    assert zoe["invoice_id"] == orders["zoe"]["invoice_id"]
    assert zoe["grand_total_cents"] == 2005 + 1250
    assert [(li["title"], li["type"], li["price_cents"]) for li in zoe["lines"]] == [
        ("Grammaire", "purchase", 2005),
        ("Actimath 1", "loan", 1250),
    ]
    assert set(zoe["lines"][0]) == {"item_id", "title", "type", "price_cents"}
    datetime.fromisoformat(zoe["placed_at"])
    # pages by the service's cursor
    first = expect(staff.get(f"/admin/order-periods/{world['period']}/orders?limit=1")).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = expect(
        staff.get(
            f"/admin/order-periods/{world['period']}/orders",
            params={"limit": 1, "cursor": first["next_cursor"]},
        )
    ).json()
    assert rest["next_cursor"] is None
    assert {first["items"][0]["id"], rest["items"][0]["id"]} == set(by_id)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=nonsense"])
def test_a_bad_page_is_refused_on_its_field(world, query):
    r = world["staff"].get(f"/admin/order-periods/{world['period']}/orders?{query}")
    assert r.status_code == 400
    assert query.split("=")[0] in r.json()["error"]["fields"]


def test_totals_say_how_many_of_each_book_to_hand_out(world):
    staff, items = world["staff"], world["items"]
    body = expect(staff.get(f"/admin/order-periods/{world['period']}/totals")).json()
    got = [(t["subject"], t["title"], t["type"], t["price_cents"], t["ordered"]) for t in body["items"]]
    assert got == [
        ("Français", "Grammaire", "purchase", 2005, 1),
        ("Mathématiques", "Actimath 1", "loan", 1250, 2),
        ("Mathématiques", "Cahier d'exercices", "purchase", 890, 1),
    ]
    assert {t["item_id"] for t in body["items"]} == set(items.values())


def test_the_distribution_csv_is_sorted_and_adds_up_to_the_lists_cents(world):
    staff = world["staff"]
    r = expect(staff.get(f"/admin/order-periods/{world['period']}/orders.csv"))
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    header, rows = rows[0], rows[1:]
    assert header == [
        "class_name",
        "student_name",
        "student_id",
        "subject",
        "title",
        "type",
        "price",
        "invoice_status",
    ]
    assert [(r[0], r[1], r[3], r[4], r[6], r[7]) for r in rows] == [
        ("1A", "Adam Peeters", "Mathématiques", "Actimath 1", "12.50", "paid"),
        ("1A", "Adam Peeters", "Mathématiques", "Cahier d'exercices", "8.90", "paid"),
        ("2B", "Zoé Wouters", "Français", "Grammaire", "20.05", "unpaid"),
        ("2B", "Zoé Wouters", "Mathématiques", "Actimath 1", "12.50", "unpaid"),
    ]
    listed = expect(staff.get(f"/admin/order-periods/{world['period']}/orders")).json()["items"]
    cents = sum(li["price_cents"] for o in listed for li in o["lines"])
    assert sum(Decimal(r[6]) for r in rows) * 100 == cents


def test_a_period_is_changed_and_bad_values_are_refused_on_their_field(world):
    staff = world["staff"]
    period, _ = _period(staff, classes=("3C",))
    later = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0).isoformat()
    got = expect(
        _patch(
            staff,
            f"/admin/order-periods/{period}",
            {"notes": "Reporté", "closes_at": later, "class_names": ["3C", "3D"]},
        )
    ).json()
    assert (got["title"], got["notes"], got["class_names"]) == ("Manuels 2027", "Reporté", ["3C", "3D"])
    assert datetime.fromisoformat(got["closes_at"]) == datetime.fromisoformat(later)
    for body, field in (
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"opens_at": "demain"}, "opens_at"),
        ({"closes_at": (datetime.now(UTC) - timedelta(days=9)).isoformat()}, "closes_at"),
        ({"class_names": "3C"}, "class_names"),
        ({"price_cents": 3}, "price_cents"),
        ({}, "body"),
    ):
        r = _patch(staff, f"/admin/order-periods/{period}", body)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["error"]["fields"], (body, r.text)
    row = next(p for p in expect(staff.get("/admin/order-periods")).json()["items"] if p["id"] == period)
    assert row["class_names"] == ["3C", "3D"]  # nothing changed by the refused ones
    assert staff.request("PATCH", f"/admin/order-periods/{period}", data="x").status_code == 400


def test_a_withdrawn_item_leaves_the_catalog_and_placed_orders_keep_it(world, suite):
    staff = world["staff"]
    period, items = _period(staff, classes=("1A",))
    parent = new_family(suite, staff, [{"first_name": "Lou", "class_name": "1A"}])
    placed = _order(parent, period, [items["maths"], items["cahier"]])
    expect(staff.delete(f"/admin/order-periods/{period}/items/{items['maths']}"), 204)
    expect(staff.delete(f"/admin/order-periods/{period}/items/{items['maths']}"), 204)  # idempotent
    catalog = expect(parent.get(f"/order-periods/{period}/catalog")).json()
    offered = {i["id"] for s in catalog["subjects"] for i in s["items"]}
    assert offered == {items["cahier"], items["french"]}
    r = parent.post(f"/order-periods/{period}/summary", json={"item_ids": [items["maths"]]})
    assert r.status_code == 400
    (order,) = expect(staff.get(f"/admin/order-periods/{period}/orders")).json()["items"]
    assert order["id"] == placed["order_id"]
    assert [li["item_id"] for li in order["lines"]] == [items["maths"], items["cahier"]]
    totals = {
        t["item_id"]: t["ordered"]
        for t in expect(staff.get(f"/admin/order-periods/{period}/totals")).json()["items"]
    }
    assert totals[items["maths"]] == 1
    assert expect(staff.get(f"/admin/order-periods/{period}/orders.csv")).text.count("Actimath 1") == 1
    assert staff.delete(f"/admin/order-periods/{period}/items/unknown").status_code == 404


def test_another_schools_ids_are_not_found_and_untouched(world):
    staff, theirs, their_items = world["staff"], world["other_period"], world["other_items"]
    for method, path, body in (
        ("PATCH", f"/admin/order-periods/{theirs}", {"title": "Pris"}),
        ("DELETE", f"/admin/order-periods/{theirs}/items/{their_items['maths']}", None),
        ("DELETE", f"/admin/order-periods/{world['period']}/items/{their_items['maths']}", None),
        ("GET", f"/admin/order-periods/{theirs}/orders", None),
        ("GET", f"/admin/order-periods/{theirs}/totals", None),
        ("GET", f"/admin/order-periods/{theirs}/orders.csv", None),
        ("GET", "/admin/order-periods/nope/orders", None),
    ):
        r = staff.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    other = world["other"]
    row = next(p for p in expect(other.get("/admin/order-periods")).json()["items"] if p["id"] == theirs)
    assert row["title"] == "Manuels 2027"
    totals = expect(other.get(f"/admin/order-periods/{theirs}/totals")).json()["items"]
    assert len(totals) == 3


def test_parents_are_refused_and_strangers_unauthenticated(world, suite):
    from tests.factories import anonymous

    period = world["period"]
    for path in (
        "/admin/order-periods",
        f"/admin/order-periods/{period}/orders",
        f"/admin/order-periods/{period}/totals",
        f"/admin/order-periods/{period}/orders.csv",
    ):
        assert world["zoe"].get(path).status_code == 403, path
        assert anonymous(suite).get(path).status_code == 401, path
    assert _patch(world["zoe"], f"/admin/order-periods/{period}", {"title": "x"}).status_code == 403
