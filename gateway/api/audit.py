"""JSON API: the school's audit log (API.md "School back office": ``GET /api/v1/admin/audit``), the
staff actions that move money or change settings, people or permissions, newest first. Read only:
the log is append-only, no route changes or removes an entry. The call to auth is in
``gateway.calls.audit``; the page /gestion/journal (``gateway.pages.audit``) uses it too.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cartable.auth.v1 import auth_pb2
from gateway.calls.audit import DEFAULT_LIMIT, MAX_LIMIT, audit_limit, list_audit_entries
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.web import require_staff

bp = Blueprint("api_audit", __name__)


def audit_entry_json(e: auth_pb2.AuditEntry) -> dict[str, Any]:
    """An entry as API.md writes it; ``at`` is RFC 3339 as auth gives it."""
    return {
        "id": e.id,
        "at": e.at,
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "detail": e.detail,
    }


@bp.get("/api/v1/admin/audit")
def admin_audit():
    require_staff()
    limit = audit_limit(request.args.get("limit"))
    resp = list_audit_entries(limit, request.args.get("cursor", ""))
    return jsonify(items=[audit_entry_json(e) for e in resp.entries], next_cursor=resp.next_cursor or None)


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
SCHEMAS: dict[str, Any] = {
    "AuditEntry": obj(
        {
            "id": S,
            "at": {"type": "string", "format": "date-time"},
            "actor_id": {**S, "description": "the account that acted; empty for an operator's command"},
            "actor_name": {**S, "description": "the account's name when the entry was kept"},
            "action": {**S, "description": "<service>.<object>.<verb>, e.g. finance.settings.iban_changed"},
            "object_type": {**S, "description": "what was acted on: invoice, account, student, …"},
            "object_id": S,
            "detail": {**S, "description": "a short text for a person, IBANs masked"},
        },
        ["id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "detail"],
    ),
}
OPENAPI: dict[str, Any] = {
    "/api/v1/admin/audit": {
        "get": {
            "summary": "The school's audit log: staff actions on money, settings, people and permissions",
            "description": "Newest first. Append-only: entries are never changed or removed, and no "
            "route writes to it (each service records its own actions). Page with `next_cursor` as "
            "given; a bad `limit` or `cursor` is 400 with `fields`.",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {**ok(list_of(ref("AuditEntry"))), **error_responses(400, 401, 403, 503)},
        }
    },
}
