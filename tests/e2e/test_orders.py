"""Textbook orders through the gateway: catalog, summary with credit, the invoice in finance and in
the documents, closed periods, one order for a double submission."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from kit.testing import wait_for
from tests.factories import expect, new_family, new_school


def _open_period(staff, class_name="1A", *, opens=-1, closes=7):
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels 2027",
                "notes": "Voir la liste de la 1re commune.",
                "opens_at": (now + timedelta(days=opens)).isoformat(),
                "closes_at": (now + timedelta(days=closes)).isoformat(),
                "class_names": [class_name],
            },
        ),
        201,
    ).json()["id"]
    items = {}
    for key, subject, title, kind, price in (
        ("maths", "Mathématiques", "Actimath 1", "loan", 1250),
        ("cahier", "Mathématiques", "Cahier d'exercices", "purchase", 890),
        ("french", "Français", "Grammaire", "loan", 2000),
    ):
        items[key] = expect(
            staff.post(
                f"/admin/order-periods/{period}/items",
                json={"subject": subject, "title": title, "comment": "", "type": kind, "price_cents": price},
            ),
            201,
        ).json()["id"]
    return period, items


def test_order_path_from_catalog_to_invoice_with_credit_applied_once(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "1A"}])
    child = parent.active_child_id
    period, items = _open_period(staff)
    expect(
        staff.post(
            "/admin/book-returns", json={"student_id": child, "credit_cents": 1000, "note": "3 livres"}
        ),
        201,
    )

    periods = expect(parent.get("/order-periods")).json()["items"]
    assert [p["id"] for p in periods] == [period]
    dash = expect(parent.get("/dashboard")).json()
    assert [p["id"] for p in dash["order_periods"]] == [period]

    cat = expect(parent.get(f"/order-periods/{period}/catalog")).json()
    assert cat["notes"] == "Voir la liste de la 1re commune."
    assert [s["subject"] for s in cat["subjects"]] == ["Français", "Mathématiques"]

    chosen = [items["maths"], items["cahier"]]
    summary = expect(parent.post(f"/order-periods/{period}/summary", json={"item_ids": chosen})).json()
    assert (summary["subtotal_cents"], summary["credit_cents"], summary["grand_total_cents"]) == (
        2140,
        1000,
        1140,
    )

    expect(parent.post(f"/order-periods/{period}/orders", json={"item_ids": chosen}), 400)  # no confirm
    placed = expect(
        parent.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": chosen, "confirm": True},
            headers={"Idempotency-Key": "order-1"},
        ),
        201,
    ).json()
    assert placed["grand_total_cents"] == 1140 and placed["checkout_url"] is None

    invoices = expect(parent.get("/invoices")).json()["items"]
    invoice = next(i for i in invoices if i["id"] == placed["invoice_id"])
    assert (invoice["total_cents"], invoice["status"]) == (1140, "unpaid")
    wait_for(
        lambda: any(d["title"] == "Facture – Manuels 2027" for d in parent.get("/documents").json()["items"]),
        timeout=60,
        what="the invoice's PDF in the documents",
    )

    again = expect(parent.post(f"/order-periods/{period}/summary", json={"item_ids": chosen})).json()
    assert again["credit_cents"] == 0  # the credit went to the first order


def test_closed_period_is_refused_and_hidden(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Noah", "class_name": "2B"}])
    period, items = _open_period(staff, "2B", opens=-3, closes=-1)
    assert expect(parent.get("/order-periods")).json()["items"] == []
    r = parent.post(f"/order-periods/{period}/orders", json={"item_ids": [items["maths"]], "confirm": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "period_closed"


def test_concurrent_double_submission_makes_one_order(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Léa", "class_name": "1A"}])
    period, items = _open_period(staff)
    answers = []

    def submit():
        r = parent.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": [items["french"]], "confirm": True},
            headers={"Idempotency-Key": "double-click"},
        )
        answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in answers] == [201] * 5
    assert len({a["order_id"] for _, a in answers}) == 1
    assert len({a["invoice_id"] for _, a in answers}) == 1
    invoices = expect(parent.get("/invoices")).json()["items"]
    assert len(invoices) == 1


def test_another_familys_period_and_items_are_out_of_reach(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Zoé", "class_name": "3C"}])
    period, _items = _open_period(staff, "1A")  # not Zoé's class
    assert parent.get(f"/order-periods/{period}/catalog").status_code == 404
    other_school = new_school(suite)
    theirs, _their_items = _open_period(other_school, "3C")
    assert parent.get(f"/order-periods/{theirs}/catalog").status_code == 404
