"""JSON API of SEPA direct debit for parents (API.md, issue #18): the e-mandates of the active child's
family (listed, signed, revoked) and a wallet's automatic top-up. The school's side (collections, its
mandates) is in ``gateway.api.direct_debits``. Only shapes are checked here; finance owns every rule
(calls in ``gateway.calls.mandates``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from cartable.finance.v1 import sepa_pb2
from gateway.calls import mandates
from gateway.openapi import NS, B, I, S, error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import auto_top_up_json
from gateway.web import (
    idempotency_key,
    json_body,
    page_params,
    paginate,
    require_parent_child,
    require_session,
)
from kit.errors import Forbidden, InvalidRequest
from kit.money import MAX_CENTS

bp = Blueprint("api_mandates", __name__)


# -- shapes -----------------------------------------------------------------------------------------


def mandate_json(m: sepa_pb2.Mandate) -> dict[str, Any]:
    """API.md's mandate, as its family sees it (never the full IBAN: finance does not give it)."""
    return {
        "id": m.id,
        "reference": m.reference,
        "iban_last4": m.iban_last4,
        "iban_masked": m.iban_masked,
        "holder_name": m.holder_name,
        "signed_at": m.signed_at,
        "status": m.status,
        "revoked_at": m.revoked_at or None,
        "student_ids": list(m.student_ids),
        "creditor_id": m.creditor_id,
        "school_name": m.school_name,
        "mandate_text": m.mandate_text,
    }


def set_auto_top_up_json(a: sepa_pb2.AutoTopUp) -> dict[str, Any]:
    """The wallet's automatic top-up as the wallet shows it, with the mandate it is collected on."""
    return {**auto_top_up_json(a), "wallet_id": a.wallet_id, "mandate_id": a.mandate_id or None}


# -- input ------------------------------------------------------------------------------------------


def require_parent():
    """A parent's session: a mandate is the family's, whichever child is chosen."""
    sess = require_session()
    if sess.account.role != "parent":
        raise Forbidden("this is for parents")
    return sess


def mandate_request(data: dict) -> tuple[str, str]:
    """(iban, holder_name) of a signature, every bad field named at once (``accept`` must be true)."""
    return mandates.signature(data.get("iban"), data.get("holder_name"), data.get("accept"))


def auto_top_up_request(data: dict) -> tuple[bool, int | None, int | None]:
    """(enabled, threshold_cents, amount_cents): the amounts are needed to enable; left out when
    disabling, finance keeps the stored ones. Their ranges are finance's rule."""
    fields: dict[str, str] = {}
    enabled = data.get("enabled")
    if not isinstance(enabled, bool):
        fields["enabled"] = "expected true or false"
    amounts: dict[str, int | None] = {}
    for name in ("threshold_cents", "amount_cents"):
        value = data.get(name)
        if value is None and enabled is not True:
            amounts[name] = None
        elif not isinstance(value, int) or isinstance(value, bool):
            fields[name] = "expected an integer (cents)"
        elif not 0 <= value <= MAX_CENTS:
            fields[name] = "out of range"
        else:
            amounts[name] = value
    if fields:
        raise InvalidRequest("the automatic top-up cannot be set as sent", fields=fields)
    return bool(enabled), amounts["threshold_cents"], amounts["amount_cents"]


# -- routes -----------------------------------------------------------------------------------------


@bp.get("/api/v1/mandates")
def list_mandates():
    _sess, child = require_parent_child()
    limit, offset = page_params()
    return jsonify(paginate([mandate_json(m) for m in mandates.list_mandates(child)], limit, offset))


@bp.post("/api/v1/mandates")
def sign_mandate():
    require_parent()
    iban, holder = mandate_request(json_body())
    signed = mandates.sign_mandate(iban, holder, True, idempotency_key())
    return jsonify(mandate_json(signed.mandate)), 201


@bp.delete("/api/v1/mandates/<mandate_id>")
def revoke_mandate(mandate_id: str):
    require_parent()
    mandates.revoke_mandate(mandate_id[:36])
    return Response(status=204)


@bp.put("/api/v1/wallets/<wallet_id>/auto-top-up")
def set_auto_top_up(wallet_id: str):
    _sess, child = require_parent_child()
    enabled, threshold, amount = auto_top_up_request(json_body())
    saved = mandates.set_auto_top_up(wallet_id[:36], child, enabled, threshold, amount)
    return jsonify(set_auto_top_up_json(saved))


# -- OpenAPI ----------------------------------------------------------------------------------------

ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
MANDATE = obj(
    {
        "id": S,
        "reference": {"type": "string", "description": "the unique mandate reference (UMR)"},
        "iban_last4": S,
        "iban_masked": {"type": "string", "description": "BE68 **** **** 0123"},
        "holder_name": S,
        "signed_at": {"type": "string", "format": "date-time"},
        "status": {"enum": ["active", "revoked"]},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "student_ids": {"type": "array", "items": S, "description": "the children it covers"},
        "creditor_id": {"type": "string", "description": "the school's SEPA creditor identifier"},
        "school_name": S,
        "mandate_text": {"type": "string", "description": "the text the parent accepted"},
    },
    ["id", "reference", "iban_last4", "holder_name", "signed_at", "status"],
)
AUTO_TOP_UP = obj(
    {
        "enabled": B,
        "threshold_cents": I,
        "amount_cents": I,
        "pending_cents": {
            "type": "integer",
            "description": "a top-up triggered and not yet collected (0 when none)",
        },
        "wallet_id": S,
        "mandate_id": {**NS, "description": "the active mandate it is collected on"},
    },
    ["enabled", "threshold_cents", "amount_cents"],
)
SCHEMAS = {"Mandate": MANDATE, "AutoTopUp": AUTO_TOP_UP}

OPENAPI: dict = {
    "/api/v1/mandates": {
        "get": {
            "summary": "The SEPA direct-debit mandates of the active child's family, newest first (revoked too)",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {**ok(list_of(ref("Mandate"))), **error_responses(400, 401, 403, 404, 409, 503)},
        },
        "post": {
            "summary": "Sign an e-mandate naming the school's creditor id: it covers the parent's children",
            "description": "400 invalid_request with fields (iban, holder_name: 1-70 characters, accept: "
            "must be true). 409 method_disabled when the school has no creditor id. The request's "
            "address, user agent and language are kept as evidence; a PDF copy is filed in the "
            "family's documents. The same Idempotency-Key answers the first mandate again.",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": S,
                    "description": "The same key with the same body answers the first answer again.",
                }
            ],
            "requestBody": body_schema(
                obj(
                    {
                        "iban": S,
                        "holder_name": {"type": "string", "minLength": 1, "maxLength": mandates.HOLDER_MAX},
                        "accept": {"const": True},
                    },
                    ["iban", "holder_name", "accept"],
                )
            ),
            "responses": {**ok(ref("Mandate"), status=201), **error_responses(400, 401, 403, 409, 503)},
        },
    },
    "/api/v1/mandates/{id}": {
        "delete": {
            "summary": "Revoke a mandate the parent signed: nothing more is collected on it",
            "description": "204 also when it was revoked already; 404 for another family's.",
            "parameters": ID,
            "responses": {
                "204": {"description": "revoked"},
                **error_responses(401, 403, 404, 503),
            },
        }
    },
    "/api/v1/wallets/{id}/auto-top-up": {
        "put": {
            "summary": "Set the wallet's automatic top-up: collected by direct debit once the balance "
            "falls under the threshold",
            "description": "threshold_cents and amount_cents are needed to enable (finance's ranges: "
            "threshold 0 to 100000, amount 100 to 50000, 400 naming the field); left out when "
            "disabling, the stored ones are kept. 409 no_mandate without an active mandate covering "
            "the child. 404 for a wallet that is not the active child's.",
            "parameters": ID,
            "requestBody": body_schema(
                obj({"enabled": B, "threshold_cents": I, "amount_cents": I}, ["enabled"])
            ),
            "responses": {**ok(ref("AutoTopUp")), **error_responses(400, 401, 403, 404, 409, 503)},
        }
    },
}
