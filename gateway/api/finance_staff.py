"""JSON API of finance for the school's staff: payment settings, wallet types, a student's wallets
and invoices, invoicing and credit notes, sales at school and cash top-ups. Checks shapes here; the
finance service owns every rule (calls in ``gateway.calls.finance``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from cartable.finance.v1 import finance_pb2 as pb
from gateway.api.finance import (
    INVOICE_STATUSES,
    INVOICE_WITH_LINES,
    PERIOD_PARAMS,
    choice,
    list_page,
    period_filter,
)
from gateway.api.max_bill import OVERRIDE, exceeded_response
from gateway.api.school_address import SCHEMA as ADDRESS_SCHEMA
from gateway.api.school_address import address_field
from gateway.calls import finance
from gateway.openapi import B, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import (
    credit_note_json,
    invoice_json,
    sale_line_json,
    settings_json,
    wallet_json,
    wallet_type_json,
)
from gateway.web import field_int, field_str, idempotency_key, json_body, keyset_params, require_staff
from kit.errors import AppError, InvalidRequest

bp = Blueprint("api_finance_staff", __name__)


# -- input ------------------------------------------------------------------------------------------


def bool_field(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false", fields={name: "expected a boolean"})
    return value


def lines_field(data: dict, message_type, *, childcare: bool = False) -> list:
    """The body's ``lines`` as ``message_type``s. Each line may say ``childcare`` (a boolean) and
    ``days`` (0 to 366, days of care) when the message has them (sale and invoice lines), and
    ``optional`` (a boolean) and ``max_bill`` ("" | strict | less_strict) on invoice lines (issue #19);
    finance checks how they go together. ``childcare``: kept for older callers (the message decides)."""
    raw = data.get("lines")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(
            "lines are required", fields={"lines": "a list of {label, quantity, unit_price_cents}"}
        )
    has = set(message_type.DESCRIPTOR.fields_by_name)
    out = []
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise InvalidRequest("each line is an object", fields={f"lines[{i}]": "expected an object"})
        try:
            extra: dict = {}
            if "childcare" in has:
                extra["childcare"] = bool_field(line, "childcare")
            if "days" in has and "days" in line:
                extra["days"] = field_int(line, "days", minimum=0, maximum=366)
            if "optional" in has:
                extra["optional"] = bool_field(line, "optional")
            if "max_bill" in has and line.get("max_bill") is not None:
                extra["max_bill"] = field_str(line, "max_bill", required=False, max_len=20)
            out.append(
                message_type(
                    label=field_str(line, "label", max_len=300),
                    quantity=field_int(line, "quantity", minimum=1, maximum=10_000)
                    if "quantity" in line
                    else 1,
                    unit_price_cents=field_int(line, "unit_price_cents", minimum=0, maximum=10_000_000),
                    **extra,
                )
            )
        except InvalidRequest as e:
            raise InvalidRequest(
                e.message, fields={f"lines[{i}].{k}": v for k, v in e.fields.items()}
            ) from None
    return out


# -- routes -----------------------------------------------------------------------------------------


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
        internal_wallet_payments=bool_field(data, "internal_wallet_payments"),
        online_payment_for_orders=bool_field(data, "online_payment_for_orders"),
        school_name=field_str(data, "school_name", required=False, max_len=200),
    )
    # The additions of the back office: set only when the caller sends them (finance keeps what is
    # stored otherwise), so a client that knows only the first fields changes nothing else.
    if "reminders" in data:
        new.reminders.CopyFrom(reminders_field(data))
    for name in ("creditor_id", "enterprise_number"):
        if name in data:
            setattr(new, name, field_str(data, name, required=False, max_len=40))
    if "address" in data:
        new.address.CopyFrom(address_field(data))
    password = data.get("current_password", "")
    if not isinstance(password, str):
        raise InvalidRequest("current_password must be text", fields={"current_password": "text"})
    contact = None  # whom parents of secondary schools contact to spread a payment (notifications')
    if isinstance(data.get("reminders"), dict) and "payment_plan_contact" in data["reminders"]:
        contact = field_str(data["reminders"], "payment_plan_contact", required=False, max_len=300)
    return jsonify(settings_json(finance.update_settings(new, password, contact)))


def reminders_field(data: dict) -> pb.ReminderSettings:
    value = data["reminders"]
    if not isinstance(value, dict):
        raise InvalidRequest(
            "reminders must be an object",
            fields={"reminders": "{enabled, first_after_days, repeat_every_days, max_count}"},
        )
    try:
        return pb.ReminderSettings(
            enabled=bool_field(value, "enabled"),
            first_after_days=field_int(value, "first_after_days", minimum=0, maximum=1000),
            repeat_every_days=field_int(value, "repeat_every_days", minimum=0, maximum=1000),
            max_count=field_int(value, "max_count", minimum=0, maximum=100),
        )
    except InvalidRequest as e:
        raise InvalidRequest(e.message, fields={f"reminders.{k}": v for k, v in e.fields.items()}) from None


@bp.get("/api/v1/admin/wallet-types")
def list_wallet_types():
    require_staff()
    return list_page([wallet_type_json(t) for t in finance.list_wallet_types()])


@bp.post("/api/v1/admin/wallet-types")
def create_wallet_type():
    require_staff()
    data = json_body()
    return jsonify(wallet_type_json(finance.create_wallet_type(field_str(data, "name", max_len=100)))), 201


@bp.get("/api/v1/admin/students/<student_id>/wallets")
def student_wallets(student_id: str):
    require_staff()
    return list_page([wallet_json(w) for w in finance.list_wallets(student_id)])


@bp.get("/api/v1/admin/students/<student_id>/invoices")
def student_invoices(student_id: str):
    require_staff()
    status = choice(request.args.get("status", ""), "status", INVOICE_STATUSES)
    return list_page([invoice_json(i) for i in finance.list_invoices(student_id, status)])


@bp.post("/api/v1/admin/invoices")
def create_invoice():
    require_staff()
    data = json_body()
    credit = field_int(data, "credit_cents", minimum=0, maximum=10**11) if "credit_cents" in data else 0
    try:
        made = finance.create_invoice(
            student_id=field_str(data, "student_id", max_len=36),
            title=field_str(data, "title", max_len=200),
            due_on=field_str(data, "due_on", required=False, max_len=10),
            lines=lines_field(data, pb.InvoiceLineInput),
            credit_cents=credit,
            key=idempotency_key(),
            override_max_bill=bool_field(data, "override_max_bill"),
        )
    except AppError as err:  # 409 max_bill_exceeded says the cap passed in ``details``
        answer = exceeded_response(err)
        if answer is None:
            raise
        return answer
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
        lines=lines_field(data, pb.SaleLineInput),
        key=idempotency_key(),
    )
    return jsonify(id=resp.id, balance_cents=resp.balance_cents, amount_cents=resp.amount_cents), 201


@bp.get("/api/v1/admin/sales")
def school_sales():
    require_staff()
    limit, cursor = keyset_params()
    resp = finance.list_sales(
        request.args.get("student_id", "")[:36],
        period_filter(request.args),
        request.args.get("wallet_id", "")[:36],
        limit=limit,
        cursor=cursor,
    )
    return jsonify(items=[sale_line_json(ln) for ln in resp.lines], next_cursor=resp.next_cursor or None)


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

IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": S,
    "description": "The same key with the same body answers the first answer again; with another body, "
    "409 idempotency_key_reused.",
}
CHILDCARE = {**B, "description": "out-of-school care (tax certificate 281.86); default false"}
DAYS = {
    "type": "integer",
    "minimum": 0,
    "maximum": 366,
    "description": "days of care the line pays for (only with childcare: true); default 0",
}
LINE = obj(
    {
        "label": S,
        "quantity": {"type": "integer", "minimum": 1},
        "unit_price_cents": I,
        "childcare": CHILDCARE,
        "days": DAYS,
        "optional": {
            **B,
            "description": "a fee the family may refuse (FWB periodic statements); default false: mandatory",
        },
        "max_bill": {
            "enum": ["", "strict", "less_strict"],
            "description": "the Flemish maximum bill the line counts towards (scherpe / minder scherpe "
            "maximumfactuur); default empty: none",
        },
    },
    ["label", "unit_price_cents"],
)
SALE_LINE = obj(
    {
        "label": S,
        "quantity": {"type": "integer", "minimum": 1},
        "unit_price_cents": I,
        "childcare": CHILDCARE,
        "days": DAYS,
    },
    LINE["required"],
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
        "reminders": obj(
            {"enabled": B, "first_after_days": I, "repeat_every_days": I, "max_count": I},
            ["enabled", "first_after_days", "repeat_every_days", "max_count"],
        ),
        "creditor_id": {**S, "description": "SEPA creditor identifier (AT-02); empty clears it"},
        "enterprise_number": {**S, "description": "KBO/BCE enterprise number; empty clears it"},
        "address": ADDRESS_SCHEMA,
    },
    ["iban", "beneficiary"],
)
SETTINGS_UPDATE = {
    **SETTINGS,
    "properties": {
        **SETTINGS["properties"],
        "current_password": {
            **S,
            "description": "the manager's password: required to change the IBAN "
            "(403 `reauthentication_required` without it or when wrong)",
        },
    },
}

SCHEMAS = {"PaymentSettings": SETTINGS}

OPENAPI: dict = {
    "/api/v1/admin/settings": {
        "get": {
            "summary": "The school's payment settings",
            "responses": {**ok(ref("PaymentSettings")), **error_responses(401, 403, 503)},
        },
        "put": {
            "summary": "Replace the school's payment settings (the IBAN is checked; changing it asks "
            "`current_password` again and mails every manager)",
            "requestBody": body_schema(SETTINGS_UPDATE),
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
                        "override_max_bill": OVERRIDE,
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
                    {"student_id": S, "wallet_id": S, "lines": {"type": "array", "items": SALE_LINE}},
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
