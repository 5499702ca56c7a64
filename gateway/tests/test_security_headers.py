"""What the browser is told (issue #15, "Requests and headers"): a Content-Security-Policy on the pages
with no inline script or style left to allow, nosniff and same-origin referrers, HSTS outside local
runs, no-store on everything personal, and __Host- cookies outside local runs, where API.md allows it
(the session cookie keeps the name ``cartable_session`` the contract gives it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cartable.auth.v1 import auth_pb2
from gateway import create_app
from gateway.tests.conftest import SERVICES
from gateway.web import checkout_origins

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ONE_YEAR = 365 * 86400


def policy(resp) -> dict[str, list[str]]:
    header = resp.headers.get("Content-Security-Policy", "")
    assert header, "no Content-Security-Policy"
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_a_page_carries_the_content_security_policy(client):
    r = client.get("/connexion")
    assert r.status_code == 200
    csp = policy(r)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["form-action"][0] == "'self'"
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_an_error_page_carries_it_too(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert policy(r)["script-src"] == ["'self'"]


def test_the_api_answers_nosniff_and_no_store(client, fakes):
    r = client.get("/api/v1/children", headers=fakes.parent().bearer)
    assert r.status_code == 200
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"


def test_a_signed_in_page_is_not_stored(client, fakes):
    client.set_cookie("cartable_session", fakes.parent().token)
    r = client.get("/tableau-de-bord")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"


def test_a_staff_page_is_not_stored(client, fakes):
    client.set_cookie("cartable_session", fakes.staff().token)
    r = client.get("/gestion")
    assert r.status_code in (200, 302)
    assert r.headers["Cache-Control"] == "no-store"


def test_static_files_are_not_marked_no_store(client, fakes):
    client.set_cookie("cartable_session", fakes.parent().token)
    for name in ("app.css", "app.js", "finance.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert "no-store" not in r.headers.get("Cache-Control", "")
        r.close()


def test_no_hsts_in_a_local_run(client):
    assert "Strict-Transport-Security" not in client.get("/connexion").headers


def test_no_template_has_an_inline_script_style_or_event_handler():
    """The policy allows scripts and styles from gateway/static only: an inline one would be blocked."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"<[a-z][^>]*\son[a-z]+=",
            r"<[a-z][^>]*\sstyle=",
            r"javascript:",
        ):
            found += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


def test_forms_may_lead_to_the_payment_providers_checkout_only():
    assert checkout_origins("https://api.mollie.com", local=False) == [
        "https://www.mollie.com",
        "https://*.mollie.com",
    ]
    assert checkout_origins("https://psp.example.com:8443/v2", local=False) == [
        "https://psp.example.com:8443"
    ]
    assert checkout_origins("http://127.0.0.1:8010", local=True) == [
        "http://127.0.0.1:*",
        "http://localhost:*",
    ]


# -- outside local runs ------------------------------------------------------------------------------


@pytest.fixture
def production_client(fake_server, fakes, tmp_path, monkeypatch):
    server, _f = fake_server
    public_key = tmp_path / "identity.pub.pem"
    public_key.write_text("-----BEGIN PUBLIC KEY-----\n")
    monkeypatch.setenv("CARTABLE_ENV", "production")
    monkeypatch.setenv("CARTABLE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("IDENTITY_PUBLIC_KEY_FILE", str(public_key))
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "0123456789abcdef" * 4)
    monkeypatch.delenv("MOLLIE_API_URL", raising=False)
    app = create_app({"TESTING": True, "GRPC_TARGETS": {svc: f"127.0.0.1:{server.port}" for svc in SERVICES}})
    yield app.test_client()
    app.extensions["cartable_clients"].close()


def test_outside_local_runs_every_answer_asks_for_https_for_a_year_and_more(production_client):
    for path in ("/connexion", "/api/v1/openapi.json", "/static/app.css"):
        r = production_client.get(path, base_url="https://cartable.example")
        hsts = r.headers.get("Strict-Transport-Security", "")
        max_age = re.search(r"max-age=(\d+)", hsts)
        assert max_age, (path, hsts)
        assert int(max_age.group(1)) >= ONE_YEAR
        assert "includeSubDomains" in hsts
        r.close()


def test_outside_local_runs_the_pages_forms_may_go_to_mollies_checkout(production_client):
    csp = policy(production_client.get("/connexion", base_url="https://cartable.example"))
    assert csp["form-action"] == ["'self'", "https://www.mollie.com", "https://*.mollie.com"]


def test_outside_local_runs_the_csrf_cookie_is_a_host_cookie(production_client):
    r = production_client.get("/connexion", base_url="https://cartable.example")
    assert r.status_code == 200
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies, "the sign-in form sets its CSRF cookie"
    for cookie in cookies:
        name = cookie.split("=", 1)[0]
        assert name == "__Host-cartable_csrf", cookie
        attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "secure" in attrs
        assert "path=/" in attrs
        assert not any(a.startswith("domain=") for a in attrs)


def test_outside_local_runs_the_session_cookie_keeps_its_contract_name_with_host_attributes(
    production_client, fakes
):
    signed = fakes.parent()
    fakes.on("auth", "SignIn", auth_pb2.SignInResponse(session=signed.session))
    r = production_client.post(
        "/api/v1/session", json={"username": "u", "password": "p"}, base_url="https://cartable.example"
    )
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    (cookie,) = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("cartable_session=")]
    attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "secure" in attrs
    assert "httponly" in attrs
    assert "samesite=lax" in attrs
    assert "path=/" in attrs
    assert not any(a.startswith("domain=") for a in attrs)


def test_in_local_runs_the_csrf_cookie_keeps_a_plain_name(client):
    r = client.get("/connexion")
    assert [c.split("=", 1)[0] for c in r.headers.getlist("Set-Cookie")] == ["cartable_csrf"]
