"""JSON API: parent meetings ("Réunions de parents"). Parents see the open evenings with the
teachers of their active child, book one slot per teacher and cancel until the close; staff open
evenings and read each teacher's schedule."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.calls.meetings import (
    book,
    cancel,
    create_evening,
    evening_request,
    list_evenings,
    my_bookings,
    open_evenings,
    schedule,
)
from gateway.openapi import error_responses, json_body, list_of, obj, ok
from gateway.shapes import (
    booking_json,
    evening_json,
    evening_summary_json,
    open_evening_json,
    schedule_json,
    teacher_json,
)
from gateway.web import (
    idempotency_key,
    page_params,
    paginate,
    require_parent_child,
    require_staff,
)
from gateway.web import json_body as read_json

bp = Blueprint("api_meetings", __name__)


# -- parents ----------------------------------------------------------------------------------------


@bp.get("/api/v1/meetings")
def meetings():
    _sess, child = require_parent_child()
    return jsonify(items=[open_evening_json(e) for e in open_evenings(child)], next_cursor=None)


@bp.post("/api/v1/meetings/slots/<slot_id>/booking")
def book_slot(slot_id: str):
    sess, child = require_parent_child()
    return jsonify(booking_json(book(sess, child, slot_id, idempotency_key()))), 201


@bp.delete("/api/v1/meetings/bookings/<booking_id>")
def cancel_booking(booking_id: str):
    require_parent_child()
    cancel(booking_id)
    return "", 204


@bp.get("/api/v1/meetings/bookings")
def bookings():
    _sess, child = require_parent_child()
    limit, offset = page_params()
    return jsonify(paginate([booking_json(b) for b in my_bookings(child)], limit, offset))


# -- staff ------------------------------------------------------------------------------------------


@bp.post("/api/v1/admin/meetings")
def admin_create():
    require_staff()
    resp = create_evening(evening_request(read_json()))
    return jsonify(
        **evening_json(resp.evening),
        teachers=[teacher_json(t) for t in resp.teachers],
        slot_count=resp.slot_count,
    ), 201


@bp.get("/api/v1/admin/meetings")
def admin_list():
    require_staff()
    limit, offset = page_params()
    return jsonify(paginate([evening_summary_json(e) for e in list_evenings()], limit, offset))


@bp.get("/api/v1/admin/meetings/<evening_id>/schedule")
def admin_schedule(evening_id: str):
    require_staff()
    teacher_id = request.args.get("teacher_id", "").strip()[:36]
    return jsonify(schedule_json(schedule(evening_id, teacher_id)))


# -- OpenAPI ----------------------------------------------------------------------------------------

S = {"type": "string"}
DT = {"type": "string", "format": "date-time"}
I = {"type": "integer"}  # noqa: E741
SLOT = obj({"id": S, "starts_at": DT, "ends_at": DT}, ["id", "starts_at", "ends_at"])
EVENING_PROPS = {
    "id": S,
    "title": S,
    "date": {"type": "string", "format": "date"},
    "starts_at": DT,
    "ends_at": DT,
    "slot_minutes": I,
    "opens_at": DT,
    "closes_at": DT,
    "timezone": S,
}
EVENING_REQUIRED = list(EVENING_PROPS)
BOOKING = obj(
    {
        "id": S,
        "evening_id": S,
        "evening_title": S,
        "teacher_id": S,
        "teacher_name": S,
        "room": S,
        "slot_id": S,
        "starts_at": DT,
        "ends_at": DT,
        "child_id": S,
        "child_name": S,
        "cancellable": {"type": "boolean"},
        "closes_at": DT,
        "booked_at": DT,
    },
    [
        "id",
        "evening_id",
        "teacher_id",
        "teacher_name",
        "slot_id",
        "starts_at",
        "ends_at",
        "child_id",
        "cancellable",
    ],
)
TEACHER = obj({"id": S, "name": S, "room": S, "class_names": {"type": "array", "items": S}}, ["id", "name"])
OPEN_EVENING = obj(
    {
        **EVENING_PROPS,
        "teachers": {
            "type": "array",
            "items": obj(
                {
                    "id": S,
                    "name": S,
                    "room": S,
                    "free_slots": {"type": "array", "items": SLOT},
                    "booking": {"oneOf": [BOOKING, {"type": "null"}]},
                },
                ["id", "name", "free_slots", "booking"],
            ),
        },
    },
    [*EVENING_REQUIRED, "teachers"],
)
SCHEDULE = obj(
    {
        "evening": obj(EVENING_PROPS, EVENING_REQUIRED),
        "teachers": {
            "type": "array",
            "items": obj(
                {
                    **TEACHER["properties"],
                    "slots": {
                        "type": "array",
                        "items": obj(
                            {
                                **SLOT["properties"],
                                "booking": {
                                    "oneOf": [
                                        obj(
                                            {
                                                "id": S,
                                                "child_id": S,
                                                "child_name": S,
                                                "class_name": S,
                                                "parent_account_id": S,
                                                "parent_name": S,
                                                "booked_at": DT,
                                            }
                                        ),
                                        {"type": "null"},
                                    ]
                                },
                            },
                            ["id", "starts_at", "ends_at", "booking"],
                        ),
                    },
                },
                ["id", "name", "slots"],
            ),
        },
    },
    ["evening", "teachers"],
)
PATH_ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}
PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {"name": "cursor", "in": "query", "schema": S},
]

OPENAPI = {
    "/api/v1/meetings": {
        "get": {
            "summary": "Meeting evenings open for booking, with the active child's teachers and their free slots",
            "responses": {**ok(list_of(OPEN_EVENING)), **error_responses(401, 403, 409, 503)},
        }
    },
    "/api/v1/meetings/slots/{id}/booking": {
        "post": {
            "summary": "Book this slot for the active child: one slot per teacher per child and per parent. "
            "409 slot_taken, booking_closed, already_booked, overlapping_booking",
            "parameters": [*PATH_ID, IDEMPOTENCY],
            "responses": {**ok(BOOKING, status=201), **error_responses(400, 401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/meetings/bookings/{id}": {
        "delete": {
            "summary": "Cancel my booking (until the evening's close instant; 409 booking_closed after)",
            "parameters": PATH_ID,
            "responses": {"204": {"description": "cancelled"}, **error_responses(401, 403, 404, 409, 503)},
        }
    },
    "/api/v1/meetings/bookings": {
        "get": {
            "summary": "My bookings for the active child, for meetings not yet over, soonest first",
            "parameters": PAGING,
            "responses": {**ok(list_of(BOOKING)), **error_responses(400, 401, 403, 409, 503)},
        }
    },
    "/api/v1/admin/meetings": {
        "post": {
            "summary": "Open a meeting evening: teachers with their classes; slots are generated per teacher",
            "requestBody": json_body(
                obj(
                    {
                        "title": S,
                        "date": {"type": "string", "format": "date"},
                        "start_time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                        "end_time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                        "slot_minutes": {"type": "integer", "minimum": 5, "maximum": 60},
                        "opens_at": DT,
                        "closes_at": DT,
                        "teachers": {
                            "type": "array",
                            "items": obj(
                                {
                                    "name": S,
                                    "room": S,
                                    "class_names": {"type": "array", "items": S},
                                    "account_id": S,
                                },
                                ["name", "class_names"],
                            ),
                        },
                    },
                    [
                        "title",
                        "date",
                        "start_time",
                        "end_time",
                        "slot_minutes",
                        "opens_at",
                        "closes_at",
                        "teachers",
                    ],
                )
            ),
            "responses": {
                **ok(
                    obj(
                        {**EVENING_PROPS, "teachers": {"type": "array", "items": TEACHER}, "slot_count": I},
                        [*EVENING_REQUIRED, "teachers", "slot_count"],
                    ),
                    status=201,
                ),
                **error_responses(400, 401, 403, 503),
            },
        },
        "get": {
            "summary": "The school's meeting evenings, latest first, with how full they are",
            "parameters": PAGING,
            "responses": {
                **ok(list_of(obj({**EVENING_PROPS, "teacher_count": I, "slot_count": I, "booked_count": I}))),
                **error_responses(401, 403, 503),
            },
        },
    },
    "/api/v1/admin/meetings/{id}/schedule": {
        "get": {
            "summary": "Each teacher's schedule: slots, free or with the child, class and parent",
            "parameters": [*PATH_ID, {"name": "teacher_id", "in": "query", "schema": S}],
            "responses": {**ok(SCHEDULE), **error_responses(401, 403, 404, 503)},
        }
    },
}
