"""JSON API: the parent dashboard (one parallel fan-out with a deadline), school events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from flask import Blueprint, current_app, jsonify

from cartable.documents.v1 import documents_pb2
from cartable.finance.v1 import finance_pb2
from cartable.meetings.v1 import meetings_pb2
from cartable.notifications.v1 import notifications_pb2
from cartable.orders.v1 import orders_pb2
from gateway.api.shapes import (
    child_json,
    event_json,
    latest_documents_json,
    period_json,
    unpaid_invoices_json,
    upcoming_booking_json,
    wallet_json,
)
from gateway.clients import rpc, rpc_future
from gateway.openapi import error_responses, json_body, list_of, obj, ok, ref
from gateway.web import field_str, require_parent_child, require_staff
from gateway.web import json_body as read_json
from kit.errors import InvalidRequest

log = logging.getLogger("gateway.dashboard")

bp = Blueprint("api_dashboard", __name__)


def panels(child_id: str) -> list[tuple[str, str, str, Any, Callable[[Any], Any]]]:
    """(panel, service, method, request, shape): what the dashboard asks, in parallel."""
    out: list[tuple[str, str, str, Any, Callable[[Any], Any]]] = [
        (
            "events",
            "notifications",
            "ListEvents",
            notifications_pb2.ListEventsRequest(student_id=child_id, limit=5),
            lambda r: [event_json(e) for e in r.events],
        ),
        (
            "documents",
            "documents",
            "ListDocuments",
            documents_pb2.ListDocumentsRequest(student_id=child_id, state="unread", limit=5),
            latest_documents_json,
        ),
        (
            "wallets",
            "finance",
            "ListWallets",
            finance_pb2.ListWalletsRequest(student_id=child_id),
            lambda r: [wallet_json(w) for w in r.wallets],
        ),
        (
            "order_periods",
            "orders",
            "ListOpenPeriods",
            orders_pb2.ListOpenPeriodsRequest(student_id=child_id),
            lambda r: [period_json(p) for p in r.periods],
        ),
    ]
    out.append(
        (
            "invoices",
            "finance",
            "ListInvoices",
            finance_pb2.ListInvoicesRequest(student_id=child_id),
            unpaid_invoices_json,
        )
    )
    out.append(
        (
            "meetings",
            "meetings",
            "ListMyBookings",
            meetings_pb2.ListMyBookingsRequest(student_id=child_id),
            lambda r: [upcoming_booking_json(b) for b in r.bookings],
        )
    )
    return out


EMPTY = {
    "events": [],
    "documents": {"unread_count": 0, "latest": []},
    "wallets": [],
    "invoices": {"unpaid_count": 0, "unpaid_total_cents": 0},
    "order_periods": [],
    "meetings": [],
}


def assemble(child_id: str) -> dict[str, Any]:
    """Ask every service at once; whatever has not answered by the deadline is `unavailable`."""
    deadline = float(current_app.config["DASHBOARD_DEADLINE"])
    started = time.monotonic()
    calls = []
    for name, service, method, req, shape in panels(child_id):
        try:
            calls.append((name, rpc_future(service, method, req, timeout=deadline), shape))
        except Exception:  # a channel that cannot even start the call
            log.warning("dashboard panel could not start", extra={"panel": name})
            calls.append((name, None, shape))
    body: dict[str, Any] = dict(EMPTY)
    unavailable = []
    for name, fut, shape in calls:
        if fut is None:
            unavailable.append(name)
            continue
        remaining = max(0.0, deadline - (time.monotonic() - started))
        try:
            body[name] = shape(fut.result(timeout=remaining + 0.05))
        except (grpc.RpcError, grpc.FutureTimeoutError) as exc:
            fut.cancel()
            log.warning("dashboard panel unavailable", extra={"panel": name, "error": type(exc).__name__})
            unavailable.append(name)
    body["unavailable"] = sorted(unavailable)
    return body


@bp.get("/api/v1/dashboard")
def dashboard():
    sess, child_id = require_parent_child()
    child = next(c for c in sess.children if c.id == child_id)
    return jsonify(child=child_json(child), **assemble(child_id))


@bp.get("/api/v1/events")
def events():
    _sess, child_id = require_parent_child()
    resp = rpc(
        "notifications", "ListEvents", notifications_pb2.ListEventsRequest(student_id=child_id, limit=50)
    )
    return jsonify(items=[event_json(e) for e in resp.events], next_cursor=None)


@bp.post("/api/v1/admin/events")
def admin_events():
    require_staff()
    data = read_json()
    classes = data.get("class_names") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidRequest(
            "class_names must be a list of class names", fields={"class_names": "list of strings"}
        )
    resp = rpc(
        "notifications",
        "CreateEvent",
        notifications_pb2.CreateEventRequest(
            # The service checks every field at once and names each one that is wrong.
            title=field_str(data, "title", required=False, max_len=200),
            description=field_str(data, "description", required=False, max_len=5000),
            starts_at=field_str(data, "starts_at", required=False),
            ends_at=field_str(data, "ends_at", required=False),
            class_names=classes,
        ),
    )
    return jsonify(id=resp.id), 201


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
