"""Prometheus metrics every process exposes (requests, latency, errors, outbox backlog, queue lag)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
HTTP_REQUESTS = Counter("cartable_http_requests_total", "Gateway HTTP requests", ["endpoint", "status"])
HTTP_LATENCY = Histogram(
    "cartable_http_latency_seconds",
    "Gateway HTTP latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def start_metrics_server(port: int) -> None:
    """Serve /metrics on ``port`` (0 = disabled)."""
    if port:
        start_http_server(port)
