"""JSON API: the school's people as its staff manage them (API.md "School back office": parents and
staff): the lists, disabling and enabling an account, ending its sessions, a colleague's second
factor. The calls to auth are in ``gateway.calls.account``; the pages of ``gateway.pages.people``
use them too.

auth's ListParents filters by status but neither searches nor pages: ``q`` and the cursor are
applied here over the school's whole list, a stopgap until the service pages (its answer is read
whole for every page).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from gateway.api.account import field_email
from gateway.calls.account import (
    PARENT_STATUSES,
    check_role,
    create_staff,
    disable_account,
    enable_account,
    end_sessions,
    find_parents,
    get_parent,
    list_staff,
    reset_second_factor,
)
from gateway.i18n import LANGUAGES
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import parent_json, staff_json
from gateway.web import field_str, json_body, page_params, paginate, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_people", __name__)

MAX_QUERY_CHARS = 200


def parents_query() -> tuple[str, str]:
    """(q, status) from the query string, checked."""
    q = (request.args.get("q") or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidRequest("q is too long", fields={"q": f"at most {MAX_QUERY_CHARS} characters"})
    status = (request.args.get("status") or "").strip().lower()
    if status and status not in PARENT_STATUSES:
        raise InvalidRequest("unknown status", fields={"status": " | ".join(PARENT_STATUSES)})
    return q, status


# -- parents -----------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/parents")
def admin_parents_list():
    require_staff()
    q, status = parents_query()
    limit, offset = page_params()
    page = paginate(find_parents(q, status), limit, offset)
    return jsonify(items=[parent_json(p) for p in page["items"]], next_cursor=page["next_cursor"])


@bp.get("/api/v1/admin/parents/<parent_id>")
def admin_parent(parent_id: str):
    require_staff()
    return jsonify(parent_json(get_parent(parent_id)))


@bp.post("/api/v1/admin/parents/<parent_id>/disable")
def admin_parent_disable(parent_id: str):
    require_staff()
    check_role(parent_id, "parent")
    return jsonify(parent_json(disable_account(parent_id)))


@bp.post("/api/v1/admin/parents/<parent_id>/enable")
def admin_parent_enable(parent_id: str):
    require_staff()
    check_role(parent_id, "parent")
    return jsonify(parent_json(enable_account(parent_id)))


@bp.delete("/api/v1/admin/parents/<parent_id>/sessions")
def admin_parent_sessions(parent_id: str):
    require_staff()
    check_role(parent_id, "parent")
    return jsonify(ended=end_sessions(parent_id))


# -- staff -------------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/staff")
def admin_staff_list():
    require_staff()
    return jsonify(items=[staff_json(m) for m in list_staff()], next_cursor=None)


@bp.post("/api/v1/admin/staff")
def admin_staff_create():
    require_staff()
    data = json_body()
    first_name = field_str(data, "first_name", max_len=100)
    last_name = field_str(data, "last_name", max_len=100)
    email = field_email(data)
    language = field_str(data, "language", required=False, max_len=5) or "fr"
    if language not in LANGUAGES:
        raise InvalidRequest("language must be fr, nl or en", fields={"language": "fr | nl | en"})
    made = create_staff(first_name, last_name, email, language)
    return jsonify(id=made.id, username=made.username), 201


@bp.post("/api/v1/admin/staff/<account_id>/disable")
def admin_staff_disable(account_id: str):
    require_staff()
    check_role(account_id, "staff")
    return jsonify(staff_json(disable_account(account_id)))


@bp.post("/api/v1/admin/staff/<account_id>/enable")
def admin_staff_enable(account_id: str):
    require_staff()
    check_role(account_id, "staff")
    return jsonify(staff_json(enable_account(account_id)))


@bp.delete("/api/v1/admin/staff/<account_id>/sessions")
def admin_staff_sessions(account_id: str):
    require_staff()
    check_role(account_id, "staff")
    return jsonify(ended=end_sessions(account_id))


@bp.delete("/api/v1/admin/staff/<account_id>/second-factor")
def admin_staff_second_factor(account_id: str):
    require_staff()
    check_role(account_id, "staff")
    reset_second_factor(account_id)
    return "", 204


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
STATUS = {"enum": list(PARENT_STATUSES)}
ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {"name": "cursor", "in": "query", "schema": S},
]
ENDED = obj({"ended": {"type": "integer"}}, ["ended"])
SCHEMAS: dict[str, Any] = {
    "Parent": obj(
        {
            "id": S,
            "first_name": S,
            "last_name": S,
            "email": S,
            "username": S,
            "student_ids": {"type": "array", "items": S},
            "status": STATUS,
        },
        ["id", "first_name", "last_name", "email", "username", "student_ids", "status"],
    ),
    "StaffMember": obj(
        {"id": S, "first_name": S, "last_name": S, "email": S, "username": S, "status": STATUS},
        ["id", "first_name", "last_name", "email", "username", "status"],
    ),
}


def _action(summary: str, answer: dict[str, Any], *errors: int, description: str = "") -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": ID,
        "responses": {**answer, **error_responses(*errors)},
    }
    if description:
        op["description"] = description
    return op


OPENAPI: dict[str, Any] = {
    "/api/v1/admin/parents": {
        "get": {
            "summary": "The school's parents, by name: search, status, paging",
            "description": "`q`: any part of a name or of the e-mail address (case and accents ignored; "
            "several words must all match). `status`: invited (no password set yet), active, disabled.",
            "parameters": [
                {"name": "q", "in": "query", "schema": {**S, "maxLength": MAX_QUERY_CHARS}},
                {"name": "status", "in": "query", "schema": STATUS},
                *PAGING,
            ],
            "responses": {**ok(list_of(ref("Parent"))), **error_responses(400, 401, 403, 503)},
        }
    },
    "/api/v1/admin/parents/{id}": {
        "get": _action("A parent of the school", ok(ref("Parent")), 401, 403, 404, 503),
    },
    "/api/v1/admin/parents/{id}/disable": {
        "post": _action(
            "Disable a parent's account",
            ok(ref("Parent")),
            401,
            403,
            404,
            503,
            description="Its sessions end at once and its unused connection tokens stop working; "
            "signing in with the right password then answers 403 `account_disabled`. Disabling a "
            "disabled account changes nothing.",
        )
    },
    "/api/v1/admin/parents/{id}/enable": {
        "post": _action(
            "Let a disabled parent sign in again",
            ok(ref("Parent")),
            401,
            403,
            404,
            503,
            description="`active` again, or `invited` when no password was ever set (send a token).",
        )
    },
    "/api/v1/admin/parents/{id}/sessions": {
        "delete": _action(
            "End every session of a parent (a lost phone); they may sign in again",
            ok(ENDED, "how many sessions were open"),
            401,
            403,
            404,
            503,
        )
    },
    "/api/v1/admin/staff": {
        "get": {
            "summary": "The school's staff accounts, by name",
            "responses": {**ok(list_of(ref("StaffMember"))), **error_responses(401, 403, 503)},
        },
        "post": {
            "summary": "Add a colleague to the school's staff; they receive a connection token by mail",
            "description": "The username is made from the names. 400 with `fields` for a bad name, "
            "e-mail address or language.",
            "requestBody": body_schema(
                obj(
                    {
                        "first_name": S,
                        "last_name": S,
                        "email": {"type": "string", "format": "email"},
                        "language": {"enum": list(LANGUAGES), "default": "fr"},
                    },
                    ["first_name", "last_name", "email"],
                )
            ),
            "responses": {
                **ok(obj({"id": S, "username": S}, ["id", "username"]), status=201),
                **error_responses(400, 401, 403, 409, 503),
            },
        },
    },
    "/api/v1/admin/staff/{id}/disable": {
        "post": _action(
            "Disable a colleague's account (their sessions end at once)",
            ok(ref("StaffMember")),
            401,
            403,
            404,
            503,
            description="403 `cannot_disable_self`: a school keeps a manager who can enable the others.",
        )
    },
    "/api/v1/admin/staff/{id}/enable": {
        "post": _action("Let a disabled colleague sign in again", ok(ref("StaffMember")), 401, 403, 404, 503)
    },
    "/api/v1/admin/staff/{id}/sessions": {
        "delete": _action(
            "End every session of a colleague", ok(ENDED, "how many sessions were open"), 401, 403, 404, 503
        )
    },
    "/api/v1/admin/staff/{id}/second-factor": {
        "delete": _action(
            "Remove a colleague's second factor (phone and recovery codes lost); their sessions end",
            {"204": {"description": "removed"}},
            401,
            403,
            404,
            503,
            description="403 `cannot_reset_self`: turn one's own off with /api/v1/second-factor/disable.",
        )
    },
}
