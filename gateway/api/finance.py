"""JSON API: wallets, invoices, operations and the sales journal (parents, for the active child);
payment settings, wallet types, invoices, credit notes, sales and cash top-ups (staff). Paying an
invoice (from a wallet or online) is in ``gateway.api.payments``.
Checks shapes here; the finance service owns every rule (calls in ``gateway.calls.finance``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cartable.finance.v1 import finance_pb2 as pb
from gateway.api.shapes import (
    credit_note_json,
    invoice_json,
    operation_json,
    sale_line_json,
    settings_json,
    wallet_json,
    wallet_type_json,
)
from gateway.calls import finance
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.web import (
    field_int,
    field_str,
    idempotency_key,
    json_body,
    page_params,
    paginate,
    require_parent_child,
    require_staff,
)
from kit.errors import InvalidRequest

bp = Blueprint("api_finance", __name__)

PERIODS = ("today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "custom")
OPERATION_TYPES = ("top_up", "purchase", "invoice_payment", "refund", "adjustment")
PAYMENT_METHODS = ("online", "transfer", "wallet", "cash")
INVOICE_STATUSES = ("unpaid", "partially_paid", "paid", "cancelled")


# -- shapes -----------------------------------------------------------------------------------------


# -- input ------------------------------------------------------------------------------------------


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value and value not in allowed:
        raise InvalidRequest(f"unknown {name}", fields={name: " | ".join(allowed)})
    return value


def period_filter(args) -> pb.PeriodFilter:
    """``?period=&from=&to=`` (the finance service resolves them in Brussels days)."""
    period = _choice(args.get("period", ""), "period", PERIODS)
    first, last = args.get("from", ""), args.get("to", "")
    if first or last:
        period = period or "custom"
    return pb.PeriodFilter(period=period, from_date=first[:10], to_date=last[:10])


def _bool(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false", fields={name: "expected a boolean"})
    return value


def _lines(data: dict, message_type) -> list:
    raw = data.get("lines")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(
            "lines are required", fields={"lines": "a list of {label, quantity, unit_price_cents}"}
        )
    out = []
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise InvalidRequest("each line is an object", fields={f"lines[{i}]": "expected an object"})
        try:
            out.append(
                message_type(
                    label=field_str(line, "label", max_len=300),
                    quantity=field_int(line, "quantity", minimum=1, maximum=10_000)
                    if "quantity" in line
                    else 1,
                    unit_price_cents=field_int(line, "unit_price_cents", minimum=0, maximum=10_000_000),
                )
            )
        except InvalidRequest as e:
            raise InvalidRequest(
                e.message, fields={f"lines[{i}].{k}": v for k, v in e.fields.items()}
            ) from None
    return out


def _list(items: list) -> Any:
    limit, offset = page_params()
    return jsonify(paginate(items, limit, offset))


# -- parents ----------------------------------------------------------------------------------------


@bp.get("/api/v1/wallets")
def wallets():
    _sess, child = require_parent_child()
    return _list([wallet_json(w) for w in finance.list_wallets(child)])


@bp.get("/api/v1/invoices")
def invoices():
    _sess, child = require_parent_child()
    status = _choice(request.args.get("status", ""), "status", INVOICE_STATUSES)
    return _list([invoice_json(i) for i in finance.list_invoices(child, status)])


@bp.get("/api/v1/invoices/<invoice_id>")
def invoice(invoice_id: str):
    _sess, child = require_parent_child()
    return jsonify(invoice_json(finance.child_invoice(invoice_id, child), with_lines=True))


@bp.get("/api/v1/operations")
def operations():
    _sess, child = require_parent_child()
    args = request.args
    resp = finance.list_operations(
        child,
        period_filter(args),
        type=_choice(args.get("type", ""), "type", OPERATION_TYPES),
        payment_method=_choice(args.get("payment_method", ""), "payment_method", PAYMENT_METHODS),
        wallet_id=args.get("wallet_id", "")[:36],
    )
    return _list([operation_json(o) for o in resp.operations])


@bp.get("/api/v1/sales")
def sales():
    _sess, child = require_parent_child()
    resp = finance.list_sales(child, period_filter(request.args), request.args.get("wallet_id", "")[:36])
    return _list([sale_line_json(ln) for ln in resp.lines])


# -- staff ------------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/settings")
def get_settings():
    require_staff()
    return jsonify(settings_json(finance.get_settings()))


@bp.put("/api/v1/admin/settings")
def put_settings():
    require_staff()
    data = json_body()
    methods = data.get("top_up_methods", [])
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise InvalidRequest(
            "top_up_methods must be a list", fields={"top_up_methods": '["online", "transfer"]'}
        )
    new = pb.Settings(
        iban=field_str(data, "iban", max_len=50),
        bic=field_str(data, "bic", required=False, max_len=20),
        beneficiary=field_str(data, "beneficiary", max_len=70),
        top_up_methods=methods,
        internal_wallet_payments=_bool(data, "internal_wallet_payments"),
        online_payment_for_orders=_bool(data, "online_payment_for_orders"),
        school_name=field_str(data, "school_name", required=False, max_len=200),
    )
    return jsonify(settings_json(finance.update_settings(new)))


@bp.get("/api/v1/admin/wallet-types")
def list_wallet_types():
    require_staff()
    return _list([wallet_type_json(t) for t in finance.list_wallet_types()])


@bp.post("/api/v1/admin/wallet-types")
def create_wallet_type():
    require_staff()
    data = json_body()
    return jsonify(wallet_type_json(finance.create_wallet_type(field_str(data, "name", max_len=100)))), 201


@bp.get("/api/v1/admin/students/<student_id>/wallets")
def student_wallets(student_id: str):
    require_staff()
    return _list([wallet_json(w) for w in finance.list_wallets(student_id)])


@bp.get("/api/v1/admin/students/<student_id>/invoices")
def student_invoices(student_id: str):
    require_staff()
    status = _choice(request.args.get("status", ""), "status", INVOICE_STATUSES)
    return _list([invoice_json(i) for i in finance.list_invoices(student_id, status)])


@bp.post("/api/v1/admin/invoices")
def create_invoice():
    require_staff()
    data = json_body()
    credit = field_int(data, "credit_cents", minimum=0, maximum=10**11) if "credit_cents" in data else 0
    made = finance.create_invoice(
        student_id=field_str(data, "student_id", max_len=36),
        title=field_str(data, "title", max_len=200),
        due_on=field_str(data, "due_on", required=False, max_len=10),
        lines=_lines(data, pb.InvoiceLineInput),
        credit_cents=credit,
        key=idempotency_key(),
    )
    return jsonify(invoice_json(made, with_lines=True)), 201


@bp.post("/api/v1/admin/invoices/<invoice_id>/credit-note")
def credit_note(invoice_id: str):
    require_staff()
    data = json_body()
    resp = finance.issue_credit_note(invoice_id, field_str(data, "reason", max_len=500), idempotency_key())
    return jsonify(credit_note_json(resp.credit_note, resp.invoice)), 201


@bp.post("/api/v1/admin/sales")
def record_sale():
    require_staff()
    data = json_body()
    resp = finance.record_sale(
        student_id=field_str(data, "student_id", max_len=36),
        wallet_id=field_str(data, "wallet_id", max_len=36),
        lines=_lines(data, pb.SaleLineInput),
        key=idempotency_key(),
    )
    return jsonify(id=resp.id, balance_cents=resp.balance_cents, amount_cents=resp.amount_cents), 201


@bp.get("/api/v1/admin/sales")
def school_sales():
    require_staff()
    resp = finance.list_sales(
        request.args.get("student_id", "")[:36],
        period_filter(request.args),
        request.args.get("wallet_id", "")[:36],
    )
    return _list([sale_line_json(ln) for ln in resp.lines])


@bp.post("/api/v1/admin/wallets/<wallet_id>/top-ups")
def cash_top_up(wallet_id: str):
    require_staff()
    data = json_body()
    method = field_str(data, "method", required=False, max_len=20) or "cash"
    if method != "cash":
        raise InvalidRequest("staff record cash top-ups", fields={"method": "cash"})
    resp = finance.record_cash_top_up(
        wallet_id,
        amount_cents=field_int(data, "amount_cents", minimum=1, maximum=10_000_000),
        label=field_str(data, "label", required=False, max_len=300),
        key=idempotency_key(),
    )
    return jsonify(payment_id=resp.payment_id, balance_cents=resp.balance_cents), 201


# -- OpenAPI ----------------------------------------------------------------------------------------

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": S,
    "description": "The same key with the same body answers the first answer again; with another body, "
    "409 idempotency_key_reused.",
}
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
LINE = obj(
    {"label": S, "quantity": {"type": "integer", "minimum": 1}, "unit_price_cents": I},
    ["label", "unit_price_cents"],
)
INVOICE_WITH_LINES = {
    "allOf": [
        ref("Invoice"),
        obj(
            {
                "student_id": S,
                "credit_cents": I,
                "lines": {
                    "type": "array",
                    "items": obj({"label": S, "quantity": I, "unit_price_cents": I, "amount_cents": I}),
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
    },
    ["id", "at", "label", "quantity", "unit_price_cents", "amount_cents", "wallet_id"],
)
SETTINGS = obj(
    {
        "iban": S,
        "bic": S,
        "beneficiary": S,
        "top_up_methods": {"type": "array", "items": {"enum": ["online", "transfer"]}},
        "internal_wallet_payments": B,
        "online_payment_for_orders": B,
        "school_name": S,
    },
    ["iban", "beneficiary"],
)

SCHEMAS = {"Operation": OPERATION, "SaleLine": SALE_LINE, "PaymentSettings": SETTINGS}

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
    "/api/v1/admin/settings": {
        "get": {
            "summary": "The school's payment settings",
            "responses": {**ok(ref("PaymentSettings")), **error_responses(401, 403, 503)},
        },
        "put": {
            "summary": "Replace the school's payment settings (the IBAN is checked)",
            "requestBody": body_schema(SETTINGS),
            "responses": {**ok(ref("PaymentSettings")), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/wallet-types": {
        "get": {
            "summary": "The school's wallet types",
            "responses": {**ok(list_of(obj({"id": S, "name": S}))), **error_responses(401, 403, 503)},
        },
        "post": {
            "summary": "A wallet type; every student gets one wallet of it (an existing name answers that type)",
            "requestBody": body_schema(obj({"name": S}, ["name"])),
            "responses": {
                **ok(obj({"id": S, "name": S}, ["id", "name"]), status=201),
                **error_responses(400, 401, 403, 503),
            },
        },
    },
    "/api/v1/admin/students/{id}/wallets": {
        "get": {
            "summary": "A student's wallets",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
            "responses": {**ok(list_of(ref("Wallet"))), **error_responses(401, 403, 503)},
        }
    },
    "/api/v1/admin/students/{id}/invoices": {
        "get": {
            "summary": "A student's invoices",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": S},
                {"name": "status", "in": "query", "schema": {"enum": list(INVOICE_STATUSES)}},
            ],
            "responses": {**ok(list_of(ref("Invoice"))), **error_responses(400, 401, 403, 503)},
        }
    },
    "/api/v1/admin/invoices": {
        "post": {
            "summary": "Invoice a student: lines, due date (default in 30 days), its own structured communication",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        "student_id": S,
                        "title": S,
                        "due_on": {"type": "string", "format": "date"},
                        "lines": {"type": "array", "items": LINE},
                        "credit_cents": I,
                    },
                    ["student_id", "title", "lines"],
                )
            ),
            "responses": {
                **ok(INVOICE_WITH_LINES, status=201),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/invoices/{id}/credit-note": {
        "post": {
            "summary": "A credit note: the invoice becomes cancelled and what was still due is reversed",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}, IDEMPOTENCY],
            "requestBody": body_schema(obj({"reason": S}, ["reason"])),
            "responses": {
                **ok(
                    obj(
                        {
                            "id": S,
                            "number": S,
                            "invoice_id": S,
                            "reason": S,
                            "credited_cents": I,
                            "created_at": {"type": "string", "format": "date-time"},
                            "invoice": ref("Invoice"),
                        }
                    ),
                    status=201,
                ),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/sales": {
        "post": {
            "summary": "Record a purchase at school paid from a student's wallet",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {"student_id": S, "wallet_id": S, "lines": {"type": "array", "items": LINE}},
                    ["student_id", "wallet_id", "lines"],
                )
            ),
            "responses": {
                **ok(
                    obj({"id": S, "balance_cents": I, "amount_cents": I}, ["id", "balance_cents"]), status=201
                ),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        },
        "get": {
            "summary": "The school's sales journal (optionally one student's)",
            "parameters": [*PERIOD_PARAMS, {"name": "student_id", "in": "query", "schema": S}],
            "responses": {**ok(list_of(ref("SaleLine"))), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/wallets/{id}/top-ups": {
        "post": {
            "summary": "Cash handed over at the school's office credits the wallet",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}, IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        "amount_cents": {"type": "integer", "minimum": 1},
                        "method": {"enum": ["cash"]},
                        "label": S,
                    },
                    ["amount_cents"],
                )
            ),
            "responses": {
                **ok(obj({"payment_id": S, "balance_cents": I}), status=201),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
}
