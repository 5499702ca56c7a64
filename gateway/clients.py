"""gRPC clients of every service, created per worker process (after gunicorn forks), with deadlines."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import grpc
from flask import current_app, g
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cartable.auth.v1 import auth_pb2_grpc
from cartable.documents.v1 import documents_pb2_grpc, statements_pb2_grpc
from cartable.finance.v1 import (
    exports_pb2_grpc,
    finance_pb2_grpc,
    max_bill_pb2_grpc,
    periodic_statements_pb2_grpc,
    sepa_pb2_grpc,
    tax_certificates_pb2_grpc,
    till_pb2_grpc,
)
from cartable.meetings.v1 import meetings_pb2_grpc
from cartable.notifications.v1 import notifications_pb2_grpc
from cartable.orders.v1 import orders_pb2_grpc
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.errors import from_rpc_error
from kit.grpcserver import MAX_MESSAGE_BYTES

STUBS = {
    "auth": auth_pb2_grpc.AuthServiceStub,
    "documents": documents_pb2_grpc.DocumentsServiceStub,
    "finance": finance_pb2_grpc.FinanceServiceStub,
    "orders": orders_pb2_grpc.OrdersServiceStub,
    "notifications": notifications_pb2_grpc.NotificationsServiceStub,
    "meetings": meetings_pb2_grpc.MeetingsServiceStub,
}
# Services a server serves beside its main one, reached on that server's channel: name -> (server, stub).
BESIDE = {
    "till": ("finance", till_pb2_grpc.TillServiceStub),
    "exports": ("finance", exports_pb2_grpc.ExportsServiceStub),
    "direct_debits": ("finance", sepa_pb2_grpc.DirectDebitServiceStub),
    "refunds": ("finance", sepa_pb2_grpc.RefundServiceStub),
    "periodic_statements": ("finance", periodic_statements_pb2_grpc.PeriodicStatementServiceStub),
    "statement_documents": ("documents", statements_pb2_grpc.StatementDocumentsServiceStub),
    "tax_certificates": ("finance", tax_certificates_pb2_grpc.TaxCertificateServiceStub),
    "max_bill": ("finance", max_bill_pb2_grpc.MaxBillServiceStub),
    "data_exports": ("documents", privacy_pb2_grpc.DataExportServiceStub),
    # every service answers for its own part of a family's data (issue #21)
    **{f"family_data.{svc}": (svc, privacy_pb2_grpc.FamilyDataServiceStub) for svc in STUBS},
}

# round_robin spreads calls over every address a name resolves to (several finance pods behind a
# headless Service); keepalive notices dead pods quickly.
CHANNEL_OPTIONS = [
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.keepalive_time_ms", 30000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.enable_retries", 1),
    # A service that was down when a worker first called it must be found again within seconds,
    # not after gRPC's default backoff (up to two minutes) of failing every call at once.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


class Clients:
    """Lazily opened channels, re-opened in a process that was forked after they were made."""

    def __init__(self, targets: Mapping[str, str], default_timeout: float = 3.0) -> None:
        self.targets = dict(targets)
        self.default_timeout = default_timeout
        self._pid = -1
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, object] = {}
        self._lock = threading.Lock()

    def _check_pid(self) -> None:
        pid = os.getpid()
        if pid != self._pid:
            self._channels, self._stubs, self._pid = {}, {}, pid

    def channel(self, service: str) -> grpc.Channel:
        with self._lock:
            self._check_pid()
            if service not in self._channels:
                self._channels[service] = grpc.insecure_channel(
                    self.targets[service], options=CHANNEL_OPTIONS
                )
            return self._channels[service]

    def stub(self, service: str):
        """``service``'s stub: one of STUBS, or one of BESIDE on its server's channel."""
        server, make = BESIDE[service] if service in BESIDE else (service, STUBS[service])
        ch = self.channel(server)
        with self._lock:
            if service not in self._stubs:
                self._stubs[service] = make(ch)
            return self._stubs[service]

    def health(self, service: str, timeout: float = 1.0) -> bool:
        """Whether ``service`` is ready: its health name ``""`` (its database) answers SERVING."""
        return self.health_status(service, "", timeout) == "serving"

    def health_status(self, service: str, name: str = "", timeout: float = 1.0) -> str:
        """``service``'s gRPC health for ``name`` (``""``, or a part: ``finance.relay``, ...):
        ``serving``, ``not_serving``, or ``unknown`` when the name is not published (NOT_FOUND: a
        part not evaluated yet, a server without it) or the service does not answer in time."""
        try:
            resp = health_pb2_grpc.HealthStub(self.channel(service)).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=name), timeout=timeout
            )
        except grpc.RpcError:
            return "unknown"
        if resp.status == health_pb2.HealthCheckResponse.SERVING:
            return "serving"
        if resp.status == health_pb2.HealthCheckResponse.NOT_SERVING:
            return "not_serving"
        return "unknown"

    def close(self) -> None:
        with self._lock:
            for ch in self._channels.values():
                ch.close()
            self._channels, self._stubs = {}, {}


def clients() -> Clients:
    return current_app.extensions["cartable_clients"]


def metadata(identity_token: str | None) -> list[tuple[str, str]]:
    md = [("x-request-id", g.get("request_id", ""))]
    if identity_token:
        md.append(("authorization", f"Bearer {identity_token}"))
    return md


def rpc(
    service: str, method: str, request, *, identity: str | bool | None = True, timeout: float | None = None
):
    """Call ``service.method`` with the current caller's identity token and a deadline.

    ``identity=True`` uses the signed-in caller's token; a string uses that token; False/None sends none.
    A failed call raises the service's AppError (UNAVAILABLE / deadline -> 503 ``unavailable``).
    """
    if identity is True:
        sess = g.get("session")
        identity = sess.identity_token if sess is not None else None
    fn = getattr(clients().stub(service), method)
    try:
        # wait_for_ready: a call made while the channel reconnects waits (within its deadline)
        # instead of failing at once.
        return fn(
            request,
            metadata=metadata(identity or None),
            timeout=timeout or clients().default_timeout,
            wait_for_ready=True,
        )
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None


def rpc_future(service: str, method: str, request, *, timeout: float):
    """Start a call without waiting (for the dashboard's parallel fan-out)."""
    sess = g.get("session")
    fn = getattr(clients().stub(service), method)
    return fn.future(
        request,
        metadata=metadata(sess.identity_token if sess else None),
        timeout=timeout,
        wait_for_ready=True,
    )
