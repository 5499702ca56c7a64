"""JSON API: the school's bank statements (CODA or camt.053 files) and the unmatched transfers to
assign to a wallet or an invoice (staff). Only shapes are checked here; the finance service owns every
rule (calls in ``gateway.calls.finance``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.api.payments import ID, IDEMPOTENCY
from gateway.calls import finance
from gateway.openapi import NS, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import invoice_json, statement_json, unmatched_json
from gateway.web import field_str, idempotency_key, json_body, page_params, paginate, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_payments_staff", __name__)


# -- routes -----------------------------------------------------------------------------------------


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
        "returned_debits": {
            **I,
            "description": "direct debits the bank returned: booked, reopening what they paid",
        },
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

SCHEMAS = {"StatementImport": STATEMENT, "UnmatchedTransfer": UNMATCHED}

OPENAPI: dict = {
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
}
