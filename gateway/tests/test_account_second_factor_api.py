"""The second factor through the JSON API, in-process against a fake auth: ``otp`` passed on at sign-in
and first connection, auth's codes passed through as API.md says, a session still to set its factor
up refused everywhere but the set-up, and the set-up, confirmation and turning off."""

from __future__ import annotations

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from gateway.tests.conftest import PUBLIC, SERVICES, Fakes, _fake_servicer
from kit.errors import Conflict, Forbidden, InvalidRequest, RateLimited, Unauthenticated
from kit.grpcserver import Registration, build_server
from kit.testing import Keys

# auth serves the set-up with the session token alone (services/auth/app.py PUBLIC_METHODS)
SETUP_PUBLIC = PUBLIC | {
    f"/cartable.auth.v1.AuthService/{m}"
    for m in ("BeginSecondFactorSetup", "ConfirmSecondFactorSetup", "DisableSecondFactor")
}


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory):
    """conftest's fake services, with auth's set-up methods public as auth declares them."""
    fakes = Fakes(Keys(tmp_path_factory.mktemp("keys")))
    regs = [
        Registration(
            getattr(pb2_grpc, f"add_{name}Servicer_to_server"),
            _fake_servicer(fakes, service),
            pb2.DESCRIPTOR.services_by_name[name].full_name,
        )
        for service, (pb2, pb2_grpc, name) in SERVICES.items()
    ]
    server = build_server("fakes", "127.0.0.1:0", regs, fakes.keys.verifier, public_methods=SETUP_PUBLIC)
    yield server, fakes
    server.stop(0)


def setup_required(fakes):
    """A staff session of a school requiring a second factor, without one: no identity token."""
    signed = fakes.staff()
    signed.session.second_factor_setup_required = True
    signed.session.identity_token = ""
    return signed


def _session_of(signed):
    return lambda _req: pb.SignInResponse(session=signed.session)


def test_sign_in_passes_otp_and_answers_the_session(client, fakes):
    staff = fakes.staff()
    fakes.on("auth", "SignIn", _session_of(staff))
    resp = client.post("/api/v1/session", json={"username": "claire", "password": "pw", "otp": " 123456 "})
    assert resp.status_code == 200
    assert resp.get_json()["session_token"] == staff.token
    assert fakes.requests("auth", "SignIn")[0].otp == "123456"


def test_sign_in_without_otp_sends_none(client, fakes):
    fakes.on("auth", "SignIn", _session_of(fakes.staff()))
    assert client.post("/api/v1/session", json={"username": "claire", "password": "pw"}).status_code == 200
    assert fakes.requests("auth", "SignIn")[0].otp == ""


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Unauthenticated("enter the code", code="second_factor_required"), 401, "second_factor_required"),
        (Unauthenticated("this code is not right", code="invalid_otp"), 401, "invalid_otp"),
        (Forbidden("disabled", code="account_disabled"), 403, "account_disabled"),
        (RateLimited("later", code="rate_limited", retry_after=120), 429, "rate_limited"),
    ],
)
def test_sign_in_refusals_pass_through(client, fakes, error, status, code):
    def refuse(_req):
        raise error

    fakes.on("auth", "SignIn", refuse)
    resp = client.post("/api/v1/session", json={"username": "claire", "password": "pw"})
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    assert "cartable_session" not in resp.headers.get("Set-Cookie", "")
    if status == 429:
        assert resp.headers["Retry-After"] == "120"


def test_activation_passes_otp_and_its_refusals(client, fakes):
    parent = fakes.parent()
    answers = [Unauthenticated("code", code="second_factor_required"), None]

    def activate(req):
        err = answers.pop(0)
        if err:
            raise err
        return pb.ActivateResponse(session=parent.session)

    fakes.on("auth", "Activate", activate)
    body = {"token": "T", "password": "pw pw pw pw", "password_confirm": "pw pw pw pw"}
    first = client.post("/api/v1/activation", json=body)
    assert first.status_code == 401 and first.get_json()["error"]["code"] == "second_factor_required"
    again = client.post("/api/v1/activation", json={**body, "otp": "654321"})
    assert again.status_code == 200
    assert [r.otp for r in fakes.requests("auth", "Activate")] == ["", "654321"]


def test_an_otp_that_is_not_a_string_or_too_long_is_400(client, fakes):
    for otp in (123456, "1" * 65):
        resp = client.post("/api/v1/session", json={"username": "u", "password": "p", "otp": otp})
        assert resp.status_code == 400 and "otp" in resp.get_json()["error"]["fields"]
    assert fakes.requests("auth", "SignIn") == []


def test_a_session_still_to_set_up_is_refused_everywhere_but_the_set_up(client, fakes):
    signed = setup_required(fakes)
    for method, path in [
        ("get", "/api/v1/admin/parents"),
        ("get", "/api/v1/admin/staff"),
        ("get", "/api/v1/wallets"),
        ("post", "/api/v1/admin/students"),
        ("get", "/api/v1/children"),
    ]:
        resp = getattr(client, method)(path, headers=signed.bearer, json={})
        assert resp.status_code == 403, path
        assert resp.get_json()["error"]["code"] == "second_factor_setup_required"
    assert fakes.requests("auth", "ListParents") == [] and fakes.requests("auth", "CreateStudent") == []

    state = client.get("/api/v1/second-factor", headers=signed.bearer)
    assert state.get_json() == {"enabled": False, "setup_required": True}
    fakes.on("auth", "SignOut", pb.SignOutResponse())
    assert client.delete("/api/v1/session", headers=signed.bearer).status_code == 204


def test_a_cookie_session_still_to_set_up_is_refused_too(client, fakes):
    signed = setup_required(fakes)
    client.set_cookie("cartable_session", signed.token)
    resp = client.get("/api/v1/admin/staff")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "second_factor_setup_required"


def test_set_up_confirm_and_recovery_codes(client, fakes):
    signed = setup_required(fakes)
    uri = "otpauth://totp/Cartable:claire?secret=JBSWY3DPEHPK3PXP&issuer=Cartable"
    fakes.on(
        "auth",
        "BeginSecondFactorSetup",
        pb.BeginSecondFactorSetupResponse(secret="JBSWY3DPEHPK3PXP", provisioning_uri=uri),
    )
    begun = client.post("/api/v1/second-factor/setup", headers=signed.bearer)
    assert begun.status_code == 201
    assert begun.get_json() == {"secret": "JBSWY3DPEHPK3PXP", "provisioning_uri": uri}
    assert fakes.requests("auth", "BeginSecondFactorSetup")[0].session_token == signed.token

    refreshed = pb.Session()
    refreshed.CopyFrom(signed.session)
    refreshed.second_factor_setup_required = False
    refreshed.account.second_factor_enabled = True
    codes = [f"AAAA-BBBB-CCCC-{i:04d}" for i in range(10)]

    def confirm(req):
        if req.code != "123456":
            raise InvalidRequest("wrong", code="invalid_otp", fields={"code": "incorrect"})
        return pb.ConfirmSecondFactorSetupResponse(recovery_codes=codes, session=refreshed)

    fakes.on("auth", "ConfirmSecondFactorSetup", confirm)
    wrong = client.post("/api/v1/second-factor/confirm", headers=signed.bearer, json={"code": "000000"})
    assert wrong.status_code == 400
    assert wrong.get_json()["error"] == {
        "code": "invalid_otp",
        "message": "wrong",
        "fields": {"code": "incorrect"},
    }
    missing = client.post("/api/v1/second-factor/confirm", headers=signed.bearer, json={})
    assert missing.status_code == 400 and "code" in missing.get_json()["error"]["fields"]

    done = client.post("/api/v1/second-factor/confirm", headers=signed.bearer, json={"code": "123456"})
    assert done.status_code == 200
    body = done.get_json()
    assert body["recovery_codes"] == codes
    assert body["session"]["session_token"] == signed.token
    assert "cartable_session=" in done.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Conflict("set up already", code="second_factor_enabled"), 409, "second_factor_enabled"),
        (Unauthenticated("no such session"), 401, "unauthenticated"),
    ],
)
def test_set_up_refusals_pass_through(client, fakes, error, status, code):
    signed = fakes.staff()

    def refuse(_req):
        raise error

    fakes.on("auth", "BeginSecondFactorSetup", refuse)
    resp = client.post("/api/v1/second-factor/setup", headers=signed.bearer)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code


def test_confirm_without_a_set_up_is_409(client, fakes):
    signed = fakes.staff()

    def refuse(_req):
        raise Conflict("begin first", code="no_setup_pending")

    fakes.on("auth", "ConfirmSecondFactorSetup", refuse)
    resp = client.post("/api/v1/second-factor/confirm", headers=signed.bearer, json={"code": "123456"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "no_setup_pending"


def test_turning_off_with_a_code_or_the_password(client, fakes):
    signed = fakes.parent()
    seen = []

    def disable(req):
        seen.append((req.otp, req.password, req.session_token))
        if req.otp == "000000":
            raise InvalidRequest("wrong", code="invalid_otp", fields={"otp": "incorrect"})
        if req.password == "wrong":
            raise InvalidRequest("wrong", code="invalid_credentials", fields={"password": "incorrect"})
        return pb.DisableSecondFactorResponse(session=signed.session)

    fakes.on("auth", "DisableSecondFactor", disable)
    url = "/api/v1/second-factor/disable"
    assert client.post(url, headers=signed.bearer, json={"otp": "123456"}).status_code == 200
    assert client.post(url, headers=signed.bearer, json={"password": "my pass phrase "}).status_code == 200
    bad_otp = client.post(url, headers=signed.bearer, json={"otp": "000000"})
    assert bad_otp.status_code == 400 and bad_otp.get_json()["error"]["fields"] == {"otp": "incorrect"}
    bad_pw = client.post(url, headers=signed.bearer, json={"password": "wrong"})
    assert bad_pw.status_code == 400 and bad_pw.get_json()["error"]["code"] == "invalid_credentials"
    neither = client.post(url, headers=signed.bearer, json={})
    assert neither.status_code == 400 and set(neither.get_json()["error"]["fields"]) == {"otp", "password"}
    assert seen == [
        ("123456", "", signed.token),
        ("", "my pass phrase ", signed.token),  # a password is never stripped
        ("000000", "", signed.token),
        ("", "wrong", signed.token),
    ]


def test_turning_off_needs_the_csrf_header_with_a_cookie(client, fakes):
    signed = fakes.parent()
    fakes.on("auth", "DisableSecondFactor", pb.DisableSecondFactorResponse(session=signed.session))
    client.set_cookie("cartable_session", signed.token)
    resp = client.post("/api/v1/second-factor/disable", json={"otp": "123456"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    assert fakes.requests("auth", "DisableSecondFactor") == []


def test_the_school_security_settings(client, fakes):
    staff = fakes.staff()
    fakes.on("auth", "GetSecuritySettings", pb.SecuritySettings(staff_without_second_factor=3))
    fakes.on(
        "auth",
        "UpdateSecuritySettings",
        lambda req: pb.SecuritySettings(
            require_second_factor=req.require_second_factor, staff_without_second_factor=3
        ),
    )
    got = client.get("/api/v1/admin/security-settings", headers=staff.bearer)
    assert got.get_json() == {"require_second_factor": False, "staff_without_second_factor": 3}
    put = client.put(
        "/api/v1/admin/security-settings", headers=staff.bearer, json={"require_second_factor": True}
    )
    assert put.status_code == 200 and put.get_json()["require_second_factor"] is True
    bad = client.put(
        "/api/v1/admin/security-settings", headers=staff.bearer, json={"require_second_factor": "yes"}
    )
    assert bad.status_code == 400 and "require_second_factor" in bad.get_json()["error"]["fields"]
    parent = fakes.parent()
    assert client.get("/api/v1/admin/security-settings", headers=parent.bearer).status_code == 403
    assert len(fakes.requests("auth", "UpdateSecuritySettings")) == 1
