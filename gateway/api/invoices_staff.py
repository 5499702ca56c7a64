"""JSON API of the school's invoices for the back office (API.md, "School back office"): the school's
invoice list, bulk invoicing a class or named students, the finance summary. Shapes are checked here;
finance owns every rule (students' classes and status: finance's own copy, kept from auth's events)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cartable.finance.v1 import finance_pb2 as pb
from gateway.api.finance import INVOICE_STATUSES, choice
from gateway.api.finance_staff import IDEMPOTENCY, LINE, bool_field, lines_field
from gateway.api.max_bill import OVERRIDE, exceeded_response
from gateway.calls import finance, notifications
from gateway.openapi import B, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import invoice_json
from gateway.web import field_str, idempotency_key, json_body, require_staff
from kit.errors import AppError, InvalidRequest, Unavailable

bp = Blueprint("api_invoices_staff", __name__)


def names_field(data: dict, name: str, max_len: int) -> list[str]:
    raw = data.get(name, [])
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise InvalidRequest(f"{name} must be a list of names", fields={name: "a list of non-empty strings"})
    if any(len(v) > max_len for v in raw):
        raise InvalidRequest(
            f"{name} holds a too long value", fields={name: f"at most {max_len} characters each"}
        )
    if len(raw) > 5000:
        raise InvalidRequest(f"too many {name}", fields={name: "at most 5000"})
    return [v.strip() for v in raw]


def bulk_request(data: dict) -> dict[str, Any]:
    """The bulk body checked, as ``finance.bulk_create_invoices``'s keyword arguments (without key)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, read in (
        ("title", lambda: field_str(data, "title", max_len=200)),
        ("due_on", lambda: field_str(data, "due_on", required=False, max_len=10)),
        ("lines", lambda: lines_field(data, pb.InvoiceLineInput)),
        ("class_names", lambda: names_field(data, "class_names", 50)),
        ("student_ids", lambda: names_field(data, "student_ids", 36)),
    ):
        try:
            out[name] = read()
        except InvalidRequest as e:
            errors.update(e.fields or {name: e.message})
    if not errors and not out["class_names"] and not out["student_ids"]:
        errors["class_names"] = errors["student_ids"] = "at least one class or student"
    try:
        out["override_max_bill"] = bool_field(data, "override_max_bill")
    except InvalidRequest as e:
        errors.update(e.fields)
    if errors:
        raise InvalidRequest("the bulk invoice is not valid", fields=errors)
    return out


def bulk_json(resp: pb.BulkCreateInvoicesResponse) -> dict[str, Any]:
    return {"count": resp.count, "total_cents": resp.total_cents, "invoice_ids": list(resp.invoice_ids)}


def school_invoice_json(item: pb.SchoolInvoice, reminders: dict[str, int]) -> dict[str, Any]:
    return {
        **invoice_json(item.invoice),
        "student_id": item.invoice.student_id,
        "student_name": item.student_name,
        "class_name": item.class_name,
        "reminders_sent": reminders.get(item.invoice.id, item.reminders_sent),
    }


def summary_json(resp: pb.GetFinanceSummaryResponse) -> dict[str, Any]:
    return {
        "wallets_total_cents": resp.wallets_total_cents,
        "unpaid_count": resp.unpaid_count,
        "unpaid_total_cents": resp.unpaid_total_cents,
        "overdue_count": resp.overdue_count,
        "overdue_total_cents": resp.overdue_total_cents,
        "classes": [
            {
                "class_name": c.class_name,
                "students": c.students,
                "wallets_total_cents": c.wallets_total_cents,
                "unpaid_count": c.unpaid_count,
                "unpaid_total_cents": c.unpaid_total_cents,
            }
            for c in resp.classes
        ],
    }


def list_args(args) -> dict[str, Any]:
    """``?status=&class_name=&student_id=&overdue=true&q=&limit=&cursor=`` checked."""
    raw_limit = args.get("limit", "50")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise InvalidRequest("limit must be an integer", fields={"limit": "1 to 200"}) from None
    if not 1 <= limit <= 200:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    overdue = args.get("overdue", "").lower()
    if overdue not in ("", "true", "false", "1", "0"):
        raise InvalidRequest("overdue is true or false", fields={"overdue": "true | false"})
    return {
        "status": choice(args.get("status", ""), "status", INVOICE_STATUSES),
        "student_id": args.get("student_id", "")[:36],
        "overdue": overdue in ("true", "1"),
        "q": args.get("q", "")[:200],
        "class_name": args.get("class_name", "")[:50],
        "limit": limit,
        "cursor": args.get("cursor", "")[:200],
    }


@bp.get("/api/v1/admin/invoices")
def school_invoices():
    require_staff()
    resp = finance.list_school_invoices(**list_args(request.args))
    try:  # notifications sends the reminders: one count per page
        reminders = notifications.reminders_sent([i.invoice.id for i in resp.items])
    except Unavailable:
        reminders = {}  # the list still answers; the counts read 0 until notifications is back
    return jsonify(
        items=[school_invoice_json(i, reminders) for i in resp.items], next_cursor=resp.next_cursor or None
    )


@bp.post("/api/v1/admin/invoices/bulk")
def bulk_invoices():
    require_staff()
    try:
        resp = finance.bulk_create_invoices(**bulk_request(json_body()), key=idempotency_key())
    except AppError as err:  # 409 max_bill_exceeded names the student and the cap in ``details``
        answer = exceeded_response(err)
        if answer is None:
            raise
        return answer
    return jsonify(bulk_json(resp)), 201


@bp.get("/api/v1/admin/finance/summary")
def finance_summary():
    require_staff()
    return jsonify(summary_json(finance.finance_summary()))


# -- OpenAPI ----------------------------------------------------------------------------------------

STR_LIST = {"type": "array", "items": S}
SCHOOL_INVOICE: dict[str, Any] = {
    "allOf": [
        ref("Invoice"),
        obj(
            {"student_id": S, "student_name": S, "class_name": S, "reminders_sent": I},
            ["student_id", "student_name", "class_name", "reminders_sent"],
        ),
    ]
}
OPENAPI: dict[str, Any] = {
    "/api/v1/admin/invoices/bulk": {
        "post": {
            "summary": "One invoice per active student named or in the classes, issued once per Idempotency-Key",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        "title": S,
                        "due_on": {"type": "string", "format": "date"},
                        "lines": {"type": "array", "items": LINE},
                        "class_names": STR_LIST,
                        "student_ids": STR_LIST,
                        "override_max_bill": OVERRIDE,
                    },
                    ["title", "lines"],
                )
            ),
            "responses": {
                **ok(obj({"count": I, "total_cents": I, "invoice_ids": STR_LIST}), status=201),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/finance/summary": {
        "get": {
            "summary": "Wallets held, unpaid and overdue invoices, for the school and per class",
            "responses": {
                **ok(
                    obj(
                        {
                            "wallets_total_cents": I,
                            "unpaid_count": I,
                            "unpaid_total_cents": I,
                            "overdue_count": I,
                            "overdue_total_cents": I,
                            "classes": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "class_name": S,
                                        "students": I,
                                        "wallets_total_cents": I,
                                        "unpaid_count": I,
                                        "unpaid_total_cents": I,
                                    }
                                ),
                            },
                        }
                    )
                ),
                **error_responses(401, 403, 503),
            },
        }
    },
}
# GET /api/v1/admin/invoices: its POST is documented in finance_staff.py (build_spec merges methods).
OPENAPI["/api/v1/admin/invoices"] = {
    "get": {
        "summary": "The school's invoices, newest first, filtered; keyset pages",
        "parameters": [
            {"name": "status", "in": "query", "schema": {"enum": list(INVOICE_STATUSES)}},
            {"name": "class_name", "in": "query", "schema": S},
            {"name": "student_id", "in": "query", "schema": S},
            {"name": "overdue", "in": "query", "schema": B},
            {"name": "q", "in": "query", "schema": S},
            {"name": "limit", "in": "query", "schema": I},
            {"name": "cursor", "in": "query", "schema": S},
        ],
        "responses": {
            **ok(list_of(SCHOOL_INVOICE)),
            **error_responses(400, 401, 403, 404, 503),
        },
    }
}
