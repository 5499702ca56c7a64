"""The parent dashboard: every service asked at once with one deadline (the API's and the page's)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from flask import current_app

from cartable.documents.v1 import documents_pb2
from cartable.finance.v1 import finance_pb2
from cartable.meetings.v1 import meetings_pb2
from cartable.notifications.v1 import notifications_pb2
from cartable.orders.v1 import orders_pb2
from gateway.clients import rpc_future
from gateway.shapes import (
    event_json,
    latest_documents_json,
    period_json,
    unpaid_invoices_json,
    upcoming_booking_json,
    wallet_json,
)

log = logging.getLogger("gateway.dashboard")


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
        # A panel that cannot even start its call (whatever the reason) is shown unavailable: one
        # panel never takes the dashboard down.
        except Exception:  # noqa: BLE001
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
