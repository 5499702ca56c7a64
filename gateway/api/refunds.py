"""JSON API of refunds to a bank account (API.md, "Direct debit, automatic top-ups and refunds (SEPA)"):
a wallet refunded to an IBAN once per Idempotency-Key (debited at once, operation ``refund``; 409
``insufficient_balance``; 400 naming a bad IBAN, holder or amount), the refunds, what a refund of a
wallet proposes, the credit-transfer batches and each one's pain.001 file. Shapes are checked here;
finance owns every rule (``calls/refunds.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cartable.finance.v1 import sepa_pb2
from gateway.api.direct_debits import date_field, file_response
from gateway.api.finance_staff import IDEMPOTENCY
from gateway.calls import refunds
from gateway.openapi import I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.web import field_int, field_str, idempotency_key, json_body, keyset_params, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_refunds", __name__)

MAX_AMOUNT_CENTS = 10_000_000


def refund_json(r: sepa_pb2.Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "amount_cents": r.amount_cents,
        "wallet_id": r.wallet_id,
        "wallet_name": r.wallet_name,
        "student_id": r.student_id,
        "balance_after_cents": r.balance_after_cents,
        "iban_masked": r.iban_masked,
        "holder_name": r.holder_name,
        "reason": r.reason,
        "status": r.status,
        "batch_id": r.batch_id or None,
        "created_at": r.created_at,
    }


def batch_json(b: sepa_pb2.RefundBatch) -> dict[str, Any]:
    return {
        "id": b.id,
        "count": b.count,
        "total_cents": b.total_cents,
        "execution_date": b.execution_date,
        "message_id": b.message_id,
        "created_at": b.created_at,
    }


def refund_request(data: dict) -> tuple[str, str, str, int | None, str]:
    """(wallet_id, iban, holder_name, amount_cents or None, reason) of the body, each field's type
    checked and every bad one named at once (finance checks the IBAN and the amount against the
    wallet)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, required, max_len in (
        ("wallet_id", True, 36),
        ("iban", True, 50),
        ("holder_name", True, 200),
        ("reason", False, 500),
    ):
        try:
            values[name] = field_str(data, name, required=required, max_len=max_len)
        except InvalidRequest as err:
            errors.update(err.fields)
    amount = None
    if data.get("amount_cents") is not None:
        try:
            amount = field_int(data, "amount_cents", minimum=1, maximum=MAX_AMOUNT_CENTS)
        except InvalidRequest as err:
            errors.update(err.fields)
    if errors:
        raise InvalidRequest("the refund is not valid", fields=errors)
    return values["wallet_id"], values["iban"], values["holder_name"], amount, values["reason"]


def _optional_body() -> dict:
    """The body when one is sent (a JSON object), else nothing."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


# -- routes -------------------------------------------------------------------------------------------


@bp.post("/api/v1/admin/refunds")
def create_refund():
    require_staff()
    wallet_id, iban, holder, amount, reason = refund_request(json_body())
    made = refunds.create_refund(wallet_id, iban, holder, amount, reason=reason, key=idempotency_key())
    return jsonify(refund_json(made.refund)), 201


@bp.get("/api/v1/admin/refunds")
def list_refunds():
    require_staff()
    limit, cursor = keyset_params()
    status = request.args.get("status", "").strip()
    if status not in ("", "pending"):
        raise InvalidRequest("status is pending or absent", fields={"status": "pending"})
    student_id = request.args.get("student_id", "").strip()
    if len(student_id) > 36:
        raise InvalidRequest("unknown student", fields={"student_id": "a student id"})
    page = refunds.list_refunds(
        unbatched=status == "pending", student_id=student_id, limit=limit, cursor=cursor
    )
    return jsonify(items=[refund_json(r) for r in page.items], next_cursor=page.next_cursor or None)


@bp.get("/api/v1/admin/wallets/<wallet_id>/refund-proposal")
def refund_proposal(wallet_id: str):
    require_staff()
    got = refunds.proposal(wallet_id[:36])
    return jsonify(
        wallet_id=got.wallet_id,
        balance_cents=got.balance_cents,
        iban=got.iban or None,
        holder_name=got.holder_name or None,
        mandate_id=got.mandate_id or None,
    )


@bp.post("/api/v1/admin/refund-batches")
def create_batch():
    require_staff()
    execution_date = date_field(_optional_body(), "execution_date", required=False)
    made = refunds.create_batch(execution_date, idempotency_key())
    return jsonify(batch_json(made.batch)), 201


@bp.get("/api/v1/admin/refund-batches")
def list_batches():
    require_staff()
    limit, cursor = keyset_params()
    page = refunds.list_batches(limit, cursor)
    return jsonify(items=[batch_json(b) for b in page.items], next_cursor=page.next_cursor or None)


@bp.get("/api/v1/admin/refund-batches/<batch_id>/pain.001.xml")
def batch_file(batch_id: str):
    require_staff()
    return file_response(refunds.batch_file(batch_id), "remboursements.xml")


# -- OpenAPI ----------------------------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
INSTANT = {"type": "string", "format": "date-time"}
REFUND = obj(
    {
        "id": S,
        "amount_cents": I,
        "wallet_id": S,
        "wallet_name": S,
        "student_id": S,
        "balance_after_cents": {**I, "description": "the wallet's balance once refunded"},
        "iban_masked": {**S, "description": "BE** **** **** 6769: the full IBAN stays in finance"},
        "holder_name": S,
        "reason": {**S, "description": "what the family's bank statement says"},
        "status": {"enum": ["pending", "batched"]},
        "batch_id": {"type": ["string", "null"]},
        "created_at": INSTANT,
    },
    ["id", "amount_cents", "wallet_id", "status"],
)
BATCH = obj(
    {
        "id": S,
        "count": I,
        "total_cents": I,
        "execution_date": {**DATE, "description": "when the school's bank is asked to pay"},
        "message_id": {**S, "description": "the file's MsgId"},
        "created_at": INSTANT,
    },
    ["id", "count", "total_cents"],
)
SCHEMAS = {"Refund": REFUND, "RefundBatch": BATCH}
PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "cursor", "in": "query", "schema": S},
]
ID = {"name": "id", "in": "path", "required": True, "schema": S}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/refunds": {
        "post": {
            "summary": "Refund a wallet to an IBAN (a leaver's balance): the wallet is debited at once "
            "(operation refund), never below zero (409 insufficient_balance, nothing booked); the refund "
            "waits for the next credit-transfer batch. Created once per Idempotency-Key",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        "wallet_id": S,
                        "iban": {**S, "description": "an account in the SEPA zone; spaces allowed"},
                        "holder_name": {**S, "maxLength": 70},
                        "amount_cents": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "description": "default: the wallet's whole balance",
                        },
                        "reason": {
                            **S,
                            "maxLength": 140,
                            "description": "default: Remboursement <wallet> <child>",
                        },
                    },
                    ["wallet_id", "iban", "holder_name"],
                )
            ),
            "responses": {**ok(ref("Refund"), status=201), **error_responses(400, 401, 403, 404, 409, 503)},
        },
        "get": {
            "summary": "The school's refunds, newest first; status=pending: those not batched yet; of one "
            "student; keyset pages",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": ["pending"]}},
                {"name": "student_id", "in": "query", "schema": S},
                *PAGE,
            ],
            "responses": {**ok(list_of(ref("Refund"))), **error_responses(400, 401, 403, 404, 503)},
        },
    },
    "/api/v1/admin/wallets/{id}/refund-proposal": {
        "get": {
            "summary": "What refunding the wallet proposes: its balance, and the IBAN and holder of an "
            "active direct-debit mandate covering its child (null when none), for the manager to confirm",
            "parameters": [ID],
            "responses": {
                **ok(
                    obj(
                        {
                            "wallet_id": S,
                            "balance_cents": I,
                            "iban": {"type": ["string", "null"]},
                            "holder_name": {"type": ["string", "null"]},
                            "mandate_id": {"type": ["string", "null"]},
                        },
                        ["wallet_id", "balance_cents"],
                    )
                ),
                **error_responses(401, 403, 404, 503),
            },
        }
    },
    "/api/v1/admin/refund-batches": {
        "post": {
            "summary": "Every refund not yet batched, in one credit-transfer batch (409 batch_empty when "
            "none; method_disabled when the school's settings name no IBAN); created once per "
            "Idempotency-Key",
            "parameters": [IDEMPOTENCY],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": obj({"execution_date": {**DATE, "description": "today (default) or later"}})
                    }
                },
            },
            "responses": {**ok(ref("RefundBatch"), status=201), **error_responses(400, 401, 403, 409, 503)},
        },
        "get": {
            "summary": "The school's credit-transfer batches of refunds, newest first; keyset pages",
            "parameters": PAGE,
            "responses": {**ok(list_of(ref("RefundBatch"))), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/refund-batches/{id}/pain.001.xml": {
        "get": {
            "summary": "The batch as a SEPA credit-transfer file (pain.001.001.03, valid against its "
            "schema), as an attachment: the same bytes every time",
            "parameters": [ID],
            "responses": {
                "200": {
                    "description": "the XML file (Content-Disposition: attachment; filename=...)",
                    "content": {"application/xml": {"schema": S}},
                },
                **error_responses(401, 403, 404, 503),
            },
        }
    },
}
