"""Sessions through the gateway: the cookie and the CSRF rule of API.md, sign-out, the lockout after
repeated failures (429 with Retry-After), and the client address passed to auth for throttling."""

from __future__ import annotations

import random
import re

import pytest
import requests
from flask import Flask

from gateway.web import client_address
from tests.factories import anonymous, new_family, new_school


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


@pytest.fixture(scope="module")
def family(suite, staff):
    return new_family(
        suite, staff, children=[{"first_name": "Emma"}, {"first_name": "Noah"}], select_first=False
    )


def cookie_session(suite, family) -> tuple[requests.Session, dict]:
    """A browser-like client: signed in through POST /session, authenticated by the cookie only."""
    http = requests.Session()
    resp = http.post(
        suite.base_url + "/api/v1/session",
        json={"username": family.username, "password": family.password},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert http.cookies.get("cartable_session") == resp.json()["session_token"]
    return http, resp.json()


def test_cookie_authenticated_put_needs_the_csrf_header(suite, family):
    http, session = cookie_session(suite, family)
    url = suite.base_url + "/api/v1/session/child"
    child = session["children"][0]["id"]
    refused = http.put(url, json={"child_id": child}, timeout=30)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = http.put(url, json={"child_id": child}, headers={"X-CSRF-Token": "forged"}, timeout=30)
    assert wrong.status_code == 403
    ok = http.put(url, json={"child_id": child}, headers={"X-CSRF-Token": session["csrf_token"]}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["active_child_id"] == child
    # reading needs no header
    assert http.get(suite.base_url + "/api/v1/children", timeout=30).status_code == 200


def test_bearer_calls_need_no_csrf_header(suite, family):
    resp = family.put("/session/child", json={"child_id": family.children[1]["id"]})
    assert resp.status_code == 200, resp.text


def test_cookie_sign_out_needs_the_csrf_header_and_clears_the_cookie(suite, family):
    http, session = cookie_session(suite, family)
    url = suite.base_url + "/api/v1/session"
    assert http.delete(url, timeout=30).status_code == 403
    out = http.delete(url, headers={"X-CSRF-Token": session["csrf_token"]}, timeout=30)
    assert out.status_code == 204
    assert "cartable_session" not in http.cookies
    gone = anonymous(suite).get("/children", headers={"Authorization": f"Bearer {session['session_token']}"})
    assert gone.status_code == 401


def test_signing_out_twice_or_without_a_session_is_204(suite):
    assert anonymous(suite).delete("/session").status_code == 204
    assert anonymous(suite).delete("/session", headers={"Authorization": "Bearer nothing"}).status_code == 204


def test_without_a_session_the_api_answers_401(suite):
    for method, path in [("GET", "/children"), ("PUT", "/session/child"), ("PUT", "/password")]:
        resp = anonymous(suite).request(method, path, json={})
        assert resp.status_code == 401, (method, path)
        assert resp.json()["error"]["code"] == "unauthenticated"


def test_a_staff_session_has_no_children(suite, staff):
    assert staff.session["account"]["role"] == "staff"
    assert staff.session["children"] == []
    assert staff.session["active_child_id"] is None


# -- lockout -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(suite):
    """The gateway behind a trusted proxy, in-process: each test uses its own client address in
    X-Forwarded-For, so the failures here do not count against 127.0.0.1 (every other test's)."""
    app = suite.make_app(TRUSTED_PROXIES="127.0.0.1/32")
    return app.test_client()


def address() -> str:
    return f"198.51.100.{random.randint(1, 254)}"  # TEST-NET-2, only needs to differ


def test_repeated_failures_lock_the_account_with_429_and_retry_after(suite, staff, proxied):
    family = new_family(suite, staff)
    headers = {"X-Forwarded-For": address()}
    body = {"username": family.username, "password": "not the password"}
    statuses = []
    for _ in range(8):
        resp = proxied.post("/api/v1/session", json=body, headers=headers)
        statuses.append(resp.status_code)
        if resp.status_code == 429:
            break
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 15 * 60
    # locked: even the right password is refused for a while, from another address too
    right = {"username": family.username, "password": family.password}
    refused = proxied.post("/api/v1/session", json=right, headers={"X-Forwarded-For": address()})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    # the parent's other ways in are untouched: the existing session still works
    assert family.get("/children").status_code == 200


def test_the_sign_in_page_tells_about_the_lockout(suite, staff, proxied):
    family = new_family(suite, staff)
    app = suite.make_app(TRUSTED_PROXIES="127.0.0.1/32", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    headers = {"X-Forwarded-For": address()}
    for _ in range(8):
        resp = client.post(
            "/connexion", data={"username": family.username, "password": "nope nope"}, headers=headers
        )
        if resp.status_code == 429:
            break
    assert resp.status_code == 429
    assert resp.headers["Retry-After"]
    page = resp.get_data(as_text=True)
    assert "Trop de tentatives" in page
    assert 'role="alert"' in page


# -- the client address ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (None, "10.0.0.5", "203.0.113.9", "10.0.0.5"),  # no trusted proxy: the header is ignored
        ("10.0.0.0/8", "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.0/8", "10.0.0.5", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client forged the first
        ("10.0.0.0/8", "10.0.0.5", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # two proxies of ours
        ("10.0.0.0/8", "192.0.2.7", "203.0.113.9", "192.0.2.7"),  # not from our proxy: ignored
        ("10.0.0.0/8", "10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.0/8", "10.0.0.5", "garbage", "10.0.0.5"),
        (1, "10.0.0.5", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # one hop
        (2, "10.0.0.5", "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (["10.0.0.5", "2001:db8::/32"], "2001:db8::1", "203.0.113.9", "203.0.113.9"),
    ],
)
def test_client_address_honours_x_forwarded_for_only_from_trusted_proxies(
    trusted, remote, forwarded, expected
):
    app = Flask(__name__)
    app.config["TRUSTED_PROXIES"] = trusted
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == expected


# -- the pages share the cookie ----------------------------------------------------------------------


def page_sign_in(suite, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    form = http.get(suite.base_url + "/connexion", timeout=30).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found, "the sign-in page has no CSRF token"
    csrf = found.group(1)
    resp = http.post(
        suite.base_url + "/connexion",
        data={"csrf_token": csrf, "username": username, "password": password},
        timeout=30,
        allow_redirects=False,
    )
    return http, resp


def test_staff_signing_in_on_the_page_land_on_their_home(suite, staff):
    http, resp = page_sign_in(suite, staff.username, staff.password)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/gestion")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("cartable_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # a parent's page sends staff to their own
    parent_page = http.get(suite.base_url + "/tableau-de-bord", timeout=30, allow_redirects=False)
    assert parent_page.status_code == 302
    assert parent_page.headers["Location"].endswith("/gestion")


def test_the_page_cookie_works_for_the_api_with_its_csrf_header(suite, family):
    http, resp = page_sign_in(suite, family.username, family.password)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/enfants")  # two children: the choice
    assert http.get(suite.base_url + "/api/v1/children", timeout=30).status_code == 200
    put = http.put(
        suite.base_url + "/api/v1/session/child", json={"child_id": family.children[0]["id"]}, timeout=30
    )
    assert put.status_code == 403  # the cookie alone cannot change anything through the API


def test_a_form_without_its_csrf_token_is_refused(suite, family):
    resp = requests.post(
        suite.base_url + "/connexion",
        data={"username": family.username, "password": family.password},
        timeout=30,
        allow_redirects=False,
    )
    assert resp.status_code == 400
    assert "cartable_session" not in resp.headers.get("Set-Cookie", "")
