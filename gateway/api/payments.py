"""JSON API: paying (API.md). Parents: transfer details of a wallet or an invoice, online top-ups,
paying an invoice online (answering the provider's checkout URL) or from a wallet, a payment's status.
Staff: bank statement imports, unmatched transfers and their assignment. And the provider's webhook,
``POST /webhooks/mollie``: it carries only the payment id; the finance service fetches the status from
the provider, so the webhook needs no credential and proves nothing by itself.

Only shapes are checked here; the finance service owns every rule (calls in ``gateway.calls.finance``)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from gateway.api.shapes import (
    invoice_json,
    payment_json,
    started_payment_json,
    statement_json,
    transfer_json,
    unmatched_json,
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
    require_session,
    require_staff,
)
from kit.errors import AppError, InvalidRequest, Unavailable
from kit.money import MAX_CENTS

log = logging.getLogger("gateway.payments")

bp = Blueprint("api_payments", __name__)


# -- parents ----------------------------------------------------------------------------------------


@bp.get("/api/v1/wallets/<wallet_id>/transfer")
def wallet_transfer_details(wallet_id: str):
    _sess, child = require_parent_child()
    got = finance.wallet_transfer(wallet_id[:36], child)
    return jsonify({**transfer_json(got.transfer, with_amount=False), "wallet_name": got.wallet_name})


@bp.post("/api/v1/wallets/<wallet_id>/top-ups")
def top_up(wallet_id: str):
    _sess, child = require_parent_child()
    data = json_body()
    method = field_str(data, "method", required=False, max_len=20) or "online"
    if method != "online":
        raise InvalidRequest(
            "only online top-ups are started here; see GET /api/v1/wallets/{id}/transfer for a transfer",
            fields={"method": "online"},
        )
    # A positive amount that fits the wire; its range is finance's rule (its 400 names amount_cents).
    amount = field_int(data, "amount_cents", minimum=1, maximum=MAX_CENTS)
    started = finance.start_top_up(wallet_id[:36], child, amount, idempotency_key())
    return jsonify(started_payment_json(started)), 201


@bp.get("/api/v1/invoices/<invoice_id>/transfer")
def invoice_transfer_details(invoice_id: str):
    _sess, child = require_parent_child()
    got = finance.invoice_transfer(invoice_id[:36], child)
    return jsonify({**transfer_json(got.transfer, with_amount=True), "invoice_status": got.invoice_status})


@bp.post("/api/v1/invoices/<invoice_id>/payments")
def pay_invoice(invoice_id: str):
    _sess, child = require_parent_child()
    data = json_body()
    method = field_str(data, "method", max_len=20)
    if method not in ("wallet", "online"):
        raise InvalidRequest("method must be wallet or online", fields={"method": "wallet | online"})
    if method == "online":  # 201 {payment_id, checkout_url}: booked when the provider confirms
        started = finance.start_invoice_payment(invoice_id, child, idempotency_key())
        return jsonify(started_payment_json(started)), 201
    wallet_id = field_str(data, "wallet_id", required=True, max_len=36)
    resp = finance.pay_invoice_from_wallet(invoice_id, wallet_id, child, idempotency_key())
    return jsonify(
        invoice=invoice_json(resp.invoice),
        payment_id=resp.payment_id,
        wallet_balance_cents=resp.wallet_balance_cents,
    )


@bp.get("/api/v1/payments/<payment_id>")
def payment(payment_id: str):
    require_session()
    return jsonify(payment_json(finance.get_payment(payment_id)))


# -- the provider's webhook -------------------------------------------------------------------------


@bp.post("/webhooks/mollie")
def mollie_webhook():
    """Form-encoded ``id=tr_...``. 200 for anything we could handle, including ids we do not know
    (nothing leaks to whoever calls); 503 when we could not (finance or the provider unreachable), so
    the provider retries later."""
    provider_id = (request.form.get("id") or "").strip()[:100]
    try:
        got = finance.handle_payment_webhook(provider_id)
    except Unavailable:
        log.warning("webhook not handled now, the provider will retry", extra={"provider_id": provider_id})
        return Response("unavailable", status=503, mimetype="text/plain")
    except AppError as err:
        if err.http_status >= 500:
            log.error("webhook failed", extra={"provider_id": provider_id, "code": err.code})
            return Response("unavailable", status=503, mimetype="text/plain")
        log.warning("webhook refused by finance", extra={"provider_id": provider_id, "code": err.code})
        return Response("", status=200, mimetype="text/plain")
    if not got.known:
        log.warning("webhook for an unknown payment", extra={"provider_id": provider_id})
    return Response("", status=200, mimetype="text/plain")


# -- staff ------------------------------------------------------------------------------------------


def invalid_statement_response(err: InvalidRequest):
    line = err.fields.get("line", "")
    body = err.to_json()
    body["error"]["line"] = int(line) if line.isdigit() else None
    body["error"]["reason"] = err.fields.get("reason", err.message)
    return jsonify(body), 400


@bp.post("/api/v1/admin/bank-statements")
def upload_statement():
    require_staff()
    upload = request.files.get("file")
    if upload is None:
        raise InvalidRequest(
            "a statement file is required (multipart field file)", fields={"file": "required"}
        )
    content = upload.read()
    try:
        result = finance.import_statement(content, upload.filename or "", idempotency_key())
    except InvalidRequest as err:
        if err.code == "invalid_statement":
            return invalid_statement_response(err)
        raise
    return jsonify(statement_json(result)), 201


@bp.get("/api/v1/admin/bank-statements")
def statement_imports():
    require_staff()
    limit, offset = page_params()
    got = finance.list_statement_imports(limit=200)
    return jsonify(paginate([statement_json(r) for r in got], limit, offset))


@bp.get("/api/v1/admin/unmatched-transfers")
def unmatched_transfers():
    require_staff()
    status = request.args.get("status", "open")
    if status not in ("open", "assigned", "all"):
        raise InvalidRequest("unknown status", fields={"status": "open | assigned | all"})
    limit, offset = page_params()
    return jsonify(paginate([unmatched_json(t) for t in finance.list_unmatched(status)], limit, offset))


@bp.post("/api/v1/admin/unmatched-transfers/<transfer_id>/assign")
def assign_transfer(transfer_id: str):
    require_staff()
    data = json_body()
    wallet_id = field_str(data, "wallet_id", required=False, max_len=36)
    invoice_id = field_str(data, "invoice_id", required=False, max_len=36)
    if bool(wallet_id) == bool(invoice_id):
        raise InvalidRequest(
            "give wallet_id or invoice_id", fields={"wallet_id": "wallet_id or invoice_id, not both"}
        )
    done = finance.assign(transfer_id[:36], wallet_id=wallet_id, invoice_id=invoice_id, key=idempotency_key())
    out = {**unmatched_json(done.transfer), "unmatched_rest_cents": done.unmatched_rest_cents}
    if invoice_id:
        out["invoice"] = invoice_json(done.invoice)
    else:
        out["wallet_balance_cents"] = done.wallet_balance_cents
    return jsonify(out)


# -- OpenAPI ----------------------------------------------------------------------------------------

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
NS = {"type": ["string", "null"]}
ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": S,
    "description": "The same key with the same body answers the first answer again.",
}
TRANSFER = obj(
    {
        "iban": S,
        "bic": S,
        "beneficiary": S,
        "structured_communication": S,
        "epc_qr_svg": {"type": ["string", "null"], "description": "inline SVG of the EPC (SEPA) QR code"},
        "epc_payload": {
            "type": ["string", "null"],
            "description": "the text the QR code encodes (EPC069-12)",
        },
        "wallet_name": S,
    },
    ["iban", "bic", "beneficiary", "structured_communication", "epc_qr_svg"],
)
INVOICE_TRANSFER = obj(
    {
        **TRANSFER["properties"],
        "amount_cents": I,
        "open_amount_cents": I,
        "invoice_status": {"enum": ["unpaid", "partially_paid", "paid", "cancelled"]},
    },
    ["iban", "bic", "beneficiary", "structured_communication", "epc_qr_svg", "amount_cents"],
)
STARTED = obj(
    {"payment_id": S, "checkout_url": NS, "status": S, "amount_cents": I, "purpose": S},
    ["payment_id", "checkout_url"],
)
PAYMENT = obj(
    {
        "id": S,
        "status": {"enum": ["open", "paid", "failed", "canceled", "expired"]},
        "amount_cents": I,
        "purpose": {"enum": ["top_up", "invoice", "order"]},
        "method": {"enum": ["online", "transfer", "wallet", "cash"]},
        "wallet_id": NS,
        "invoice_id": NS,
        "created_at": S,
        "paid_at": NS,
    },
    ["id", "status", "amount_cents", "purpose"],
)
STATEMENT = obj(
    {
        "id": S,
        "format": {"enum": ["coda", "camt053"]},
        "filename": S,
        "statements": I,
        "accounts": {"type": "array", "items": S},
        "movements": {**I, "description": "movements in the file"},
        "credited": {**I, "description": "credits booked on a wallet or an invoice"},
        "unmatched": {
            **I,
            "description": "unmatched transfers left for the manager (credits that named nothing, "
            "and what an invoice could not take)",
        },
        "duplicates": {**I, "description": "movements imported before: booked nothing"},
        "debits": {**I, "description": "debits: reported, never booked"},
        "credited_cents": I,
        "unmatched_cents": I,
        "created_at": S,
    },
    ["format", "movements", "credited", "unmatched", "duplicates"],
)
UNMATCHED = obj(
    {
        "id": S,
        "amount_cents": I,
        "communication": S,
        "counterparty_name": S,
        "counterparty_iban": S,
        "booked_on": {"type": "string", "format": "date"},
        "reason": {
            "enum": [
                "no_communication",
                "unknown_communication",
                "expired_communication",
                "invoice_settled",
                "invoice_cancelled",
                "overpayment",
                "reversal",
            ]
        },
        "status": {"enum": ["open", "assigned"]},
        "source": {"enum": ["statement", "online"]},
        "assigned_wallet_id": NS,
        "assigned_invoice_id": NS,
        "assigned_at": NS,
        "payment_id": NS,
    },
    ["id", "amount_cents", "communication", "counterparty_name", "counterparty_iban", "booked_on"],
)

SCHEMAS = {
    "Payment": PAYMENT,
    "TransferDetails": TRANSFER,
    "StatementImport": STATEMENT,
    "UnmatchedTransfer": UNMATCHED,
}

OPENAPI: dict = {
    "/api/v1/wallets/{id}/transfer": {
        "get": {
            "summary": "What to write on a bank transfer to this wallet, with the EPC QR code (no amount)",
            "description": "409 method_disabled when the school does not take top-ups by transfer. A transfer is "
            "credited once the school imports its bank statements.",
            "parameters": ID,
            "responses": {**ok(ref("TransferDetails")), **error_responses(401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/wallets/{id}/top-ups": {
        "post": {
            "summary": "Top the wallet up online: answers the provider's checkout URL to send the parent to",
            "description": "Nothing is booked until the provider confirms the payment (webhook). 409 method_disabled.",
            "parameters": [*ID, IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        # finance's range for an online top-up (StartTopUp), documented here
                        "amount_cents": {"type": "integer", "minimum": 100, "maximum": 500_000},
                        "method": {"enum": ["online"]},
                    },
                    ["amount_cents"],
                )
            ),
            "responses": {**ok(STARTED, status=201), **error_responses(400, 401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/invoices/{id}/transfer": {
        "get": {
            "summary": "The invoice's transfer details: its own structured communication and open amount",
            "parameters": ID,
            "responses": {**ok(INVOICE_TRANSFER), **error_responses(401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/invoices/{id}/payments": {
        "post": {
            "summary": "Pay the invoice: online (a checkout URL) or from one of the child's wallets",
            "description": '`{method: "online"}`: 201 `{payment_id, checkout_url}`, booked when the provider '
            'confirms. `{method: "wallet", wallet_id}`: 200 `{invoice}`. 409 insufficient_balance, '
            "already_paid, invoice_cancelled, method_disabled.",
            "parameters": [*ID, IDEMPOTENCY],
            "requestBody": body_schema(
                obj({"method": {"enum": ["wallet", "online"]}, "wallet_id": S}, ["method"])
            ),
            "responses": {
                **ok(
                    obj({"invoice": ref("Invoice"), "payment_id": S, "wallet_balance_cents": I}, ["invoice"])
                ),
                **ok(STARTED, status=201),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/api/v1/payments/{id}": {
        "get": {
            "summary": "A payment of the caller's family (404 otherwise): open until the provider confirms",
            "parameters": ID,
            "responses": {**ok(ref("Payment")), **error_responses(401, 404, 503)},
        }
    },
    "/api/v1/admin/bank-statements": {
        "post": {
            "summary": "Import a bank statement file (CODA or camt.053, recognised by content)",
            "description": "All or nothing: a malformed file answers 400 invalid_statement with `error.line` and "
            "`error.reason` (also in `error.fields`) and books nothing. A movement already "
            "imported is counted in `duplicates` and books nothing.",
            "parameters": [IDEMPOTENCY],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj({"file": {"type": "string", "format": "binary"}}, ["file"])
                    }
                },
            },
            "responses": {
                **ok(ref("StatementImport"), status=201),
                **error_responses(400, 401, 403, 413, 503),
            },
        },
        "get": {
            "summary": "The school's statement imports, newest first",
            "responses": {**ok(list_of(ref("StatementImport"))), **error_responses(401, 403, 503)},
        },
    },
    "/api/v1/admin/unmatched-transfers": {
        "get": {
            "summary": "Money received that named no wallet or invoice, waiting to be assigned",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": ["open", "assigned", "all"]}},
                {"name": "limit", "in": "query", "schema": I},
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {**ok(list_of(ref("UnmatchedTransfer"))), **error_responses(400, 401, 403, 503)},
        }
    },
    "/api/v1/admin/unmatched-transfers/{id}/assign": {
        "post": {
            "summary": "Assign an unmatched transfer to a wallet (all of it) or an invoice (its open amount; the "
            "rest stays unmatched)",
            "description": "409 already_assigned the second time; already_paid / invoice_cancelled for an invoice.",
            "parameters": [*ID, IDEMPOTENCY],
            "requestBody": body_schema(obj({"wallet_id": S, "invoice_id": S})),
            "responses": {
                **ok(
                    {
                        "allOf": [
                            ref("UnmatchedTransfer"),
                            obj(
                                {
                                    "unmatched_rest_cents": I,
                                    "wallet_balance_cents": I,
                                    "invoice": ref("Invoice"),
                                }
                            ),
                        ]
                    }
                ),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/webhooks/mollie": {
        "post": {
            "summary": "The payment provider's webhook (form field id): the status is fetched from the provider",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": obj({"id": S}, ["id"])}},
            },
            "responses": {
                "200": {"description": "handled (also for unknown ids)"},
                "503": {"description": "not handled now: the provider retries"},
            },
        }
    },
}
