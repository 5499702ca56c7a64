"""Ordering in-process: the catalog's JSON shape, and the order pages' amounts as kit.money writes them."""

from __future__ import annotations

import re

from cartable.orders.v1 import orders_pb2 as pb

PERIOD = pb.OrderPeriod(
    id="p-1", title="Manuels 2026", notes="Avant le 30 juin", closes_at="2026-06-30T00:00:00+02:00"
)
CATALOG = pb.GetCatalogResponse(
    period=PERIOD,
    items=[
        pb.CatalogItem(id="it-1", subject="Français", title="Bescherelle", type="purchase", price_cents=1250),
        pb.CatalogItem(id="it-2", subject="Français", title="Atlas", type="loan", price_cents=300),
        pb.CatalogItem(id="it-3", subject="Maths", title="Compas", type="purchase", price_cents=450),
    ],
)


def test_the_catalog_groups_the_items_by_subject(client, fakes):
    fakes.on("orders", "GetCatalog", CATALOG)
    parent = fakes.parent()
    body = client.get("/api/v1/order-periods/p-1/catalog", headers=parent.bearer).get_json()
    assert body["id"] == "p-1" and body["title"] == "Manuels 2026" and body["notes"] == "Avant le 30 juin"
    assert [(s["subject"], [i["id"] for i in s["items"]]) for s in body["subjects"]] == [
        ("Français", ["it-1", "it-2"]),
        ("Maths", ["it-3"]),
    ]
    assert body["subjects"][0]["items"][0] == {
        "id": "it-1",
        "title": "Bescherelle",
        "comment": "",
        "type": "purchase",
        "price_cents": 1250,
    }
    assert fakes.requests("orders", "GetCatalog")[0].student_id == "child-1"


def test_the_summary_page_shows_the_credit_taken_off(client, fakes):
    fakes.on("orders", "GetCatalog", CATALOG)
    fakes.on(
        "orders",
        "SummarizeOrder",
        pb.SummarizeOrderResponse(
            lines=[
                pb.SummaryLine(
                    item_id="it-1", subject="Français", title="Bescherelle", type="purchase", price_cents=1250
                )
            ],
            subtotal_cents=1250,
            credit_cents=250,
            grand_total_cents=1000,
        ),
    )
    client.set_cookie("cartable_session", fakes.parent().token)
    form = client.get("/commandes/p-1").get_data(as_text=True)
    assert "12,50\u00a0€" in form and "4,50\u00a0€" in form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    resp = client.post("/commandes/p-1/recapitulatif", data={"csrf_token": csrf, "item_ids": ["it-1"]})

    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "-2,50\u00a0€" in html and re.search(r'id="grand-total">10,00\u00a0€<', html)
    assert list(fakes.requests("orders", "SummarizeOrder")[0].item_ids) == ["it-1"]
