"""JSON API of finance for parents (the active child): wallets, invoices, operations and the sales
journal. The school's side is in ``gateway.api.finance_staff``; paying an invoice (from a wallet or
online) in ``gateway.api.payments``. Checks shapes here; the finance service owns every rule (calls
in ``gateway.calls.finance``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cartable.finance.v1 import finance_pb2 as pb
from gateway.calls import finance
from gateway.openapi import I, S, error_responses, list_of, obj, ok, ref
from gateway.shapes import invoice_json, operation_json, sale_line_json, wallet_json
from gateway.web import keyset_params, page_params, paginate, require_parent_child
from kit.errors import InvalidRequest

bp = Blueprint("api_finance", __name__)

PERIODS = ("today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "custom")
OPERATION_TYPES = ("top_up", "purchase", "invoice_payment", "refund", "adjustment")
PAYMENT_METHODS = ("online", "transfer", "wallet", "cash")
INVOICE_STATUSES = ("unpaid", "partially_paid", "paid", "cancelled")


# -- input ------------------------------------------------------------------------------------------


def choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value and value not in allowed:
        raise InvalidRequest(f"unknown {name}", fields={name: " | ".join(allowed)})
    return value


def period_filter(args) -> pb.PeriodFilter:
    """``?period=&from=&to=`` (the finance service resolves them in Brussels days)."""
    period = choice(args.get("period", ""), "period", PERIODS)
    first, last = args.get("from", ""), args.get("to", "")
    if first or last:
        period = period or "custom"
    return pb.PeriodFilter(period=period, from_date=first[:10], to_date=last[:10])


def list_page(items: list) -> Any:
    """``items`` paged by ``?limit=&cursor=``."""
    limit, offset = page_params()
    return jsonify(paginate(items, limit, offset))


# -- parents ----------------------------------------------------------------------------------------


@bp.get("/api/v1/wallets")
def wallets():
    _sess, child = require_parent_child()
    return list_page([wallet_json(w) for w in finance.list_wallets(child)])


@bp.get("/api/v1/invoices")
def invoices():
    _sess, child = require_parent_child()
    status = choice(request.args.get("status", ""), "status", INVOICE_STATUSES)
    return list_page([invoice_json(i) for i in finance.list_invoices(child, status)])


@bp.get("/api/v1/invoices/<invoice_id>")
def invoice(invoice_id: str):
    _sess, child = require_parent_child()
    return jsonify(invoice_json(finance.child_invoice(invoice_id, child), with_lines=True))


@bp.get("/api/v1/operations")
def operations():
    _sess, child = require_parent_child()
    args = request.args
    limit, cursor = keyset_params()
    resp = finance.list_operations(
        child,
        period_filter(args),
        type=choice(args.get("type", ""), "type", OPERATION_TYPES),
        payment_method=choice(args.get("payment_method", ""), "payment_method", PAYMENT_METHODS),
        wallet_id=args.get("wallet_id", "")[:36],
        limit=limit,
        cursor=cursor,
    )
    return jsonify(items=[operation_json(o) for o in resp.operations], next_cursor=resp.next_cursor or None)


@bp.get("/api/v1/sales")
def sales():
    _sess, child = require_parent_child()
    limit, cursor = keyset_params()
    resp = finance.list_sales(
        child, period_filter(request.args), request.args.get("wallet_id", "")[:36], limit=limit, cursor=cursor
    )
    return jsonify(items=[sale_line_json(ln) for ln in resp.lines], next_cursor=resp.next_cursor or None)


# -- OpenAPI ----------------------------------------------------------------------------------------

PERIOD_PARAMS = [
    {
        "name": "period",
        "in": "query",
        "schema": {"enum": list(PERIODS)},
        "description": "Europe/Brussels days; default last_30_days; custom needs from and to",
    },
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "wallet_id", "in": "query", "schema": S},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "cursor", "in": "query", "schema": S},
]
INVOICE_WITH_LINES = {
    "allOf": [
        ref("Invoice"),
        obj(
            {
                "student_id": S,
                "credit_cents": I,
                "lines": {
                    "type": "array",
                    "items": obj(
                        {
                            "label": S,
                            "quantity": I,
                            "unit_price_cents": I,
                            "amount_cents": I,
                            "childcare": {"type": "boolean", "description": "out-of-school care (281.86)"},
                            "days": {"type": "integer", "description": "days of care the line pays for"},
                            "optional": {"type": "boolean", "description": "false: a mandatory fee"},
                            "max_bill": {"enum": ["", "strict", "less_strict"]},
                        }
                    ),
                },
            }
        ),
    ]
}
OPERATION = obj(
    {
        "id": S,
        "at": {"type": "string", "format": "date-time"},
        "type": {"enum": list(OPERATION_TYPES)},
        "label": S,
        "amount_cents": I,
        "payment_method": {"enum": [*PAYMENT_METHODS, None]},
        "wallet_id": S,
        "wallet_name": S,
    },
    ["id", "at", "type", "label", "amount_cents", "payment_method", "wallet_id"],
)
SALE_LINE = obj(
    {
        "id": S,
        "at": {"type": "string", "format": "date-time"},
        "label": S,
        "quantity": I,
        "unit_price_cents": I,
        "amount_cents": I,
        "wallet_id": S,
        "wallet_name": S,
        "sale_id": S,
        "student_id": S,
        "childcare": {"type": "boolean", "description": "out-of-school care (tax certificates)"},
        "days": {"type": "integer", "description": "days of care the line pays for (childcare)"},
    },
    ["id", "at", "label", "quantity", "unit_price_cents", "amount_cents", "wallet_id"],
)
SCHEMAS = {"Operation": OPERATION, "SaleLine": SALE_LINE}

OPENAPI: dict = {
    "/api/v1/wallets": {
        "get": {
            "summary": "The active child's wallets with their balances and structured communications",
            "parameters": PERIOD_PARAMS[4:],
            "responses": {**ok(list_of(ref("Wallet"))), **error_responses(401, 403, 409, 503)},
        }
    },
    "/api/v1/invoices": {
        "get": {
            "summary": "The active child's invoices, newest first",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": list(INVOICE_STATUSES)}},
                *PERIOD_PARAMS[4:],
            ],
            "responses": {**ok(list_of(ref("Invoice"))), **error_responses(400, 401, 403, 409, 503)},
        }
    },
    "/api/v1/invoices/{id}": {
        "get": {
            "summary": "One of the active child's invoices, with its lines",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
            "responses": {**ok(INVOICE_WITH_LINES), **error_responses(401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/operations": {
        "get": {
            "summary": "Every movement of the active child's wallets in the period (signed: + in, − out)",
            "parameters": [
                *PERIOD_PARAMS,
                {"name": "type", "in": "query", "schema": {"enum": list(OPERATION_TYPES)}},
                {"name": "payment_method", "in": "query", "schema": {"enum": list(PAYMENT_METHODS)}},
            ],
            "responses": {**ok(list_of(ref("Operation"))), **error_responses(400, 401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/sales": {
        "get": {
            "summary": "The sales journal: the active child's purchases at school, line by line",
            "parameters": PERIOD_PARAMS,
            "responses": {**ok(list_of(ref("SaleLine"))), **error_responses(400, 401, 403, 409, 503)},
        }
    },
}
