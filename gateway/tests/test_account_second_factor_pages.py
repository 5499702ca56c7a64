"""The second factor's pages in-process against a fake auth: the code asked at sign-in (and a recovery
code), the code at first connection when CheckConnectionToken says so, a disabled account's message,
the security page (QR code, secret, first code, recovery codes once, turning off), the school's
setting, and a session still to set its factor up sent to the set-up from every other page."""

from __future__ import annotations

import html
import re

import pyotp
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from gateway.tests.conftest import form_fields
from gateway.tests.test_account_second_factor_api import fake_server, setup_required  # noqa: F401 - the fixture
from kit.errors import Conflict, Forbidden, InvalidRequest, RateLimited, Unauthenticated

SECRET = pyotp.random_base32()
URI = pyotp.TOTP(SECRET).provisioning_uri(name="claire", issuer_name="Cartable")
RIGHT = "right password"
CODES = [f"ABCD-EFGH-JKMN-{i:04d}" for i in range(10)]


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def csrf(client, path: str, action: str | None = None) -> str:
    return form_fields(client.get(path).get_data(as_text=True), action or path)["csrf_token"]


def error_of(page: str, field: str) -> str:
    """The field's error, checked to be tied to its input (aria-describedby) and announced."""
    found = re.search(rf'<input id="{field}"[^>]*>', page)
    assert found, f"no input {field}"
    assert f"{field}-error" in found.group(0) and 'aria-invalid="true"' in found.group(0)
    err = re.search(rf'<p id="{field}-error" class="field-error" role="alert">([^<]*)</p>', page)
    assert err
    return html.unescape(err.group(1))


# -- sign-in --------------------------------------------------------------------------------------------


@pytest.fixture
def two_step_auth(fakes):
    """auth as it answers an account with a second factor: the code is the TOTP of SECRET now, or a
    recovery code."""
    staff = fakes.staff()

    def sign_in(req):
        if req.password != RIGHT:
            raise Unauthenticated("wrong", code="invalid_credentials")
        if not req.otp:
            raise Unauthenticated("enter the code", code="second_factor_required")
        if not (pyotp.TOTP(SECRET).verify(req.otp) or req.otp in CODES):
            raise Unauthenticated("this code is not right", code="invalid_otp")
        return pb.SignInResponse(session=staff.session)

    fakes.on("auth", "SignIn", sign_in)
    return staff


def _sign_in(client, password: str = RIGHT):
    return client.post(
        "/connexion",
        data={"username": "claire", "password": password, "csrf_token": csrf(client, "/connexion")},
    )


def test_the_right_password_asks_for_the_code_on_a_second_page(client, fakes, two_step_auth):
    first = _sign_in(client)
    assert first.status_code == 303 and first.headers["Location"].endswith("/connexion/code")
    assert "cartable_session=" not in first.headers.get("Set-Cookie", "")
    page = client.get("/connexion/code")
    body = text(page)
    assert page.status_code == 200 and "Validation en deux étapes" in body
    assert "right password" not in body  # the password is not in the page
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body
    assert '<label for="otp">Code de validation</label>' in body
    assert 'href="/connexion/code?secours=1"' in body  # the recovery code link

    wrong = client.post(
        "/connexion/code", data={"otp": "000000", "csrf_token": csrf(client, "/connexion/code")}
    )
    assert wrong.status_code == 401
    assert "Ce code n'est pas le bon." in error_of(text(wrong), "otp")

    done = client.post(
        "/connexion/code",
        data={"otp": pyotp.TOTP(SECRET).now(), "csrf_token": csrf(client, "/connexion/code")},
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/gestion")
    assert f"cartable_session={two_step_auth.token}" in done.headers["Set-Cookie"]
    assert [r.otp != "" for r in fakes.requests("auth", "SignIn")] == [False, True, True]
    assert {(r.username, r.password) for r in fakes.requests("auth", "SignIn")} == {
        ("claire", "right password")
    }
    # once signed in, the pending sign-in is gone
    assert client.get("/connexion/code").status_code == 303


def test_a_recovery_code_signs_in_too(client, fakes, two_step_auth):
    _sign_in(client)
    page = client.get("/connexion/code?secours=1")
    body = text(page)
    assert '<label for="otp">Code de secours</label>' in body and 'name="secours" value="1"' in body
    assert 'inputmode="numeric"' not in body
    done = client.post(
        "/connexion/code",
        data={
            "otp": CODES[3],
            "secours": "1",
            "csrf_token": csrf(client, "/connexion/code?secours=1", "/connexion/code"),
        },
    )
    assert done.status_code == 303 and fakes.requests("auth", "SignIn")[-1].otp == CODES[3]


def test_an_empty_code_is_asked_again_without_calling_auth(client, fakes, two_step_auth):
    _sign_in(client)
    resp = client.post("/connexion/code", data={"otp": " ", "csrf_token": csrf(client, "/connexion/code")})
    assert resp.status_code == 400 and "6 chiffres" in error_of(text(resp), "otp")
    assert len(fakes.requests("auth", "SignIn")) == 1


def test_the_code_page_without_a_pending_sign_in_goes_back_to_sign_in(client):
    resp = client.get("/connexion/code")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/connexion")


def test_a_locked_account_at_the_code_step_is_told_to_wait(client, fakes, two_step_auth):
    _sign_in(client)

    def locked(_req):
        raise RateLimited("later", code="rate_limited", retry_after=300)

    fakes.on("auth", "SignIn", locked)
    resp = client.post(
        "/connexion/code", data={"otp": "123456", "csrf_token": csrf(client, "/connexion/code")}
    )
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "300"
    assert "réessayez dans 5 minutes" in text(resp)


def test_a_disabled_account_is_told_so_at_sign_in(client, fakes):
    def disabled(_req):
        raise Forbidden("disabled", code="account_disabled")

    fakes.on("auth", "SignIn", disabled)
    resp = _sign_in(client)
    assert resp.status_code == 403
    body = text(resp)
    assert "Ce compte a été désactivé par l'établissement scolaire." in body
    assert 'role="alert"' in body and "cartable_session=" not in resp.headers.get("Set-Cookie", "")


def test_the_code_pages_speak_dutch_and_english(client, fakes, two_step_auth):
    _sign_in(client)
    assert "Tweestapsverificatie" in text(client.get("/connexion/code?lang=nl"))
    assert "Two-step verification" in text(client.get("/connexion/code?lang=en"))


# -- first connection ------------------------------------------------------------------------------------


def test_activation_asks_for_the_code_when_the_account_has_a_factor(client, fakes):
    parent = fakes.parent()
    fakes.on(
        "auth",
        "CheckConnectionToken",
        pb.CheckConnectionTokenResponse(
            username="sophie", display_name="Sophie", second_factor_required=True
        ),
    )

    def activate(req):
        if not req.otp:
            raise Unauthenticated("code", code="second_factor_required")
        if req.otp != "123456":
            raise Unauthenticated("wrong", code="invalid_otp")
        return pb.ActivateResponse(session=parent.session)

    fakes.on("auth", "Activate", activate)
    client.post("/jeton", data={"token": "TOKEN", "csrf_token": csrf(client, "/jeton")})
    page = text(client.get("/jeton/mot-de-passe"))
    assert '<label for="otp">Code de validation</label>' in page
    token = csrf(client, "/jeton/mot-de-passe")
    pw = "Tournesol bleu sous la pluie 7"
    missing = client.post(
        "/jeton/mot-de-passe", data={"password": pw, "password_confirm": pw, "csrf_token": token}
    )
    assert missing.status_code == 400 and "6 chiffres" in error_of(text(missing), "otp")
    assert fakes.requests("auth", "Activate") == []
    wrong = client.post(
        "/jeton/mot-de-passe",
        data={"password": pw, "password_confirm": pw, "otp": "000000", "csrf_token": token},
    )
    assert wrong.status_code == 401 and "Ce code n'est pas le bon." in error_of(text(wrong), "otp")
    done = client.post(
        "/jeton/mot-de-passe",
        data={"password": pw, "password_confirm": pw, "otp": "123456", "csrf_token": token},
    )
    assert done.status_code == 303
    assert [r.otp for r in fakes.requests("auth", "Activate")] == ["000000", "123456"]


def test_activation_without_a_factor_asks_no_code(client, fakes):
    fakes.on(
        "auth", "CheckConnectionToken", pb.CheckConnectionTokenResponse(username="sophie", display_name="S")
    )
    client.post("/jeton", data={"token": "TOKEN", "csrf_token": csrf(client, "/jeton")})
    assert 'id="otp"' not in text(client.get("/jeton/mot-de-passe"))


def test_a_disabled_account_token_is_told_so(client, fakes):
    def disabled(_req):
        raise Forbidden("disabled", code="account_disabled")

    fakes.on("auth", "CheckConnectionToken", disabled)
    resp = client.post("/jeton", data={"token": "TOKEN", "csrf_token": csrf(client, "/jeton")})
    assert resp.status_code == 403
    assert "désactivé par l'établissement" in error_of(text(resp), "token")


# -- the security page -----------------------------------------------------------------------------------


@pytest.fixture
def setup_auth(fakes):
    """auth's set-up: begin gives SECRET, confirm takes its TOTP code and answers CODES."""
    state = {"enabled": False}

    def begin(req):
        if state["enabled"]:
            raise Conflict("set up already", code="second_factor_enabled")
        return pb.BeginSecondFactorSetupResponse(secret=SECRET, provisioning_uri=URI)

    def confirm(req):
        sess = fakes.sessions[req.session_token]
        if not pyotp.TOTP(SECRET).verify(req.code):
            raise InvalidRequest("wrong", code="invalid_otp", fields={"code": "incorrect"})
        state["enabled"] = True
        sess.second_factor_setup_required = False
        sess.account.second_factor_enabled = True
        sess.identity_token = sess.identity_token or "refreshed"
        return pb.ConfirmSecondFactorSetupResponse(recovery_codes=CODES, session=sess)

    fakes.on("auth", "BeginSecondFactorSetup", begin)
    fakes.on("auth", "ConfirmSecondFactorSetup", confirm)
    return state


def _set_up(client):
    begun = client.post(
        "/compte/securite/configurer",
        data={"csrf_token": csrf(client, "/compte/securite", "/compte/securite/configurer")},
    )
    assert begun.status_code == 303 and begun.headers["Location"].endswith("/compte/securite/configurer")
    return client.get("/compte/securite/configurer")


def test_staff_set_up_with_the_qr_code_the_secret_and_a_first_code(client, fakes, setup_auth):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    home = text(client.get("/compte/securite"))
    assert (
        "Configurer la validation en deux étapes" in home and 'aria-label="Gestion"' in home
    )  # the staff frame

    page = _set_up(client)
    body = text(page)
    assert page.status_code == 200
    svg = re.search(r"<svg [^>]*>.*?</svg>", body, re.S)
    assert svg and 'role="img"' in svg.group(0)
    assert "<title>Code QR à scanner avec votre application d'authentification</title>" in svg.group(0)
    assert " ".join(SECRET[i : i + 4] for i in range(0, len(SECRET), 4)) in body  # typed by hand
    assert "style=" not in body and "<script>" not in body  # the CSP allows neither
    assert '<label for="code">Code de validation</label>' in body

    action = "/compte/securite/confirmer"
    token = csrf(client, "/compte/securite/configurer", action)
    wrong = client.post(action, data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 400 and "Ce code n'est pas le bon." in error_of(text(wrong), "code")
    assert svg.group(0) in text(wrong)  # the same secret, shown again

    done = client.post(action, data={"code": pyotp.TOTP(SECRET).now(), "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/compte/securite/codes-de-secours")
    codes_page = text(client.get("/compte/securite/codes-de-secours"))
    assert all(c in codes_page for c in CODES)
    assert "data-print" in codes_page

    codes_action = "/compte/securite/codes-de-secours"
    token = csrf(client, codes_action)
    unticked = client.post(codes_action, data={"csrf_token": token})
    assert unticked.status_code == 400 and "ne seront plus affichés" in text(unticked)
    assert 'aria-describedby="saved-error"' in text(unticked)
    saved = client.post(codes_action, data={"saved": "yes", "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/gestion")
    # shown once
    again = client.get(codes_action)
    assert again.status_code == 303 and again.headers["Location"].endswith("/compte/securite")
    assert CODES[0] not in text(client.get("/compte/securite"))


def test_a_session_still_to_set_up_is_sent_to_the_set_up_from_every_page(client, fakes, setup_auth):
    signed = setup_required(fakes)
    client.set_cookie("cartable_session", signed.token)
    for path in (
        "/gestion",
        "/gestion/parents",
        "/gestion/collegues",
        "/gestion/documents",
        "/gestion/securite",
        "/",
    ):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/compte/securite"), path
    page = text(client.get("/compte/securite"))
    assert "Votre établissement exige la validation en deux étapes" in page
    assert 'aria-label="Gestion"' not in page  # no navigation: nothing else works yet
    assert fakes.requests("auth", "ListParents") == []

    _set_up(client)
    token = csrf(client, "/compte/securite/configurer", "/compte/securite/confirmer")
    client.post("/compte/securite/confirmer", data={"code": pyotp.TOTP(SECRET).now(), "csrf_token": token})
    token = csrf(client, "/compte/securite/codes-de-secours")
    saved = client.post("/compte/securite/codes-de-secours", data={"saved": "yes", "csrf_token": token})
    assert saved.headers["Location"].endswith("/gestion")
    assert client.get("/gestion").status_code == 200


def test_signing_in_to_a_set_up_session_lands_on_the_set_up(client, fakes):
    signed = setup_required(fakes)
    fakes.on("auth", "SignIn", pb.SignInResponse(session=signed.session))
    resp = client.post(
        "/connexion?next=/gestion/parents",
        data={
            "username": "claire",
            "password": "pw",
            "next": "/gestion/parents",
            "csrf_token": csrf(client, "/connexion"),
        },
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/compte/securite")


def test_begin_when_already_on_says_so(client, fakes, setup_auth):
    setup_auth["enabled"] = True
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    resp = client.post(
        "/compte/securite/configurer",
        data={"csrf_token": csrf(client, "/compte/securite", "/compte/securite/configurer")},
    )
    assert resp.status_code == 303
    assert "déjà activée" in text(client.get("/compte/securite"))


def test_turning_off_with_a_code_or_the_password(client, fakes):
    parent = fakes.parent()
    parent.session.account.second_factor_enabled = True
    client.set_cookie("cartable_session", parent.token)

    def disable(req):
        if req.otp and req.otp != "123456":
            raise InvalidRequest("wrong", code="invalid_otp", fields={"otp": "incorrect"})
        if not req.otp and req.password != "right":
            raise InvalidRequest("wrong", code="invalid_credentials", fields={"password": "incorrect"})
        parent.session.account.second_factor_enabled = False
        return pb.DisableSecondFactorResponse(session=parent.session)

    fakes.on("auth", "DisableSecondFactor", disable)
    page = text(client.get("/compte/securite"))
    assert (
        "Désactiver la validation en deux étapes" in page and 'aria-label="Modules"' in page
    )  # parents' frame
    action = "/compte/securite/desactiver"
    token = csrf(client, "/compte/securite", action)
    neither = client.post(action, data={"csrf_token": token})
    assert neither.status_code == 400 and "ou votre mot de passe" in error_of(text(neither), "otp")
    bad_code = client.post(action, data={"otp": "000000", "csrf_token": token})
    assert bad_code.status_code == 400 and "Ce code n'est pas le bon." in error_of(text(bad_code), "otp")
    bad_pw = client.post(action, data={"password": "wrong", "csrf_token": token})
    assert bad_pw.status_code == 400 and "mot de passe est incorrect" in error_of(text(bad_pw), "password")
    done = client.post(action, data={"password": "right", "csrf_token": token})
    assert done.status_code == 303
    assert "La validation en deux étapes est désactivée." in text(client.get("/compte/securite"))


def test_the_security_page_needs_a_session(client):
    resp = client.get("/compte/securite")
    assert resp.status_code == 302 and "/connexion?next=" in resp.headers["Location"]


def test_the_parents_password_page_links_to_the_security_page(client, fakes):
    client.set_cookie("cartable_session", fakes.parent().token)
    assert 'href="/compte/securite"' in text(client.get("/mot-de-passe"))


# -- the school's setting ----------------------------------------------------------------------------------


def test_the_school_setting_page(client, fakes):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    fakes.on(
        "auth",
        "GetSecuritySettings",
        pb.SecuritySettings(require_second_factor=False, staff_without_second_factor=2),
    )
    fakes.on(
        "auth",
        "UpdateSecuritySettings",
        lambda req: pb.SecuritySettings(require_second_factor=req.require_second_factor),
    )
    page = text(client.get("/gestion/securite"))
    assert "2 membres du personnel ne l'ont pas encore configurée." in page
    assert '<input id="require_second_factor" name="require_second_factor" type="checkbox"' in page
    assert 'aria-current="page">Sécurité</a>' in page
    token = csrf(client, "/gestion/securite")
    resp = client.post("/gestion/securite", data={"require_second_factor": "yes", "csrf_token": token})
    assert resp.status_code == 303
    assert fakes.requests("auth", "UpdateSecuritySettings")[0].require_second_factor is True
    client.post("/gestion/securite", data={"csrf_token": token})
    assert fakes.requests("auth", "UpdateSecuritySettings")[1].require_second_factor is False
