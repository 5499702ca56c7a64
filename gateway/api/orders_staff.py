"""JSON API of the school's back office for textbook orders (issue #17): the periods with their order
counts, a period changed, an item withdrawn, a period's orders (who, class, lines, paid or not), the
totals per item and the distribution list as CSV. Creating periods and items is in ``api/orders``."""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.calls import orders
from gateway.openapi import error_responses, json_body, list_of, obj, ok
from gateway.web import json_body as read_json
from gateway.web import keyset_params, require_staff
from kit.errors import InvalidRequest
from kit.money import cents_to_decimal_str

bp = Blueprint("api_orders_staff", __name__)

EDITABLE = ("title", "notes", "opens_at", "closes_at", "class_names")
MAX_LEN = {"title": 200, "notes": 5000, "opens_at": 64, "closes_at": 64}
CSV_HEADER = [
    "class_name",
    "student_name",
    "student_id",
    "subject",
    "title",
    "type",
    "price",
    "invoice_status",
]


def period_row_json(p) -> dict[str, Any]:
    return {
        "id": p.id,
        "title": p.title,
        "opens_at": p.opens_at,
        "closes_at": p.closes_at,
        "class_names": list(p.class_names),
        "orders_count": p.orders_count,
    }


def period_changes(data: dict) -> dict[str, Any]:
    """The PATCH body: any of POST's fields (null notes: ""); an unknown field, a wrong type or an
    empty body is a 400 naming the field."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InvalidRequest(
            "unknown fields", fields={n: "not a field of an ordering period" for n in unknown}
        )
    if not data:
        raise InvalidRequest("nothing to change", fields={"body": "any of " + ", ".join(EDITABLE)})
    out: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in data:
            continue
        value = data[name]
        if name == "class_names":
            value = [] if value is None else value
            if not isinstance(value, list) or not all(isinstance(c, str) and len(c) <= 50 for c in value):
                raise InvalidRequest(
                    "class_names must be a list of class names", fields={name: "list of strings"}
                )
            if len(value) > 200:
                raise InvalidRequest("too many classes", fields={name: "at most 200"})
        else:
            value = "" if value is None and name == "notes" else value
            if not isinstance(value, str):
                raise InvalidRequest(f"{name} must be a string", fields={name: "expected a string"})
            if len(value) > MAX_LEN[name]:
                raise InvalidRequest(
                    f"{name} is too long", fields={name: f"at most {MAX_LEN[name]} characters"}
                )
        out[name] = value
    return out


def _sort_text(text: str) -> str:
    """Accents and case ignored, as a class list is read."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _cell(value: str) -> str:
    """A cell a spreadsheet never runs as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def distribution_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    """One row per ordered item, by class, student (last name, first name as auth spells the name),
    subject, then title; prices in euros with a point, from the cents."""
    rows = []
    for o in items:
        for li in o["lines"]:
            rows.append(
                (
                    (_sort_text(o["class_name"]), _sort_text(o["student_name"]), o["student_id"]),
                    (_sort_text(li["subject"]), _sort_text(li["title"])),
                    [
                        o["class_name"],
                        o["student_name"],
                        o["student_id"],
                        li["subject"],
                        li["title"],
                        li["type"],
                        cents_to_decimal_str(li["price_cents"]),
                        o["invoice_status"],
                    ],
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def distribution_csv(items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([[_cell(c) for c in row] for row in distribution_rows(items)])
    return out.getvalue()


def _api_order(o: dict[str, Any]) -> dict[str, Any]:
    """An order as API.md lists it (its lines without the subject, which the CSV and pages use)."""
    return {
        **o,
        "lines": [{k: li[k] for k in ("item_id", "title", "type", "price_cents")} for li in o["lines"]],
    }


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/order-periods")
def admin_periods_list():
    require_staff()
    return jsonify(items=[period_row_json(p) for p in orders.list_periods()])


@bp.patch("/api/v1/admin/order-periods/<period_id>")
def admin_period_update(period_id: str):
    require_staff()
    p = orders.update_period(period_id, period_changes(read_json()))
    return jsonify(
        id=p.id,
        title=p.title,
        notes=p.notes,
        opens_at=p.opens_at,
        closes_at=p.closes_at,
        class_names=list(p.class_names),
    )


@bp.delete("/api/v1/admin/order-periods/<period_id>/items/<item_id>")
def admin_item_withdraw(period_id: str, item_id: str):
    require_staff()
    orders.withdraw_item(period_id, item_id)
    return "", 204


@bp.get("/api/v1/admin/order-periods/<period_id>/orders")
def admin_period_orders(period_id: str):
    require_staff()
    limit, cursor = keyset_params()
    items, next_cursor = orders.period_orders(period_id, limit, cursor)
    return jsonify(items=[_api_order(o) for o in items], next_cursor=next_cursor or None)


@bp.get("/api/v1/admin/order-periods/<period_id>/totals")
def admin_period_totals(period_id: str):
    require_staff()
    return jsonify(
        items=[
            {
                "item_id": t.item_id,
                "subject": t.subject,
                "title": t.title,
                "type": t.type,
                "price_cents": t.price_cents,
                "ordered": t.ordered,
            }
            for t in orders.period_totals(period_id)
        ]
    )


@bp.get("/api/v1/admin/order-periods/<period_id>/orders.csv")
def admin_period_orders_csv(period_id: str):
    require_staff()
    text = distribution_csv(orders.all_period_orders(period_id))
    return Response(
        ("\ufeff" + text).encode("utf-8"),  # the BOM: spreadsheets then read the accents right
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="commandes-{period_id[:8]}.csv"'},
    )


# -- OpenAPI ------------------------------------------------------------------------------------------

S, I = {"type": "string"}, {"type": "integer"}  # noqa: E741
PATH_ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
CLASSES = {"type": "array", "items": S}
PERIOD_ROW = obj(
    {
        "id": S,
        "title": S,
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
        "class_names": CLASSES,
        "orders_count": I,
    },
    ["id", "title", "opens_at", "closes_at", "class_names", "orders_count"],
)
LINE = obj(
    {"item_id": S, "title": S, "type": {"enum": ["purchase", "loan"]}, "price_cents": I},
    ["item_id", "title", "type", "price_cents"],
)
ORDER = obj(
    {
        "id": S,
        "student_id": S,
        "student_name": S,
        "class_name": S,
        "placed_at": {"type": "string", "format": "date-time"},
        "grand_total_cents": I,
        "invoice_id": {"type": ["string", "null"]},
        "invoice_status": {"enum": ["unpaid", "partially_paid", "paid", "cancelled", "unknown"]},
        "lines": {"type": "array", "items": LINE},
    },
    [
        "id",
        "student_id",
        "student_name",
        "class_name",
        "placed_at",
        "grand_total_cents",
        "invoice_id",
        "invoice_status",
        "lines",
    ],
)
TOTAL = obj(
    {
        "item_id": S,
        "subject": S,
        "title": S,
        "type": {"enum": ["purchase", "loan"]},
        "price_cents": I,
        "ordered": I,
    },
    ["item_id", "subject", "title", "type", "price_cents", "ordered"],
)
ITEMS_ONLY = lambda schema: obj({"items": {"type": "array", "items": schema}}, ["items"])  # noqa: E731

OPENAPI = {
    "/api/v1/admin/order-periods": {
        "get": {
            "summary": "The school's ordering periods, the latest to open first, with their placed orders",
            "responses": {**ok(ITEMS_ONLY(PERIOD_ROW)), **error_responses(401, 403, 503)},
        }
    },
    "/api/v1/admin/order-periods/{id}": {
        "patch": {
            "summary": "Change a period (any of POST's fields; checked as a new period)",
            "parameters": PATH_ID,
            "requestBody": json_body(
                obj(
                    {
                        "title": S,
                        "notes": {"type": ["string", "null"]},
                        "opens_at": {"type": "string", "format": "date-time"},
                        "closes_at": {"type": "string", "format": "date-time"},
                        "class_names": CLASSES,
                    }
                )
            ),
            "responses": {
                **ok(
                    obj(
                        {
                            "id": S,
                            "title": S,
                            "notes": S,
                            "opens_at": S,
                            "closes_at": S,
                            "class_names": CLASSES,
                        }
                    )
                ),
                **error_responses(400, 401, 403, 404, 503),
            },
        }
    },
    "/api/v1/admin/order-periods/{id}/items/{item_id}": {
        "delete": {
            "summary": "Withdraw an item from the period's catalog (placed orders keep it)",
            "parameters": [*PATH_ID, {"name": "item_id", "in": "path", "required": True, "schema": S}],
            "responses": {"204": {"description": "off the catalog"}, **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/order-periods/{id}/orders": {
        "get": {
            "summary": "The period's placed orders (the first placed first): who, class, lines, paid or not",
            "description": "`invoice_status` is finance's word, `unknown` when finance does not answer. "
            "Pages: `limit` 1-200 (50), `cursor` a `next_cursor` given before (null on the last page).",
            "parameters": [
                *PATH_ID,
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {**ok(list_of(ORDER)), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/order-periods/{id}/totals": {
        "get": {
            "summary": "How many of each item to hand out (every item of the catalog, by subject then title)",
            "parameters": PATH_ID,
            "responses": {**ok(ITEMS_ONLY(TOTAL)), **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/order-periods/{id}/orders.csv": {
        "get": {
            "summary": "The distribution list: one row per ordered item, by class, student, subject",
            "description": "`text/csv; charset=utf-8` (with a BOM), `;`-separated, a header row "
            "(" + ";".join(CSV_HEADER) + "), prices in euros with a point (`12.50`) from the cents.",
            "parameters": PATH_ID,
            "responses": {
                "200": {"description": "the CSV", "content": {"text/csv": {"schema": S}}},
                **error_responses(401, 403, 404, 503),
            },
        }
    },
}
