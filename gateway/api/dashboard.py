"""JSON API: the parent dashboard (one parallel fan-out with a deadline), school events."""

from __future__ import annotations

from flask import Blueprint, jsonify

from gateway.calls.dashboard import assemble
from gateway.calls.notifications import create_event, list_events
from gateway.openapi import error_responses, json_body, list_of, obj, ok, ref
from gateway.shapes import child_json, event_json
from gateway.web import field_str, require_parent_child, require_staff
from gateway.web import json_body as read_json
from kit.errors import InvalidRequest

bp = Blueprint("api_dashboard", __name__)


@bp.get("/api/v1/dashboard")
def dashboard():
    sess, child_id = require_parent_child()
    child = next(c for c in sess.children if c.id == child_id)
    return jsonify(child=child_json(child), **assemble(child_id))


@bp.get("/api/v1/events")
def events():
    _sess, child_id = require_parent_child()
    return jsonify(items=[event_json(e) for e in list_events(child_id, limit=50)], next_cursor=None)


@bp.post("/api/v1/admin/events")
def admin_events():
    require_staff()
    data = read_json()
    classes = data.get("class_names") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidRequest(
            "class_names must be a list of class names", fields={"class_names": "list of strings"}
        )
    made = create_event(
        # The service checks every field at once and names each one that is wrong.
        title=field_str(data, "title", required=False, max_len=200),
        description=field_str(data, "description", required=False, max_len=5000),
        starts_at=field_str(data, "starts_at", required=False),
        ends_at=field_str(data, "ends_at", required=False),
        class_names=classes,
    )
    return jsonify(id=made), 201


EVENT = obj(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "class_names": {"type": "array", "items": {"type": "string"}},
    },
    ["id", "title", "starts_at", "ends_at"],
)
PERIOD = obj(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
        "notes": {"type": "string"},
    },
    ["id", "title", "opens_at", "closes_at"],
)

OPENAPI = {
    "/api/v1/dashboard": {
        "get": {
            "summary": "The active child's dashboard; panels that did not answer in time are listed in `unavailable`",
            "responses": {
                **ok(
                    obj(
                        {
                            "child": ref("Child"),
                            "events": {"type": "array", "items": EVENT},
                            "documents": obj(
                                {
                                    "unread_count": {"type": "integer"},
                                    "latest": {"type": "array", "items": obj({})},
                                }
                            ),
                            "wallets": {"type": "array", "items": ref("Wallet")},
                            "invoices": obj(
                                {
                                    "unpaid_count": {"type": "integer"},
                                    "unpaid_total_cents": {"type": "integer"},
                                }
                            ),
                            "order_periods": {"type": "array", "items": PERIOD},
                            "meetings": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "id": {"type": "string"},
                                        "evening_title": {"type": "string"},
                                        "teacher_name": {"type": "string"},
                                        "room": {"type": "string"},
                                        "starts_at": {"type": "string"},
                                        "ends_at": {"type": "string"},
                                    }
                                ),
                            },
                            "unavailable": {
                                "type": "array",
                                "items": {
                                    "enum": [
                                        "events",
                                        "documents",
                                        "wallets",
                                        "invoices",
                                        "order_periods",
                                        "meetings",
                                    ]
                                },
                            },
                        },
                        [
                            "child",
                            "events",
                            "documents",
                            "wallets",
                            "invoices",
                            "order_periods",
                            "unavailable",
                        ],
                    )
                ),
                **error_responses(401, 403, 409),
            },
        }
    },
    "/api/v1/events": {
        "get": {
            "summary": "Upcoming events of the active child's school and class",
            "responses": {**ok(list_of(EVENT)), **error_responses(401, 409, 503)},
        }
    },
    "/api/v1/admin/events": {
        "post": {
            "summary": "Publish an event for the whole school (no class_names) or some classes",
            "requestBody": json_body(
                obj(
                    {
                        "title": {"type": "string"},
                        "starts_at": {"type": "string", "format": "date-time"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "description": {"type": "string"},
                        "class_names": {"type": "array", "items": {"type": "string"}},
                    },
                    ["title", "starts_at"],
                )
            ),
            "responses": {
                **ok(obj({"id": {"type": "string"}}), status=201),
                **error_responses(400, 401, 403, 503),
            },
        }
    },
}
