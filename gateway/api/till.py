"""JSON API of the till's price list (staff; issue #17, not in API.md's contract): the items, one added,
changed or archived. A sale at the till is POST /api/v1/admin/sales (``api/finance_staff.py``), its
lines taken from these items. Shapes are checked here; finance owns the rules (``calls/till.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from cartable.finance.v1 import till_pb2
from gateway.calls import till
from gateway.openapi import NS, B, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.web import field_int, field_str, idempotency_key, json_body, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_till", __name__)

MAX_PRICE_CENTS = 10_000_000
MAX_DAYS = 366


def till_item_json(item: till_pb2.TillItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "price_cents": item.price_cents,
        "wallet_type_id": item.wallet_type_id or None,
        "wallet_type_name": item.wallet_type_name or None,
        "childcare": item.childcare,
        "days": item.days,
        "position": item.position,
        "active": item.active,
        "archived": item.archived,
        "updated_at": item.updated_at,
    }


def _fields(data: dict, *, creating: bool) -> dict[str, Any]:
    """The body's item fields, each checked for its type (finance checks the values)."""
    out: dict[str, Any] = {}
    if creating or "label" in data:
        out["label"] = field_str(data, "label", max_len=120)
    if creating or "price_cents" in data:
        out["price_cents"] = field_int(data, "price_cents", minimum=1, maximum=MAX_PRICE_CENTS)
    if "wallet_type_id" in data:
        out["wallet_type_id"] = field_str(data, "wallet_type_id", required=False, max_len=36)
    if "position" in data:
        out["position"] = field_int(data, "position", minimum=0, maximum=100_000)
    if "days" in data:
        out["days"] = field_int(data, "days", minimum=0, maximum=MAX_DAYS)
    for name in ("childcare", "active"):
        if name in data:
            if not isinstance(data[name], bool):
                raise InvalidRequest(f"{name} must be true or false", fields={name: "expected a boolean"})
            out[name] = data[name]
    return out


@bp.get("/api/v1/admin/till/items")
def list_items():
    require_staff()
    archived = request.args.get("include_archived", "false").lower()
    if archived not in ("true", "false"):
        raise InvalidRequest("include_archived is true or false", fields={"include_archived": "true | false"})
    items = till.list_items(include_archived=archived == "true")
    return jsonify(items=[till_item_json(i) for i in items], next_cursor=None)


@bp.post("/api/v1/admin/till/items")
def create_item():
    require_staff()
    data = json_body()
    made = till.save_item(key=idempotency_key(), **_fields(data, creating=True))
    return jsonify(till_item_json(made.item)), 201


@bp.patch("/api/v1/admin/till/items/<item_id>")
def update_item(item_id: str):
    require_staff()
    data = json_body()
    fields = _fields(data, creating=False)
    if not fields:
        raise InvalidRequest(
            "nothing to change",
            fields={"body": "any of label, price_cents, wallet_type_id, childcare, days, position, active"},
        )
    return jsonify(till_item_json(till.save_item(item_id[:36], **fields).item))


@bp.delete("/api/v1/admin/till/items/<item_id>")
def remove_item(item_id: str):
    require_staff()
    till.remove_item(item_id[:36])
    return Response(status=204)


# -- OpenAPI ----------------------------------------------------------------------------------------

ITEM = obj(
    {
        "id": S,
        "label": S,
        "price_cents": I,
        "wallet_type_id": {**NS, "description": "the wallet type it is sold from; null: any wallet"},
        "wallet_type_name": NS,
        "childcare": {**B, "description": "out-of-school care (tax certificates): its sale lines say so"},
        "days": {
            **I,
            "description": "days of care per unit sold (0 on an item that is not childcare); "
            "a sale line has days x quantity, at most 366",
        },
        "position": I,
        "active": {**B, "description": "false: kept on the list, not offered at the till"},
        "archived": B,
        "updated_at": {"type": "string", "format": "date-time"},
    },
    ["id", "label", "price_cents", "childcare", "days", "position", "active", "archived"],
)
ITEM_FIELDS = {
    "label": {**S, "maxLength": 120},
    "price_cents": {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_CENTS},
    "wallet_type_id": {**S, "description": "one of the school's wallet types; empty: any wallet"},
    "childcare": B,
    "days": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_DAYS,
        "description": "days of care per unit sold, only with childcare; a new childcare item without "
        "it: 1; an item no longer childcare: 0",
    },
    "position": {"type": "integer", "minimum": 0, "description": "default: after the last item"},
    "active": {**B, "description": "default true"},
}
ID = {"name": "id", "in": "path", "required": True, "schema": S}

SCHEMAS = {"TillItem": ITEM}

OPENAPI: dict = {
    "/api/v1/admin/till/items": {
        "get": {
            "summary": "The till's price list, by position then label (archived items with "
            "include_archived=true, after the others); one page",
            "parameters": [{"name": "include_archived", "in": "query", "schema": B}],
            "responses": {**ok(list_of(ref("TillItem"))), **error_responses(400, 401, 403, 503)},
        },
        "post": {
            "summary": "Add an item to the till's price list (created once per Idempotency-Key)",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": S,
                    "description": "The same key with the same body answers the same item; with another "
                    "body, 409 idempotency_key_reused.",
                }
            ],
            "requestBody": body_schema(obj(ITEM_FIELDS, ["label", "price_cents"])),
            "responses": {**ok(ref("TillItem"), status=201), **error_responses(400, 401, 403, 404, 409, 503)},
        },
    },
    "/api/v1/admin/till/items/{id}": {
        "patch": {
            "summary": "Change the fields given of an item (an archived one: 409 item_archived); past "
            "sales keep what they sold",
            "parameters": [ID],
            "requestBody": body_schema(obj(ITEM_FIELDS)),
            "responses": {**ok(ref("TillItem")), **error_responses(400, 401, 403, 404, 409, 503)},
        },
        "delete": {
            "summary": "Archive an item: off the price list; the sales that sold it keep their lines",
            "parameters": [ID],
            "responses": {"204": {"description": "archived"}, **error_responses(401, 403, 404, 503)},
        },
    },
}
