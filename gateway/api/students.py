"""JSON API: the school's students (API.md "School back office"): the list (search, class, active
or left, pages), one student with their wallets, parents and invoices, a change, a leaver, and the
year's turn (a whole class moved to its next one: an addition to API.md). The calls are in
``gateway.calls.students``; the pages of ``gateway.pages.students`` use them too.

Only shapes are checked here (types, lengths, known fields); auth checks every value and answers
its refusals with the fields named, and that the student is the caller's school's (404 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from gateway.calls.students import (
    EDITABLE,
    LEVELS,
    STATUSES,
    find_students,
    get_student,
    leave_student,
    move_class,
    student_finance,
    update_student,
)
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes.students import student_detail_json, student_json
from gateway.web import json_body, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_students", __name__)

MAX_QUERY_CHARS = 200
MAX_CURSOR_CHARS = 1000
MAX_FIELD_CHARS = 500  # auth's own limits are tighter (names 100, class 50, external id 64)
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def _query_text(name: str, max_len: int) -> str:
    value = (request.args.get(name) or "").strip()
    if len(value) > max_len:
        raise InvalidRequest(f"{name} is too long", fields={name: f"at most {max_len} characters"})
    return value


def students_query() -> dict[str, Any]:
    """The list's filters and page from the query string, checked."""
    status = (request.args.get("status") or "active").strip().lower()
    if status not in STATUSES:
        raise InvalidRequest("unknown status", fields={"status": " | ".join(STATUSES)})
    raw = (request.args.get("limit") or str(DEFAULT_LIMIT)).strip()
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidRequest("limit must be an integer", fields={"limit": "1 to 200"}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    return {
        "q": _query_text("q", MAX_QUERY_CHARS),
        "class_name": _query_text("class_name", MAX_QUERY_CHARS),
        "status": status,
        "limit": limit,
        "cursor": _query_text("cursor", MAX_CURSOR_CHARS),
    }


def _text(data: dict, name: str) -> str:
    """A string field of the body (null: "", which clears an optional one)."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", fields={name: "expected a string"})
    if len(value) > MAX_FIELD_CHARS:
        raise InvalidRequest(f"{name} is too long", fields={name: f"at most {MAX_FIELD_CHARS} characters"})
    return value


def _flag(data: dict, name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false", fields={name: "expected true or false"})
    return value


def student_changes(data: dict) -> dict[str, str | bool]:
    """The PATCH body's fields, each a string (or null to clear), ``severe_disability`` a boolean; an
    unknown field or none is a 400."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InvalidRequest(
            "unknown fields", fields={name: "not a field of a student that can change" for name in unknown}
        )
    if not data:
        raise InvalidRequest("nothing to change", fields={"body": "any of " + ", ".join(EDITABLE)})
    return {
        name: _flag(data, name) if name == "severe_disability" else _text(data, name)
        for name in EDITABLE
        if name in data
    }


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/students")
def admin_students_list():
    require_staff()
    page = find_students(**students_query())
    return jsonify(items=[student_json(s) for s in page.students], next_cursor=page.next_cursor or None)


@bp.get("/api/v1/admin/students/<student_id>")
def admin_student(student_id: str):
    require_staff()
    found = get_student(student_id)  # 404 for none or another school's, before finance is asked
    wallets, invoices = student_finance(found.student.id)
    return jsonify(student_detail_json(found, wallets, invoices))


@bp.patch("/api/v1/admin/students/<student_id>")
def admin_student_update(student_id: str):
    require_staff()
    return jsonify(student_json(update_student(student_id, student_changes(json_body()))))


@bp.post("/api/v1/admin/students/<student_id>/leave")
def admin_student_leave(student_id: str):
    require_staff()
    data = request.get_json(silent=True)
    if data is None and not request.get_data():
        data = {}  # no body: today
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", fields={"body": "expected a JSON object"})
    return jsonify(student_json(leave_student(student_id, _text(data, "left_on").strip())))


@bp.post("/api/v1/admin/classes/move")
def admin_class_move():
    require_staff()
    data = json_body()
    source, target = _text(data, "from_class_name"), _text(data, "to_class_name")
    try:
        moved = move_class(source, target)
    except InvalidRequest as err:  # auth names its own fields: the API's are *_class_name
        raise InvalidRequest(
            err.message,
            fields={f"{k}_name" if k in ("from_class", "to_class") else k: v for k, v in err.fields.items()},
        ) from None
    return jsonify(moved=moved)


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
NS = {"type": ["string", "null"]}
B = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
NDATE = {"type": ["string", "null"], "format": "date"}
ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
STUDENT_PROPS: dict[str, Any] = {
    "id": S,
    "first_name": S,
    "last_name": S,
    "class_name": S,
    "level": {"enum": list(LEVELS)},
    "status": {"enum": list(STATUSES)},
    "external_id": {**NS, "description": "the school's own id (its software's), unique in the school"},
    "birth_date": NDATE,
    "parent_ids": {"type": "array", "items": S},
    "left_on": {**NDATE, "description": "the day the student left; null while active"},
    "national_number": {
        **NS,
        "description": "Belgian national register number, masked (`••••••••••91`); in full in "
        "GET /api/v1/admin/students/{id}",
    },
}
STUDENT_REQUIRED = [
    "id",
    "first_name",
    "last_name",
    "class_name",
    "level",
    "status",
    "external_id",
    "birth_date",
    "parent_ids",
]
SCHEMAS: dict[str, Any] = {
    "Student": obj(STUDENT_PROPS, STUDENT_REQUIRED),
    "StudentDetail": obj(
        {
            **STUDENT_PROPS,
            "wallets": {"type": "array", "items": ref("Wallet")},
            "parents": {"type": "array", "items": ref("Parent")},
            "invoices": {"type": "array", "items": ref("Invoice")},
        },
        [*STUDENT_REQUIRED, "wallets", "parents", "invoices"],
    ),
}
CHANGES = {
    "type": "object",
    "properties": {
        "first_name": S,
        "last_name": S,
        "class_name": {"type": "string", "maxLength": 50},
        "level": {"enum": list(LEVELS)},
        "birth_date": {**NDATE, "description": 'YYYY-MM-DD, not in the future; "" or null clears it'},
        "external_id": {**NS, "maxLength": 64, "description": '"" or null clears it'},
        "national_number": {**NS, "description": '11 digits, any punctuation; "" or null clears it'},
        "severe_disability": {
            **B,
            "description": "a severe disability: the childcare tax certificate (281.86) counts "
            "until 21 instead of 14 (staff only; not shown in the student's JSON)",
        },
    },
    "additionalProperties": False,
    "minProperties": 1,
}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/students": {
        "get": {
            "summary": "The school's students, sorted by class then last name: search, class, status, paging",
            "description": "`q`: any part of the first or last name (accents, case, apostrophes and "
            "hyphens ignored). `class_name`: one class, exactly. `status`: active (default) or left. "
            "`cursor`: a `next_cursor` given before (null on the last page).",
            "parameters": [
                {"name": "q", "in": "query", "schema": {**S, "maxLength": MAX_QUERY_CHARS}},
                {"name": "class_name", "in": "query", "schema": S},
                {"name": "status", "in": "query", "schema": {"enum": list(STATUSES), "default": "active"}},
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
            "responses": {**ok(list_of(ref("Student"))), **error_responses(400, 401, 403, 503)},
        }
    },
    "/api/v1/admin/students/{id}": {
        "get": {
            "summary": "A student of the school (active or left) with their wallets, parents and invoices",
            "description": "The national number in full (only here). Another school's student: 404.",
            "parameters": ID,
            "responses": {**ok(ref("StudentDetail")), **error_responses(401, 403, 404, 503)},
        },
        "patch": {
            "summary": "Change any of a student's names, class, level, birth date, external id, national number",
            "description": "Only the fields given change. A bad value: 400 `invalid_request` with "
            "`fields`; an external id another student of the school has: 409 `external_id_taken`. "
            "`level` primary→secondary gives every wallet a new structured communication; transfers "
            "with the old one still credit the same wallet. A class change reaches the services that "
            "scope by class (documents, events, order periods, meetings).",
            "parameters": ID,
            "requestBody": body_schema(CHANGES),
            "responses": {**ok(ref("Student")), **error_responses(400, 401, 403, 404, 409, 503)},
        },
    },
    "/api/v1/admin/students/{id}/leave": {
        "post": {
            "summary": "The student leaves the school on `left_on` (today when not given): status `left`",
            "description": "Its parents still see it, read-only: no new top-ups, orders or bookings; "
            "open invoices stay payable. Listed with `status=left`. Again with another day corrects "
            "the date; `left_on` within two years before and one year after today.",
            "parameters": ID,
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": obj({"left_on": DATE})}},
            },
            "responses": {**ok(ref("Student")), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/classes/move": {
        "post": {
            "summary": "The year turns: every active student of a class moves to another class at once",
            "description": "One step for the whole class (one transaction); `moved`: how many students "
            "moved (0 for a class with no active student). Move the top class out first: students "
            "already in the target class stay there, mixed with the newcomers.",
            "requestBody": body_schema(
                obj(
                    {"from_class_name": S, "to_class_name": {"type": "string", "maxLength": 50}},
                    ["from_class_name", "to_class_name"],
                )
            ),
            "responses": {
                **ok(obj({"moved": {"type": "integer", "minimum": 0}}, ["moved"])),
                **error_responses(400, 401, 403, 503),
            },
        }
    },
}
