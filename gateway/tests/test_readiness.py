"""/readyz says which part is degraded (issue #15): readiness (200/503) follows each service's gRPC health
``""`` (its database) as before; beside it ``parts`` reports each relay, broker and consumer by its
health name: ``serving``, ``degraded`` (NOT_SERVING: status ``degraded``, still 200), or ``unknown``
(not published, or no answer within about a second: not a failure)."""

from __future__ import annotations

import socket
import threading
import time
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway import create_app
from gateway.api.core import PARTS, SERVICES
from gateway.clients import Clients

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ALL_PARTS = {
    *(f"{s}.relay" for s in SERVICES),
    *(f"{s}.broker" for s in SERVICES),
    *(f"{s}.consume" for s in SERVICES),  # every service consumes events (issue #21)
}


class ControlledHealth(health.HealthServicer):
    """grpc_health's service, with names answered late (``slow``: until released, 5 s at most) or
    answered NOT_FOUND as a name never published is (``hidden``)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow: set[str] = set()
        self.hidden: set[str] = set()
        self.release = threading.Event()

    def Check(self, request, context):
        if request.service in self.slow:
            self.release.wait(5)
        if request.service in self.hidden:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return super().Check(request, context)


@pytest.fixture(scope="module")
def health_servers():
    """One gRPC server per service carrying only the health service; every name SERVING to begin."""
    out = {}
    for svc in SERVICES:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        servicer = ControlledHealth()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        out[svc] = (server, servicer, port)
    yield out
    for server, _servicer, _port in out.values():
        server.stop(0)


@pytest.fixture
def servicers(health_servers):
    """Each service's health servicer, reset: "" and every part of it SERVING."""
    out = {}
    for svc, (_server, servicer, _port) in health_servers.items():
        servicer.slow.clear()
        servicer.hidden.clear()
        servicer.release.clear()
        servicer.set("", SERVING)
        for part in PARTS:
            if part.startswith(f"{svc}."):
                servicer.set(part, SERVING)
        out[svc] = servicer
    yield out
    for servicer in out.values():
        servicer.release.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def readyz(health_servers, servicers):
    targets = {svc: f"127.0.0.1:{port}" for svc, (_s, _h, port) in health_servers.items()}
    apps = []

    def get(down: tuple[str, ...] = ()):
        app = create_app(
            {
                "TESTING": True,
                "SECURE_COOKIES": False,
                "GRPC_TARGETS": {**targets, **{svc: f"127.0.0.1:{free_port()}" for svc in down}},
            }
        )
        apps.append(app)
        return app.test_client().get("/readyz")

    yield get
    for app in apps:
        app.extensions["cartable_clients"].close()


def test_every_part_serving_is_ready(readyz):
    r = readyz()
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["services"] == {s: "serving" for s in SERVICES}
    assert body["parts"] == dict.fromkeys(sorted(ALL_PARTS), "serving")


def test_a_relay_behind_is_degraded_but_still_ready(readyz, servicers):
    servicers["finance"].set("finance.relay", NOT_SERVING)
    servicers["notifications"].set("notifications.consume", NOT_SERVING)
    r = readyz()
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "degraded"
    assert body["services"] == {s: "serving" for s in SERVICES}
    assert body["parts"]["finance.relay"] == "degraded"
    assert body["parts"]["notifications.consume"] == "degraded"
    assert body["parts"]["finance.broker"] == "serving"


def test_the_broker_down_everywhere_leaves_every_service_ready(readyz, servicers):
    for svc in SERVICES:
        servicers[svc].set(f"{svc}.broker", NOT_SERVING)
    r = readyz()
    assert r.status_code == 200
    assert r.get_json()["status"] == "degraded"
    assert all(r.get_json()["parts"][f"{svc}.broker"] == "degraded" for svc in SERVICES)


def test_a_part_not_published_is_unknown_not_a_failure(readyz, servicers):
    servicers["documents"].hidden.add("documents.consume")
    r = readyz()
    assert r.status_code == 200
    assert r.get_json()["status"] == "ready"
    assert r.get_json()["parts"]["documents.consume"] == "unknown"


def test_a_part_that_does_not_answer_in_time_is_unknown_and_the_checks_run_at_once(readyz, servicers):
    for svc in ("auth", "finance", "orders"):
        servicers[svc].slow.add(f"{svc}.relay")
    started = time.monotonic()
    r = readyz()
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    parts = r.get_json()["parts"]
    assert parts["auth.relay"] == parts["finance.relay"] == parts["orders.relay"] == "unknown"
    assert parts["meetings.relay"] == "serving"
    assert elapsed < 2.5  # three 1 s timeouts, in parallel


def test_a_service_whose_database_is_down_makes_the_gateway_unavailable(readyz, servicers):
    servicers["orders"].set("", NOT_SERVING)
    r = readyz()
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert body["services"]["orders"] == "unavailable"
    assert body["services"]["finance"] == "serving"
    assert body["parts"]["orders.relay"] == "serving"


def test_a_service_that_is_gone_is_unavailable_and_its_parts_unknown(readyz):
    r = readyz(down=("documents",))
    assert r.status_code == 503
    body = r.get_json()
    assert body["services"]["documents"] == "unavailable"
    assert body["parts"]["documents.relay"] == body["parts"]["documents.consume"] == "unknown"
    assert body["parts"]["finance.relay"] == "serving"


def test_health_status_answers_serving_not_serving_or_unknown(health_servers, servicers):
    port = health_servers["finance"][2]
    c = Clients({"finance": f"127.0.0.1:{port}"})
    try:
        servicers["finance"].set("finance.relay", NOT_SERVING)
        assert c.health_status("finance", "") == "serving"
        assert c.health_status("finance", "finance.relay") == "not_serving"
        assert c.health_status("finance", "finance.nothing") == "unknown"
        assert c.health("finance") is True
        servicers["finance"].set("", NOT_SERVING)
        assert c.health("finance") is False
    finally:
        c.close()
