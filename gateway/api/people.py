"""JSON API: the school's people as its staff manage them (API.md "School back office": parents and
staff): the lists, a parent's names and e-mail, disabling and enabling an account, ending its
sessions, a colleague's second factor. The calls to auth are in ``gateway.calls.account``; the pages
of ``gateway.pages.people`` use them too. auth searches and pages the parents (its own keyset
cursor, passed through as it is).
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
    update_parent,
)
from gateway.i18n import LANGUAGES
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import parent_json, staff_json
from gateway.web import field_str, json_body, keyset_params, require_staff
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


# What PATCH /api/v1/admin/parents/{id} may change; the others of the parent are auth's own.
PARENT_CHANGES = {"first_name": 100, "last_name": 100, "email": 320, "national_number": 30}


def parent_changes(data: dict[str, Any]) -> dict[str, str]:
    """The fields of a PATCH body, each checked for its shape (auth checks the values): names not
    empty, an e-mail address, a national number ("" or null clears it)."""
    errors = {k: "cannot be changed here" for k in data if k not in PARENT_CHANGES}
    if errors:
        raise InvalidRequest(
            "only first_name, last_name, email and national_number can be changed", fields=errors
        )
    if not data:
        raise InvalidRequest(
            "nothing to change", fields={"body": "any of first_name, last_name, email, national_number"}
        )
    changes = {}
    for name, max_len in PARENT_CHANGES.items():
        if name not in data:
            continue
        if name == "email":
            changes[name] = field_email(data)
        elif name == "national_number":
            changes[name] = field_str({name: data[name]}, name, required=False, max_len=max_len)
        else:
            changes[name] = field_str(data, name, max_len=max_len)
    return changes


# -- parents -----------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/parents")
def admin_parents_list():
    require_staff()
    q, status = parents_query()
    limit, cursor = keyset_params()
    parents, next_cursor = find_parents(q, status, limit, cursor)
    return jsonify(items=[parent_json(p) for p in parents], next_cursor=next_cursor or None)


@bp.get("/api/v1/admin/parents/<parent_id>")
def admin_parent(parent_id: str):
    require_staff()
    found, _children = get_parent(parent_id)
    return jsonify(parent_json(found))


@bp.patch("/api/v1/admin/parents/<parent_id>")
def admin_parent_update(parent_id: str):
    require_staff()
    changes = parent_changes(json_body())
    return jsonify(parent_json(update_parent(parent_id, **changes)))


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
            "description": "`q`: any part of the names (first then last, or last then first) or of "
            "the e-mail address (case, accents, hyphens and apostrophes ignored). `status`: invited "
            "(no password set yet), active, disabled. `cursor`: a `next_cursor` as given.",
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
        "patch": {
            **_action(
                "Change a parent's names, e-mail address or national register number",
                ok(ref("Parent")),
                400,
                401,
                403,
                404,
                409,
                503,
                description="Any of the fields; the others stay. Names are people's names (accents, "
                "hyphens, apostrophes; spaces tidied). The e-mail address is kept lower-case and must "
                "be no other account's: 409 `email_taken`. `national_number`: a Belgian national "
                'register number (any punctuation), `""` or null clears it; it is never answered. '
                "400 with `fields` for a bad value or a field that cannot be changed here.",
            ),
            "requestBody": body_schema(
                {
                    "type": "object",
                    "properties": {
                        "first_name": {**S, "maxLength": 100},
                        "last_name": {**S, "maxLength": 100},
                        "email": {"type": "string", "format": "email", "maxLength": 320},
                        "national_number": {"type": ["string", "null"], "maxLength": 30},
                    },
                    "additionalProperties": False,
                    "minProperties": 1,
                }
            ),
        },
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
