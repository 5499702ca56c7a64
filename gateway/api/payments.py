"""JSON API: paying (API.md). Parents: transfer details of a wallet or an invoice, online top-ups,
paying an invoice online (answering the provider's checkout URL) or from a wallet, a payment's status.
And the provider's webhook, ``POST /webhooks/mollie``: it carries only the payment id; the finance
service fetches the status from the provider, so the webhook needs no credential and proves nothing
by itself. The school's bank statements and unmatched transfers are in ``gateway.api.payments_staff``.

Only shapes are checked here; the finance service owns every rule (calls in ``gateway.calls.finance``)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.calls import finance
from gateway.openapi import NS, I, S, error_responses, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.ratelimit import address_key
from gateway.shapes import invoice_json, payment_json, started_payment_json, transfer_json
from gateway.web import (
    RETRY_AFTER_UNAVAILABLE,
    client_address,
    field_int,
    field_str,
    idempotency_key,
    json_body,
    require_parent_child,
    require_session,
)
from kit.errors import AppError, InvalidRequest, RateLimited, Unavailable
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
    the provider retries later. 429 ``rate_limited`` with Retry-After past the rate limit of the
    caller's address (``WEBHOOK_RATE_LIMIT``: anyone may call, and each call reaches finance)."""
    address = client_address()
    wait = current_app.extensions["cartable_webhook_limit"].hit(address_key(address))
    if wait is not None:
        log.warning("webhook rate limited", extra={"client_address": address, "retry_after": wait})
        err = RateLimited("too many webhook calls from this address", retry_after=wait)
        resp = jsonify(err.to_json())
        resp.status_code, resp.headers["Retry-After"] = err.http_status, str(wait)
        return resp
    provider_id = (request.form.get("id") or "").strip()[:100]
    try:
        got = finance.handle_payment_webhook(provider_id)
    except Unavailable:
        log.warning("webhook not handled now, the provider will retry", extra={"provider_id": provider_id})
        return _webhook_unavailable()
    except AppError as err:
        if err.http_status >= 500:
            log.error("webhook failed", extra={"provider_id": provider_id, "code": err.code})
            return _webhook_unavailable()
        log.warning("webhook refused by finance", extra={"provider_id": provider_id, "code": err.code})
        return Response("", status=200, mimetype="text/plain")
    if not got.known:
        log.warning("webhook for an unknown payment", extra={"provider_id": provider_id})
    return Response("", status=200, mimetype="text/plain")


def _webhook_unavailable() -> Response:
    resp = Response("unavailable", status=503, mimetype="text/plain")
    resp.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return resp


# -- OpenAPI ----------------------------------------------------------------------------------------

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
SCHEMAS = {"Payment": PAYMENT, "TransferDetails": TRANSFER}

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
