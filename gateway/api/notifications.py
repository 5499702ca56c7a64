"""JSON API: a parent's mail preferences; the mails that failed and the school's events (listed,
changed, deleted), for the school's manager. Publishing an event is POST /api/v1/admin/events, beside
the parents' events in api/dashboard.py."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.api.dashboard import EVENT
from gateway.calls import notifications
from gateway.i18n import LANGUAGES
from gateway.openapi import error_responses, json_body, list_of, obj, ok
from gateway.shapes import event_json, failed_mail_json, prefs_json
from gateway.web import json_body as read_json
from gateway.web import require_session, require_staff
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("api_notifications", __name__)


def require_parent():
    sess = require_session()
    if sess.account.role != "parent":
        raise Forbidden("mail preferences are a parent's")
    return sess


@bp.get("/api/v1/mail-preferences")
def mail_preferences():
    require_parent()
    return jsonify(prefs_json(notifications.get_preferences()))


@bp.put("/api/v1/mail-preferences")
def put_mail_preferences():
    require_parent()
    return jsonify(prefs_json(notifications.update_preferences(read_json())))


@bp.get("/api/v1/admin/failed-mails")
def failed_mails():
    require_staff()
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    resp = notifications.list_failed_mails(int(limit), request.args.get("cursor", ""))
    return jsonify(items=[failed_mail_json(m) for m in resp.mails], next_cursor=resp.next_cursor or None)


@bp.post("/api/v1/admin/failed-mails/<mail_id>/retry")
def retry_failed_mail(mail_id: str):
    require_staff()
    notifications.retry_failed_mail(mail_id)
    return "", 202


@bp.get("/api/v1/admin/events")
def school_events():
    require_staff()
    first = request.args.get("from", "").strip()[:20] or notifications.school_today()
    last = request.args.get("to", "").strip()[:20]
    items = [event_json(e) for e in notifications.list_school_events(first, last)]
    return jsonify(items=items, next_cursor=None)


@bp.patch("/api/v1/admin/events/<event_id>")
def update_event(event_id: str):
    require_staff()
    return jsonify(event_json(notifications.update_event(event_id, read_json())))


@bp.delete("/api/v1/admin/events/<event_id>")
def delete_event(event_id: str):
    require_staff()
    notifications.delete_event(event_id)
    return "", 204


PREFS = obj(
    {
        "language": {"enum": list(LANGUAGES)},
        "email": {"type": "string", "readOnly": True},
        "low_balance_threshold_cents": {"type": "integer", "minimum": 0},
        "documents": {"type": "boolean"},
        "invoices": {"type": "boolean"},
        "payments": {"type": "boolean"},
        "orders": {"type": "boolean"},
    },
    ["language", "low_balance_threshold_cents"],
)

EVENT_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
EVENT_CHANGES = obj(
    {
        "title": {"type": "string", "maxLength": 200},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time", "description": "empty: the same as starts_at"},
        "description": {"type": "string", "maxLength": 5000},
        "class_names": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "empty: whole school",
        },
    }
)

OPENAPI = {
    "/api/v1/admin/events": {
        "get": {
            "summary": "The school's events starting from `from` to `to` (dates of the school's time zone, "
            "Europe/Brussels, both included), soonest first, at most 1000; `from` defaults to today, "
            "`to` to no end",
            "parameters": [
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            ],
            "responses": {**ok(list_of(EVENT)), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/events/{id}": {
        "patch": {
            "summary": "Change the fields given of one of the school's events; checked as a new event is. "
            "Parents see the change at once",
            "parameters": EVENT_ID,
            "requestBody": json_body(EVENT_CHANGES),
            "responses": {**ok(EVENT), **error_responses(400, 401, 403, 404, 503)},
        },
        "delete": {
            "summary": "Delete one of the school's events: parents no longer see it",
            "parameters": EVENT_ID,
            "responses": {"204": {"description": "deleted"}, **error_responses(401, 403, 404, 503)},
        },
    },
    "/api/v1/mail-preferences": {
        "get": {
            "summary": "Which mails this parent receives, and in which language",
            "responses": {**ok(PREFS), **error_responses(401, 403, 503)},
        },
        "put": {
            "summary": "Replace the mail preferences",
            "requestBody": json_body(PREFS),
            "responses": {**ok(PREFS), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/failed-mails": {
        "get": {
            "summary": "Mails that could not be sent after their retries",
            "responses": {
                **ok(
                    list_of(
                        obj(
                            {
                                "id": {"type": "string"},
                                "kind": {"type": "string"},
                                "recipient": {"type": "string"},
                                "attempts": {"type": "integer"},
                                "last_error": {"type": "string"},
                            }
                        )
                    )
                ),
                **error_responses(401, 403),
            },
        },
    },
    "/api/v1/admin/failed-mails/{id}/retry": {
        "post": {
            "summary": "Send a failed mail again",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"202": {"description": "queued again"}, **error_responses(401, 403, 404, 409)},
        },
    },
}
