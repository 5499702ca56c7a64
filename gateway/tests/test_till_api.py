"""The till's JSON routes in-process against fake services (issue #17): the price list (shapes, the
fields passed on and only those, finance's refusals, staff only), POST /admin/sales with childcare
lines, and their OpenAPI entries. The pages are in test_till.py."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import finance_pb2, till_pb2
from gateway.tests.test_till import CARE, MEAL, REPAS, SOUP, item_json, saved, set_fields
from kit.errors import Conflict, InvalidRequest, NotFound

# -- the JSON API -------------------------------------------------------------------------------------


def test_the_price_list_is_listed_with_its_archived_items_when_asked(client, fakes):
    staff = fakes.staff()
    fakes.on("till", "ListTillItems", till_pb2.ListTillItemsResponse(items=[SOUP, MEAL, CARE]))
    resp = client.get("/api/v1/admin/till/items?include_archived=true", headers=staff.bearer)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body == {
        "items": [
            item_json(),
            item_json(
                id="it-meal",
                label="Repas chaud",
                price_cents=395,
                wallet_type_id=REPAS,
                wallet_type_name="Repas",
                position=2,
            ),
            item_json(
                id="it-care", label="Garderie du soir", price_cents=250, childcare=True, days=2, position=1
            ),
        ],
        "next_cursor": None,
    }
    assert fakes.requests("till", "ListTillItems")[0].include_archived
    bad = client.get("/api/v1/admin/till/items?include_archived=maybe", headers=staff.bearer)
    assert bad.status_code == 400 and "include_archived" in bad.get_json()["error"]["fields"]


def test_an_item_is_created_with_the_fields_given_and_the_idempotency_key(client, fakes):
    staff = fakes.staff()
    fakes.on("till", "SaveTillItem", saved)
    resp = client.post(
        "/api/v1/admin/till/items",
        json={"label": "Soupe", "price_cents": 120, "childcare": True},
        headers={**staff.bearer, "Idempotency-Key": "k-item"},
    )
    assert resp.status_code == 201 and resp.get_json()["id"] == "it-new"
    (req,) = fakes.requests("till", "SaveTillItem")
    assert set_fields(req) == {"label", "price_cents", "childcare", "idempotency_key"}
    assert (req.label, req.price_cents, req.childcare, req.idempotency_key) == ("Soupe", 120, True, "k-item")


def test_an_item_s_days_of_care_are_passed_on_when_given(client, fakes):
    staff = fakes.staff()
    fakes.on("till", "SaveTillItem", saved)
    body = {"label": "Stage", "price_cents": 9000, "childcare": True, "days": 5}
    assert client.post("/api/v1/admin/till/items", json=body, headers=staff.bearer).status_code == 201
    resp = client.patch("/api/v1/admin/till/items/it-care", json={"days": 0}, headers=staff.bearer)
    assert resp.status_code == 200
    made, changed = fakes.requests("till", "SaveTillItem")
    assert (made.childcare, made.days) == (True, 5)
    assert set_fields(changed) == {"item_id", "days"} and changed.days == 0

    def refused(_req):
        raise InvalidRequest("some fields are not valid", fields={"days": "only on a childcare item"})

    fakes.on("till", "SaveTillItem", refused)
    resp = client.patch("/api/v1/admin/till/items/it-soup", json={"days": 2}, headers=staff.bearer)
    assert resp.status_code == 400 and "days" in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price_cents": 120}, "label"),
        ({"label": "Soupe"}, "price_cents"),
        ({"label": "Soupe", "price_cents": 0}, "price_cents"),
        ({"label": "Soupe", "price_cents": "1,20"}, "price_cents"),
        ({"label": "Soupe", "price_cents": 120, "childcare": "yes"}, "childcare"),
        ({"label": "Soupe", "price_cents": 120, "position": -1}, "position"),
        ({"label": "Soupe", "price_cents": 120, "childcare": True, "days": -1}, "days"),
        ({"label": "Soupe", "price_cents": 120, "childcare": True, "days": 367}, "days"),
        ({"label": "Soupe", "price_cents": 120, "childcare": True, "days": "2"}, "days"),
        ({"label": "Soupe", "price_cents": 120, "childcare": True, "days": True}, "days"),
    ],
)
def test_a_bad_item_body_is_refused_on_its_field_before_finance(client, fakes, body, field):
    resp = client.post("/api/v1/admin/till/items", json=body, headers=fakes.staff().bearer)
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    assert fakes.requests("till", "SaveTillItem") == []


def test_a_change_passes_only_the_fields_given_and_finance_refusals_pass_through(client, fakes):
    staff = fakes.staff()
    fakes.on("till", "SaveTillItem", saved)
    resp = client.patch("/api/v1/admin/till/items/it-soup", json={"active": False}, headers=staff.bearer)
    assert resp.status_code == 200
    (req,) = fakes.requests("till", "SaveTillItem")
    assert set_fields(req) == {"item_id", "active"} and req.item_id == "it-soup"
    empty = client.patch("/api/v1/admin/till/items/it-soup", json={}, headers=staff.bearer)
    assert empty.status_code == 400

    def archived(_req):
        raise Conflict("archived", code="item_archived")

    fakes.on("till", "SaveTillItem", archived)
    resp = client.patch("/api/v1/admin/till/items/it-soup", json={"price_cents": 5}, headers=staff.bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "item_archived"

    def missing(_req):
        raise NotFound("no such till item")

    fakes.on("till", "SaveTillItem", missing)
    resp = client.patch("/api/v1/admin/till/items/theirs", json={"price_cents": 5}, headers=staff.bearer)
    assert resp.status_code == 404


def test_an_item_is_archived_with_delete(client, fakes):
    fakes.on("till", "RemoveTillItem", till_pb2.RemoveTillItemResponse(item=SOUP, archived_now=True))
    resp = client.delete("/api/v1/admin/till/items/it-soup", headers=fakes.staff().bearer)
    assert resp.status_code == 204 and resp.data == b""
    assert fakes.requests("till", "RemoveTillItem")[0].item_id == "it-soup"


def test_parents_may_not_use_the_price_list(client, fakes):
    mum = fakes.parent()
    for method, path in (
        ("get", "/api/v1/admin/till/items"),
        ("post", "/api/v1/admin/till/items"),
        ("patch", "/api/v1/admin/till/items/x"),
        ("delete", "/api/v1/admin/till/items/x"),
    ):
        resp = getattr(client, method)(path, json={"label": "x", "price_cents": 1}, headers=mum.bearer)
        assert resp.status_code == 403, (method, path)
    assert fakes.requests("till", "ListTillItems") == []


def test_a_sale_line_may_say_childcare(client, fakes):
    staff = fakes.staff()
    fakes.on(
        "finance",
        "RecordSale",
        finance_pb2.RecordSaleResponse(id="sale-1", balance_cents=130, amount_cents=370),
    )
    lines = [
        {"label": "Garderie", "quantity": 1, "unit_price_cents": 250, "childcare": True},
        {"label": "Goûter", "quantity": 2, "unit_price_cents": 60},
    ]
    body = {"student_id": "s-emma", "wallet_id": "w-repas", "lines": lines}
    resp = client.post("/api/v1/admin/sales", json=body, headers={**staff.bearer, "Idempotency-Key": "k"})
    assert resp.status_code == 201
    (req,) = fakes.requests("finance", "RecordSale")
    assert [(ln.label, ln.childcare) for ln in req.lines] == [("Garderie", True), ("Goûter", False)]
    lines[1]["childcare"] = "no"
    resp = client.post("/api/v1/admin/sales", json=body, headers=staff.bearer)
    assert resp.status_code == 400 and "lines[1].childcare" in resp.get_json()["error"]["fields"]


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/admin/till/items"]) == {"get", "post"}
    assert set(paths["/api/v1/admin/till/items/{id}"]) == {"patch", "delete"}
    post = paths["/api/v1/admin/till/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert post["properties"]["days"]["maximum"] == 366
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "days" in schemas["TillItem"]["required"]
    line = paths["/api/v1/admin/sales"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "childcare" in line["properties"]["lines"]["items"]["properties"]
