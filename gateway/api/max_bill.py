"""JSON API of the Flemish maximum bill (issue #19; not in API.md): the school's caps per school year
and level, a student's counters, and the 409 ``max_bill_exceeded`` of the invoice endpoints with its
``details`` (``exceeded_response``). Finance owns every rule (``gateway.calls.max_bill``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from gateway.calls import max_bill
from gateway.openapi import B, I, S, error_responses, list_of, obj, ok
from gateway.openapi import json_body as body_schema
from gateway.web import field_int, field_str, json_body, require_staff
from kit.errors import AppError

bp = Blueprint("api_max_bill", __name__)


def caps_json(c) -> dict[str, Any]:
    return {
        "school_year": c.school_year,
        "level": c.level,
        "strict_cents": c.strict_cents,
        "less_strict_cents": c.less_strict_cents,
        "updated_at": c.updated_at or None,
    }


def counters_json(resp) -> dict[str, Any]:
    return {
        "student_id": resp.student_id,
        "school_year": resp.school_year,
        "level": resp.level or None,
        "capped": resp.capped,
        "counters": [
            {"cap": c.cap, "cap_cents": c.cap_cents, "used_cents": c.used_cents, "left_cents": c.left_cents}
            for c in resp.counters
        ],
    }


def exceeded_response(err: AppError) -> tuple[Response, int] | None:
    """The 409 ``max_bill_exceeded`` with its ``details`` (the cap passed), None for another error."""
    details = max_bill.exceeded_details(err)
    if details is None:
        return None
    body = err.to_json()
    body["error"]["details"] = details
    return jsonify(body), 409


@bp.get("/api/v1/admin/students/<student_id>/max-bill")
def student_max_bill(student_id: str):
    require_staff()
    year = request.args.get("school_year", "")[:9]
    return jsonify(counters_json(max_bill.get_max_bill(student_id[:36], year)))


@bp.get("/api/v1/admin/max-bill/caps")
def list_caps():
    require_staff()
    caps = max_bill.list_caps(request.args.get("school_year", "")[:9])
    return jsonify(items=[caps_json(c) for c in caps], next_cursor=None)


@bp.put("/api/v1/admin/max-bill/caps")
def put_caps():
    require_staff()
    data = json_body()
    saved = max_bill.set_caps(
        field_str(data, "school_year", max_len=9),
        field_str(data, "level", max_len=10),
        field_int(data, "strict_cents", minimum=0, maximum=10**11),
        field_int(data, "less_strict_cents", minimum=0, maximum=10**11),
    )
    return jsonify(caps_json(saved))


# -- OpenAPI ----------------------------------------------------------------------------------------

YEAR = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{4}$",
    "description": "1 September to 31 August, e.g. 2026-2027",
}
LEVEL = {"enum": list(max_bill.LEVELS)}
CAPS = obj(
    {
        "school_year": YEAR,
        "level": LEVEL,
        "strict_cents": {**I, "description": "scherpe maximumfactuur, per school year"},
        "less_strict_cents": {
            **I,
            "description": "minder scherpe maximumfactuur (multi-day trips; the law counts it over the whole "
            "of primary school, kept per school year here)",
        },
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["school_year", "level", "strict_cents", "less_strict_cents"],
)
COUNTERS = obj(
    {
        "student_id": S,
        "school_year": YEAR,
        "level": {"enum": [*max_bill.LEVELS, None], "description": "null: secondary, no maximum bill"},
        "capped": {**B, "description": "the school set caps for this year and level"},
        "counters": {
            "type": "array",
            "items": obj(
                {"cap": {"enum": list(max_bill.CAPS)}, "cap_cents": I, "used_cents": I, "left_cents": I},
                ["cap", "cap_cents", "used_cents", "left_cents"],
            ),
        },
    },
    ["student_id", "school_year", "level", "capped", "counters"],
)
EXCEEDED_DETAILS = obj(
    {
        "cap": {"enum": list(max_bill.CAPS)},
        "cap_cents": I,
        "used_cents": I,
        "left_cents": I,
        "adding_cents": I,
        "student_id": S,
        "school_year": YEAR,
        "level": LEVEL,
    },
    ["cap", "cap_cents", "left_cents", "student_id"],
)
OVERRIDE = {
    **B,
    "description": "issue it even past the Flemish maximum bill (audited); without it such an invoice is 409 "
    "`max_bill_exceeded` with `error.details` (MaxBillExceeded)",
}
SCHEMAS = {"MaxBillCaps": CAPS, "MaxBillCounters": COUNTERS, "MaxBillExceeded": EXCEEDED_DETAILS}
YEAR_PARAM = {"name": "school_year", "in": "query", "schema": YEAR}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/students/{id}/max-bill": {
        "get": {
            "summary": "A student's Flemish maximum bill counters for a school year (default: today's): per cap "
            "the cap, what counts (strict/less_strict lines of invoices not cancelled) and what is left",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}, YEAR_PARAM],
            "responses": {**ok(COUNTERS), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/max-bill/caps": {
        "get": {
            "summary": "The school's maximum bill caps per school year and level (kleuter, lager)",
            "parameters": [YEAR_PARAM],
            "responses": {**ok(list_of(CAPS)), **error_responses(400, 401, 403, 503)},
        },
        "put": {
            "summary": "Set the caps of one school year and level (replaces what was set; audited). No defaults: "
            "the amounts of the year's circular",
            "requestBody": body_schema(CAPS),
            "responses": {**ok(CAPS), **error_responses(400, 401, 403, 503)},
        },
    },
}
