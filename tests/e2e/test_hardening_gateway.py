"""Issue #15's gateway holes, through the whole suite: an unsafe X-Request-Id, the pages' headers, the
provider's webhook's rate limit, /readyz's parts and 503 with Retry-After when a service is gone."""

from __future__ import annotations

import re

import pytest
import requests

from tests.factories import client_address_header, new_family, new_school

NEW_ID = re.compile(r"[0-9a-f]{32}")
PARTS = {
    *(
        f"{s}.{p}"
        for s in ("auth", "documents", "finance", "meetings", "notifications", "orders")
        for p in ("relay", "broker", "consume")  # every service consumes events (issue #21)
    ),
}


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


@pytest.fixture(scope="module")
def family(suite, staff):
    return new_family(suite, staff)


@pytest.mark.parametrize("sent", ["été".encode(), b"a\x01b", b"with spaces", b"x" * 101])
def test_an_unsafe_request_id_gets_a_new_one_and_the_call_still_reaches_auth(suite, sent):
    r = requests.post(
        suite.base_url + "/api/v1/password-reset",
        json={"email": "nobody@example.com"},
        headers={"X-Request-Id": sent, **client_address_header()},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    assert NEW_ID.fullmatch(r.headers["X-Request-Id"])


def test_a_safe_request_id_goes_through(suite):
    r = requests.post(
        suite.base_url + "/api/v1/password-reset",
        json={"email": "nobody@example.com"},
        headers={"X-Request-Id": "trace-42.a_b", **client_address_header()},
        timeout=30,
    )
    assert r.status_code == 202
    assert r.headers["X-Request-Id"] == "trace-42.a_b"


def test_pages_carry_the_policy_and_signed_in_pages_are_not_stored(suite, family):
    r = requests.get(suite.base_url + "/connexion", timeout=30)
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in r.headers  # a test run: plain HTTP

    http = requests.Session()
    signed = http.post(
        suite.base_url + "/api/v1/session",
        json={"username": family.username, "password": family.password},
        timeout=30,
    )
    assert signed.status_code == 200
    assert signed.headers["Cache-Control"] == "no-store"
    page = http.get(suite.base_url + "/tableau-de-bord", timeout=30)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    static = http.get(suite.base_url + "/static/app.js", timeout=30)
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_the_webhook_is_rate_limited_per_address_in_front_of_the_real_finance(suite):
    app = suite.make_app(WEBHOOK_RATE_LIMIT=(3, 60))
    try:
        client = app.test_client()
        for i in range(3):  # ids that are not ours: finance answers without asking the provider
            r = client.post("/webhooks/mollie", data={"id": f"tr_notours{i}"})
            assert r.status_code == 200
        r = client.post("/webhooks/mollie", data={"id": "tr_notours9"})
        assert r.status_code == 429
        assert r.get_json()["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        other = client.post(
            "/webhooks/mollie", data={"id": "tr_x"}, environ_base={"REMOTE_ADDR": "127.0.0.2"}
        )
        assert other.status_code == 200
    finally:
        app.extensions["cartable_clients"].close()


def test_readiness_names_every_part(suite):
    r = requests.get(suite.base_url + "/readyz", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] in ("ready", "degraded")
    assert set(body["parts"]) == PARTS
    assert set(body["parts"].values()) <= {"serving", "degraded", "unknown"}
    # the broker is up: every server that has evaluated its parts says so
    assert all(body["parts"][f"{s}.broker"] in ("serving", "unknown") for s in ("auth", "finance", "orders"))


def test_a_service_that_is_gone_is_503_with_retry_after_and_its_parts_unknown(suite, staff):
    suite.stop_service("meetings")
    try:
        r = requests.get(suite.base_url + "/readyz", timeout=10)
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "unavailable"
        assert body["services"]["meetings"] == "unavailable"
        assert body["parts"]["meetings.relay"] == body["parts"]["meetings.broker"] == "unknown"
        answer = staff.get("/admin/meetings", timeout=30)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "unavailable"
        assert int(answer.headers["Retry-After"]) >= 1
    finally:
        suite.start_service("meetings")
        suite.wait_ready()
