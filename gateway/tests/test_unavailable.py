"""A service that cannot answer (gRPC UNAVAILABLE, or no answer before the deadline) is 503
``unavailable`` with Retry-After for the caller (API.md), on the API, the pages and the provider's
webhook; the Retry-After a service sent itself (a busy auth) is kept."""

from __future__ import annotations

import socket
import threading

import pytest
import sqlalchemy.exc

from cartable.finance.v1 import finance_pb2
from gateway import create_app
from gateway.tests.conftest import SERVICES
from gateway.web import RETRY_AFTER_UNAVAILABLE
from kit.errors import Unavailable


def unavailable(_req):
    raise Unavailable("the database is restarting")


def test_a_service_answering_unavailable_is_503_with_retry_after(client, fakes):
    fakes.on("finance", "ListWallets", unavailable)
    r = client.get("/api/v1/wallets", headers=fakes.parent().bearer)
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)


def test_the_services_own_retry_after_is_kept(client, fakes):
    def busy(_req):
        raise Unavailable("too many sign-ins at once", retry_after=7)

    fakes.on("auth", "SignIn", busy)
    r = client.post("/api/v1/session", json={"username": "u", "password": "p"})
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == "7"


def test_a_page_whose_service_is_unavailable_is_503_with_retry_after(client, fakes):
    fakes.on("finance", "ListWallets", unavailable)
    client.set_cookie("cartable_session", fakes.parent().token)
    r = client.get("/soldes")
    assert r.status_code == 503
    assert r.mimetype == "text/html"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)


def test_the_webhook_asks_the_provider_to_come_back(client, fakes):
    fakes.on("finance", "HandlePaymentWebhook", unavailable)
    r = client.post("/webhooks/mollie", data={"id": "tr_1"})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)


@pytest.fixture
def quick(fake_server):
    """A gateway with a 0.3 s deadline, and finance's target a port where nothing listens."""
    server, _f = fake_server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nothing = s.getsockname()[1]

    def make(**targets):
        return create_app(
            {
                "TESTING": True,
                "SECURE_COOKIES": False,
                "GRPC_TIMEOUT": 0.3,
                "GRPC_TARGETS": {
                    **{svc: f"127.0.0.1:{server.port}" for svc in SERVICES},
                    **{svc: f"127.0.0.1:{nothing}" for svc in targets.get("down", ())},
                },
            }
        )

    apps = []
    yield lambda **kw: apps.append(make(**kw)) or apps[-1].test_client()
    for app in apps:
        app.extensions["cartable_clients"].close()


def test_a_deadline_exceeded_is_503_with_retry_after(quick, fakes):
    release = threading.Event()

    def slow(_req):
        release.wait(3)
        return finance_pb2.ListWalletsResponse()

    fakes.on("finance", "ListWallets", slow)
    try:
        r = quick().get("/api/v1/wallets", headers=fakes.parent().bearer)
    finally:
        release.set()
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)


def test_a_service_that_is_gone_is_503_with_retry_after(quick, fakes):
    r = quick(down=("finance",)).get("/api/v1/wallets", headers=fakes.parent().bearer)
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)


def test_a_database_refusing_connections_inside_a_service_is_503(client, fakes):
    def too_many_clients(_req):
        raise sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, Exception("FATAL:  sorry, too many clients already")
        )

    fakes.on("finance", "ListWallets", too_many_clients)
    r = client.get("/api/v1/wallets", headers=fakes.parent().bearer)
    assert r.status_code == 503
    assert r.headers["Retry-After"]
