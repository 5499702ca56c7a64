"""JSON API of the school's direct-debit collections (API.md, "Direct debit, automatic top-ups and
refunds (SEPA)"): a batch created once per Idempotency-Key, the batches and one with its items, its
pain.008 file for the bank; the school's mandates, one revoked. Shapes are checked here (dates as
YYYY-MM-DD); finance owns every rule (``calls/direct_debits.py``): what is collected, the collection
date at least tomorrow, 409 ``batch_empty`` / ``method_disabled``, the school's scope (404)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from cartable.finance.v1 import sepa_pb2
from gateway.api.finance_staff import IDEMPOTENCY
from gateway.calls import direct_debits
from gateway.openapi import NS, B, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.web import idempotency_key, json_body, keyset_params, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_direct_debits", __name__)

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
BATCH_STATUSES = ("created", "collected", "partially_returned")
ITEM_STATUSES = ("pending", "collected", "returned", "withdrawn")


def date_field(data: dict, name: str, *, required: bool) -> str:
    """``data[name]`` as a real calendar date ``YYYY-MM-DD`` ("" when absent and not required)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"{name} is required", fields={name: "required (YYYY-MM-DD)"})
        return ""
    if not isinstance(value, str) or not DATE_RE.fullmatch(value.strip()):
        raise InvalidRequest(f"{name} must be a date", fields={name: "a date YYYY-MM-DD"})
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(f"{name} is not a calendar date", fields={name: "a date YYYY-MM-DD"}) from None
    return value.strip()


def batch_request(data: dict) -> tuple[str, str]:
    """(collection_date, invoices_due_by) of the body, every bad date named at once."""
    errors: dict[str, str] = {}
    out = {}
    for name, required in (("collection_date", True), ("invoices_due_by", False)):
        try:
            out[name] = date_field(data, name, required=required)
        except InvalidRequest as err:
            errors.update(err.fields)
    if errors:
        raise InvalidRequest("the dates are not valid", fields=errors)
    return out["collection_date"], out["invoices_due_by"]


def item_json(item: sepa_pb2.DirectDebitItem) -> dict[str, Any]:
    invoice = item.kind == "invoice"
    return {
        "id": item.id,
        "kind": item.kind,
        "student_id": item.student_id,
        "invoice_id": (item.invoice_id or None) if invoice else None,
        "invoice_number": (item.invoice_number or None) if invoice else None,
        "wallet_id": None if invoice else (item.wallet_id or None),
        "wallet_name": None if invoice else (item.wallet_name or None),
        "amount_cents": item.amount_cents,
        "mandate_id": item.mandate_id,
        "mandate_reference": item.mandate_reference,
        "holder_name": item.holder_name,
        "sequence_type": item.sequence_type,
        "end_to_end_id": item.end_to_end_id,
        "remittance": item.remittance,
        "status": item.status,
        "return_reason": item.return_reason or None,
    }


def batch_json(batch: sepa_pb2.DirectDebitBatch, *, items: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": batch.id,
        "collection_date": batch.collection_date,
        "invoices_due_by": batch.invoices_due_by,
        "count": batch.count,
        "total_cents": batch.total_cents,
        "collected_cents": batch.collected_cents,
        "returned_cents": batch.returned_cents,
        "status": batch.status,
        "message_id": batch.message_id,
        "created_at": batch.created_at,
    }
    if items:
        out["items"] = [item_json(i) for i in batch.items]
    return out


def mandate_json(m: sepa_pb2.Mandate) -> dict[str, Any]:
    """A mandate as the school sees it: API.md's mandate, and whom and what it covers."""
    return {
        "id": m.id,
        "reference": m.reference,
        "iban_last4": m.iban_last4,
        "iban_masked": m.iban_masked,
        "bic": m.bic or None,
        "holder_name": m.holder_name,
        "signed_at": m.signed_at,
        "status": m.status,
        "revoked_at": m.revoked_at or None,
        "revoked_reason": m.revoked_reason or None,
        "student_ids": list(m.student_ids),
        "parent_account_id": m.parent_account_id,
        "first_collected": m.first_collected,
        "creditor_id": m.creditor_id,
    }


def file_response(sepa_file: sepa_pb2.SepaFile, fallback: str) -> Response:
    """The file as an attachment under its name (letters, digits, dots, dashes: a safe header)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "", sepa_file.filename)[:100] or fallback
    return Response(
        bytes(sepa_file.content),
        mimetype=sepa_file.content_type or "application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- routes -------------------------------------------------------------------------------------------


@bp.post("/api/v1/admin/direct-debits")
def create_batch():
    require_staff()
    collection_date, due_by = batch_request(json_body())
    made = direct_debits.create_batch(collection_date, due_by, idempotency_key())
    return jsonify(batch_json(made.batch)), 201


@bp.get("/api/v1/admin/direct-debits")
def list_batches():
    require_staff()
    limit, cursor = keyset_params()
    page = direct_debits.list_batches(limit, cursor)
    return jsonify(items=[batch_json(b) for b in page.items], next_cursor=page.next_cursor or None)


@bp.get("/api/v1/admin/direct-debits/<batch_id>")
def get_batch(batch_id: str):
    require_staff()
    return jsonify(batch_json(direct_debits.get_batch(batch_id), items=True))


@bp.get("/api/v1/admin/direct-debits/<batch_id>/pain.008.xml")
def batch_file(batch_id: str):
    require_staff()
    fallback = "prelevements-" + re.sub(r"[^A-Za-z0-9-]", "", batch_id)[:12] + ".xml"
    return file_response(direct_debits.batch_file(batch_id), fallback)


@bp.get("/api/v1/admin/mandates")
def list_mandates():
    require_staff()
    student_id = request.args.get("student_id", "").strip()
    if len(student_id) > 36:
        raise InvalidRequest("unknown student", fields={"student_id": "a student id"})
    items = direct_debits.list_mandates(student_id)
    return jsonify(items=[mandate_json(m) for m in items], next_cursor=None)


@bp.delete("/api/v1/admin/mandates/<mandate_id>")
def revoke_mandate(mandate_id: str):
    require_staff()
    direct_debits.revoke_mandate(mandate_id)
    return Response(status=204)


# -- OpenAPI ----------------------------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
INSTANT = {"type": "string", "format": "date-time"}
BATCH_PROPS: dict[str, Any] = {
    "id": S,
    "collection_date": DATE,
    "invoices_due_by": DATE,
    "count": I,
    "total_cents": I,
    "collected_cents": {**I, "description": "credited by the bank's statement"},
    "returned_cents": {**I, "description": "returned by the debtors' banks (R-transactions)"},
    "status": {"enum": list(BATCH_STATUSES)},
    "message_id": {**S, "description": "the file's MsgId, the reference the bank's credit carries"},
    "created_at": INSTANT,
}
BATCH = obj(BATCH_PROPS, ["id", "collection_date", "count", "total_cents", "status"])
ITEM = obj(
    {
        "id": S,
        "kind": {"enum": ["invoice", "top_up"]},
        "student_id": S,
        "invoice_id": NS,
        "invoice_number": NS,
        "wallet_id": NS,
        "wallet_name": NS,
        "amount_cents": I,
        "mandate_id": S,
        "mandate_reference": S,
        "holder_name": S,
        "sequence_type": {"enum": ["FRST", "RCUR"]},
        "end_to_end_id": S,
        "remittance": S,
        "status": {"enum": list(ITEM_STATUSES)},
        "return_reason": {**NS, "description": "the ISO reason code of a return: AM04, MD01, AC04, ..."},
    },
    ["id", "kind", "student_id", "amount_cents", "sequence_type", "status"],
)
MANDATE = obj(
    {
        "id": S,
        "reference": {**S, "description": "the unique mandate reference (UMR)"},
        "iban_last4": S,
        "iban_masked": S,
        "bic": NS,
        "holder_name": S,
        "signed_at": INSTANT,
        "status": {"enum": ["active", "revoked"]},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_reason": {"enum": ["parent", "staff", "bank_return", None]},
        "student_ids": {"type": "array", "items": S},
        "parent_account_id": S,
        "first_collected": {**B, "description": "a collection went out on it: the next ones are RCUR"},
        "creditor_id": S,
    },
    ["id", "reference", "iban_last4", "holder_name", "signed_at", "status"],
)
SCHEMAS = {
    "DirectDebitBatch": BATCH,
    "DirectDebitItem": ITEM,
    "DirectDebitBatchWithItems": {
        "allOf": [ref("DirectDebitBatch"), obj({"items": {"type": "array", "items": ref("DirectDebitItem")}})]
    },
    "SchoolMandate": MANDATE,
}
ID = {"name": "id", "in": "path", "required": True, "schema": S}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/direct-debits": {
        "post": {
            "summary": "A direct-debit batch: every open invoice due by invoices_due_by and every wallet "
            "under its automatic top-up threshold, of families with an active mandate, each at most once "
            "across batches; created once per Idempotency-Key. 409 batch_empty when nothing is to be "
            "collected, method_disabled when the school has no SEPA creditor id",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(
                obj(
                    {
                        "collection_date": {**DATE, "description": "at least tomorrow"},
                        "invoices_due_by": {**DATE, "description": "default: the collection date"},
                    },
                    ["collection_date"],
                )
            ),
            "responses": {
                **ok(ref("DirectDebitBatch"), status=201),
                **error_responses(400, 401, 403, 409, 503),
            },
        },
        "get": {
            "summary": "The school's direct-debit batches, newest first; keyset pages",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {**ok(list_of(ref("DirectDebitBatch"))), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/direct-debits/{id}": {
        "get": {
            "summary": "One batch with its items (child, invoice or wallet, amount, FRST/RCUR, status, "
            "the return reason)",
            "parameters": [ID],
            "responses": {**ok(ref("DirectDebitBatchWithItems")), **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/direct-debits/{id}/pain.008.xml": {
        "get": {
            "summary": "The batch as a SEPA direct-debit file (pain.008.001.02, valid against its schema; "
            "FRST for a mandate's first collection, RCUR after), as an attachment",
            "parameters": [ID],
            "responses": {
                "200": {
                    "description": "the XML file (Content-Disposition: attachment; filename=...)",
                    "content": {"application/xml": {"schema": S}},
                },
                "409": {
                    "description": "batch_empty: every collection of the batch was withdrawn (revoked mandates)",
                    "content": {"application/json": {"schema": ref("Error")}},
                },
                **error_responses(401, 403, 404, 503),
            },
        }
    },
    "/api/v1/admin/mandates": {
        "get": {
            "summary": "The school's direct-debit mandates, newest first, revoked ones too; those covering "
            "student_id when given",
            "parameters": [{"name": "student_id", "in": "query", "schema": S}],
            "responses": {**ok(list_of(ref("SchoolMandate"))), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/mandates/{id}": {
        "delete": {
            "summary": "Revoke a mandate: nothing more is collected on it; its items in a batch not yet "
            "sent to the bank are withdrawn (again: 204, nothing changes)",
            "parameters": [ID],
            "responses": {"204": {"description": "revoked"}, **error_responses(401, 403, 404, 503)},
        }
    },
}
