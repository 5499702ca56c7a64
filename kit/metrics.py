"""What every process exposes on its metrics port: Prometheus metrics (requests, latency, errors, outbox
backlog, queue lag, broker connection) on ``/metrics``, and for the loops without a gRPC server (relays,
consumers) their own probes: ``/livez`` (the loop still goes round: its heartbeat is fresh) and
``/readyz`` (the broker answers)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

RPC_REQUESTS = Counter("cartable_rpc_requests_total", "gRPC calls served", ["service", "method", "code"])
RPC_LATENCY = Histogram(
    "cartable_rpc_latency_seconds",
    "gRPC call latency",
    ["service", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_BACKLOG = Gauge("cartable_outbox_backlog", "Outbox events not yet published", ["service"])
EVENTS_HANDLED = Counter(
    "cartable_events_handled_total", "Events consumed", ["service", "event_name", "outcome"]
)
QUEUE_LAG = Gauge("cartable_event_lag_seconds", "Age of the last consumed event when handled", ["service"])
BROKER_CONNECTED = Gauge(
    "cartable_broker_connected",
    "1 while the relay or consumer holds a broker connection",
    ["service", "loop"],
)
HTTP_REQUESTS = Counter("cartable_http_requests_total", "Gateway HTTP requests", ["endpoint", "status"])
HTTP_LATENCY = Histogram(
    "cartable_http_latency_seconds",
    "Gateway HTTP latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# A probe answers whether it passes, and what to show (a JSON object).
Probe = Callable[[], tuple[bool, dict[str, Any]]]


class Heartbeat:
    """When a loop last went round. Stale (older than ``max_age`` seconds) means the loop is stuck
    (a hung socket, a deadlock): its liveness probe fails and Kubernetes restarts the process. A loop
    that waits for a broker that is down still goes round, so it stays fresh: restarting it would not
    bring the broker back."""

    def __init__(self, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        return max(0.0, self._clock() - self._last)

    def fresh(self) -> bool:
        return self.age() <= self.max_age

    def probe(self) -> tuple[bool, dict[str, Any]]:
        age = self.age()
        return age <= self.max_age, {"heartbeat_age_seconds": round(age, 3), "max_age_seconds": self.max_age}


def _handler(
    live: Probe | None, ready: Probe | None, registry: CollectorRegistry = REGISTRY
) -> type[BaseHTTPRequestHandler]:
    probes = {"/livez": live, "/readyz": ready}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                return
            probe = probes.get(path)
            if probe is None:
                self._answer(404, b'{"status": "not_found"}', "application/json")
                return
            try:
                ok, detail = probe()
            except Exception as exc:  # noqa: BLE001 - a probe that fails to answer fails
                ok, detail = False, {"error": repr(exc)}
            body = {"status": "ok" if ok else "failing", **detail}
            self._answer(200 if ok else 503, json.dumps(body).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # probes every few seconds: not worth a log line each

    return Handler


def serve_probes(
    port: int,
    *,
    live: Probe | None = None,
    ready: Probe | None = None,
    host: str = "0.0.0.0",
    registry: CollectorRegistry = REGISTRY,
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` (of ``registry``: this process's, or e.g. a ``MultiProcessCollector``'s for
    the gunicorn master), ``/livez`` and ``/readyz`` on ``port`` (0 picks a free one) in a daemon
    thread; a path whose probe is not given answers 404."""
    server = ThreadingHTTPServer((host, port), _handler(live, ready, registry))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server


def start_metrics_server(
    port: int,
    *,
    live: Probe | None = None,
    ready: Probe | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> ThreadingHTTPServer | None:
    """Serve /metrics of ``registry`` (and the probes given) on ``port``; 0 = disabled."""
    if not port:
        return None
    return serve_probes(port, live=live, ready=ready, registry=registry)
