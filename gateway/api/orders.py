"""JSON API: ordering periods, catalogs, summaries and orders (parents); periods, items and book
returns (staff)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from gateway.calls import orders
from gateway.calls.account import list_students
from gateway.openapi import error_responses, json_body, list_of, obj, ok
from gateway.shapes import catalog_json, period_json, summary_json
from gateway.web import field_int, field_str, idempotency_key, require_parent_child, require_staff
from gateway.web import json_body as read_json
from kit.errors import InvalidRequest

bp = Blueprint("api_orders", __name__)


def item_ids(data: dict) -> list[str]:
    ids = data.get("item_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidRequest("item_ids must be a list of item ids", fields={"item_ids": "list of strings"})
    if not ids:
        raise InvalidRequest("choose at least one item", fields={"item_ids": "at least one item"})
    if len(ids) > 500:
        raise InvalidRequest("too many items", fields={"item_ids": "at most 500"})
    return ids


@bp.get("/api/v1/order-periods")
def order_periods():
    _sess, child = require_parent_child()
    return jsonify(items=[period_json(p) for p in orders.list_open_periods(child)], next_cursor=None)


@bp.get("/api/v1/order-periods/<period_id>/catalog")
def period_catalog(period_id: str):
    _sess, child = require_parent_child()
    return jsonify(catalog_json(orders.catalog(period_id, child)))


@bp.post("/api/v1/order-periods/<period_id>/summary")
def period_summary(period_id: str):
    _sess, child = require_parent_child()
    return jsonify(summary_json(orders.summarize(period_id, child, item_ids(read_json()))))


@bp.post("/api/v1/order-periods/<period_id>/orders")
def period_order(period_id: str):
    _sess, child = require_parent_child()
    data = read_json()
    ids = item_ids(data)
    if data.get("confirm") is not True:
        raise InvalidRequest("confirm the order first", fields={"confirm": "must be true"})
    resp = orders.place(period_id, child, ids, idempotency_key())
    return jsonify(
        order_id=resp.order_id,
        invoice_id=resp.invoice_id,
        grand_total_cents=resp.grand_total_cents,
        checkout_url=resp.checkout_url or None,
    ), 201


@bp.post("/api/v1/admin/order-periods")
def admin_periods():
    require_staff()
    data = read_json()
    classes = data.get("class_names") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidRequest("class_names must be a list", fields={"class_names": "list of strings"})
    made = orders.create_period(
        title=field_str(data, "title", max_len=200),
        notes=field_str(data, "notes", required=False, max_len=5000),
        opens_at=field_str(data, "opens_at"),
        closes_at=field_str(data, "closes_at"),
        class_names=classes,
    )
    return jsonify(id=made), 201


@bp.post("/api/v1/admin/order-periods/<period_id>/items")
def admin_items(period_id: str):
    require_staff()
    data = read_json()
    kind = field_str(data, "type")
    if kind not in ("purchase", "loan"):
        raise InvalidRequest("type must be purchase or loan", fields={"type": "purchase | loan"})
    made = orders.add_item(
        period_id,
        subject=field_str(data, "subject", max_len=120),
        title=field_str(data, "title", max_len=300),
        comment=field_str(data, "comment", required=False, max_len=2000),
        type=kind,
        price_cents=field_int(data, "price_cents", minimum=0, maximum=10_000_000),
        key=idempotency_key(),
        reference=field_str(data, "reference", required=False, max_len=80),
    )
    return jsonify(id=made), 201


@bp.post("/api/v1/admin/book-returns")
def admin_book_returns():
    require_staff()
    data = read_json()
    student_id = field_str(data, "student_id", max_len=64)
    if not list_students(student_ids=[student_id]):
        raise InvalidRequest("unknown student", fields={"student_id": "unknown"})
    resp = orders.record_book_return(
        student_id,
        credit_cents=field_int(data, "credit_cents", minimum=1, maximum=10_000_000),
        note=field_str(data, "note", required=False, max_len=1000),
    )
    return jsonify(id=resp.id, credit_balance_cents=resp.credit_balance_cents), 201


PERIOD = obj(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
        "notes": {"type": "string"},
    },
    ["id", "title", "opens_at", "closes_at", "notes"],
)
ITEM = obj(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "comment": {"type": "string"},
        "type": {"enum": ["purchase", "loan"]},
        "price_cents": {"type": "integer"},
    },
    ["id", "title", "comment", "type", "price_cents"],
)
SUMMARY = obj(
    {
        "lines": {
            "type": "array",
            "items": obj(
                {
                    "item_id": {"type": "string"},
                    "title": {"type": "string"},
                    "subject": {"type": "string"},
                    "type": {"type": "string"},
                    "price_cents": {"type": "integer"},
                }
            ),
        },
        "subtotal_cents": {"type": "integer"},
        "credit_cents": {"type": "integer"},
        "grand_total_cents": {"type": "integer"},
    },
    ["lines", "subtotal_cents", "credit_cents", "grand_total_cents"],
)
ITEM_IDS = obj({"item_ids": {"type": "array", "items": {"type": "string"}}}, ["item_ids"])
PATH_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}

OPENAPI = {
    "/api/v1/order-periods": {
        "get": {
            "summary": "Ordering periods open now for the active child",
            "responses": {**ok(list_of(PERIOD)), **error_responses(401, 409, 503)},
        }
    },
    "/api/v1/order-periods/{id}/catalog": {
        "get": {
            "summary": "The order form: items by subject",
            "parameters": PATH_ID,
            "responses": {
                **ok(
                    obj(
                        {
                            "title": {"type": "string"},
                            "notes": {"type": "string"},
                            "subjects": {
                                "type": "array",
                                "items": obj(
                                    {"subject": {"type": "string"}, "items": {"type": "array", "items": ITEM}}
                                ),
                            },
                        },
                        ["title", "notes", "subjects"],
                    )
                ),
                **error_responses(401, 404, 409, 503),
            },
        }
    },
    "/api/v1/order-periods/{id}/summary": {
        "post": {
            "summary": "Récapitulatif: amount, credit, grand total",
            "parameters": PATH_ID,
            "requestBody": json_body(ITEM_IDS),
            "responses": {**ok(SUMMARY), **error_responses(400, 401, 404, 409, 503)},
        }
    },
    "/api/v1/order-periods/{id}/orders": {
        "post": {
            "summary": "Place the order (confirm must be true); creates its invoice",
            "parameters": [*PATH_ID, IDEMPOTENCY],
            "requestBody": json_body(
                obj(
                    {
                        "item_ids": {"type": "array", "items": {"type": "string"}},
                        "confirm": {"type": "boolean"},
                    },
                    ["item_ids", "confirm"],
                )
            ),
            "responses": {
                **ok(
                    obj(
                        {
                            "order_id": {"type": "string"},
                            "invoice_id": {"type": "string"},
                            "grand_total_cents": {"type": "integer"},
                            "checkout_url": {"type": ["string", "null"]},
                        },
                        ["order_id", "invoice_id", "grand_total_cents", "checkout_url"],
                    ),
                    status=201,
                ),
                **error_responses(400, 401, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/order-periods": {
        "post": {
            "summary": "Create an ordering period for some classes (none: every class)",
            "requestBody": json_body(
                obj(
                    {
                        "title": {"type": "string"},
                        "notes": {"type": "string"},
                        "opens_at": {"type": "string", "format": "date-time"},
                        "closes_at": {"type": "string", "format": "date-time"},
                        "class_names": {"type": "array", "items": {"type": "string"}},
                    },
                    ["title", "opens_at", "closes_at"],
                )
            ),
            "responses": {
                **ok(obj({"id": {"type": "string"}}), status=201),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/api/v1/admin/order-periods/{id}/items": {
        "post": {
            "summary": "Add an item to a period's catalog (once per Idempotency-Key when given)",
            "parameters": [*PATH_ID, IDEMPOTENCY],
            "requestBody": json_body(
                obj(
                    {
                        "subject": {"type": "string"},
                        "title": {"type": "string"},
                        "comment": {"type": "string"},
                        "type": {"enum": ["purchase", "loan"]},
                        "price_cents": {"type": "integer", "minimum": 0},
                        "reference": {
                            "type": "string",
                            "maxLength": 80,
                            "description": "what the item sells (photo:<id> for a photo): withdrawing that "
                            "thing takes the item off sale",
                        },
                    },
                    ["subject", "title", "type", "price_cents"],
                )
            ),
            "responses": {
                **ok(obj({"id": {"type": "string"}}), status=201),
                **error_responses(400, 401, 403, 404, 409),
            },
        }
    },
    "/api/v1/admin/book-returns": {
        "post": {
            "summary": "Books returned: credit taken off the student's next order",
            "requestBody": json_body(
                obj(
                    {
                        "student_id": {"type": "string"},
                        "credit_cents": {"type": "integer", "minimum": 1},
                        "note": {"type": "string"},
                    },
                    ["student_id", "credit_cents"],
                )
            ),
            "responses": {
                **ok(
                    obj({"id": {"type": "string"}, "credit_balance_cents": {"type": "integer"}}), status=201
                ),
                **error_responses(400, 401, 403),
            },
        }
    },
}
