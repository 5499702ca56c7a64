"""The second factor through the whole suite (API.md: `second_factor_required`, `account_disabled`):
setting it up with the secret auth gives, signing in with a TOTP code (pyotp) or a recovery code,
first connection after a reset, turning it off, and a school that requires it of its staff."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.factories import (
    STAFF_PASSWORD,
    anonymous,
    auth_command,
    expect,
    new_family,
    new_school,
    tokens_mailed_to,
    unique,
    wait_for_token,
)


class Authenticator:
    """The staff member's phone: codes of the secret, each TOTP step used once (auth never takes a
    step twice; it accepts the step before and after now)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = -1

    def code(self) -> str:
        step = max(int(time.time()) // 30, self.last_step + 1)
        while step > int(time.time()) // 30 + 1:  # two used already in this window: wait one
            time.sleep(1)
        self.last_step = step
        return self.totp.at(step * 30)


def set_up(client) -> tuple[Authenticator, list[str]]:
    begun = expect(client.post("/second-factor/setup"), 201).json()
    assert begun["provisioning_uri"].startswith("otpauth://totp/")
    assert pyotp.parse_uri(begun["provisioning_uri"]).secret == begun["secret"]
    phone = Authenticator(begun["secret"])
    done = expect(client.post("/second-factor/confirm", json={"code": phone.code()}), 200).json()
    assert len(done["recovery_codes"]) == 10 and len(set(done["recovery_codes"])) == 10
    return phone, done["recovery_codes"]


def sign_in(suite, username: str, password: str, otp: str | None = None):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return anonymous(suite).post("/session", json=body)


def colleague(suite, staff, password: str = STAFF_PASSWORD) -> dict:
    """Another staff account of the school (the auth command line: auth has no RPC for it yet)."""
    username = unique("secretariat.")
    auth_command(
        suite,
        "create-staff",
        "--school-id",
        staff.school_id,
        "--first-name",
        "Luc",
        "--last-name",
        "Secrétariat",
        "--email",
        f"{username}@school.example.test",
        "--username",
        username,
        "--password-stdin",
        stdin=password + "\n",
    )
    return {"username": username, "password": password}


def test_a_staff_member_sets_it_up_then_signs_in_with_a_code_or_a_recovery_code(suite):
    staff = new_school(suite)
    state = expect(staff.get("/second-factor")).json()
    assert state == {"enabled": False, "setup_required": False}
    phone, recovery = set_up(staff)
    assert expect(staff.get("/second-factor")).json()["enabled"] is True

    without = sign_in(suite, staff.username, staff.password)
    assert without.status_code == 401 and without.json()["error"]["code"] == "second_factor_required"
    wrong = sign_in(suite, staff.username, staff.password, "000000")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_otp"
    bad_password = sign_in(suite, staff.username, "not the password", phone.code())
    assert bad_password.status_code == 401 and bad_password.json()["error"]["code"] == "invalid_credentials"

    ok = sign_in(suite, staff.username, staff.password, phone.code())
    assert ok.status_code == 200, ok.text
    assert ok.json()["account"]["role"] == "staff"

    by_recovery = sign_in(suite, staff.username, staff.password, recovery[0])
    assert by_recovery.status_code == 200
    used = sign_in(suite, staff.username, staff.password, recovery[0])
    assert used.status_code == 401 and used.json()["error"]["code"] == "invalid_otp"

    # set up twice: 409; turning off with a wrong password: 400 on the field, then with the password
    assert staff.post("/second-factor/setup").json()["error"]["code"] == "second_factor_enabled"
    fresh = type(staff)(
        suite,
        school_id=staff.school_id,
        school_name=staff.school_name,
        account_id=staff.account_id,
        username=staff.username,
        password=staff.password,
        session=ok.json(),
    )
    wrong_pw = fresh.post("/second-factor/disable", json={"password": "not it"})
    assert wrong_pw.status_code == 400 and wrong_pw.json()["error"]["fields"] == {"password": "incorrect"}
    expect(fresh.post("/second-factor/disable", json={"password": staff.password}), 200)
    assert expect(sign_in(suite, staff.username, staff.password), 200)
    off_again = fresh.post("/second-factor/disable", json={"password": staff.password})
    assert off_again.status_code == 409 and off_again.json()["error"]["code"] == "second_factor_not_enabled"


def test_confirming_needs_the_right_code_and_a_set_up(suite):
    staff = new_school(suite)
    nothing = staff.post("/second-factor/confirm", json={"code": "123456"})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "no_setup_pending"
    expect(staff.post("/second-factor/setup"), 201)
    wrong = staff.post("/second-factor/confirm", json={"code": "000000"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_otp"
    assert "code" in wrong.json()["error"]["fields"]


def test_a_parent_may_opt_in_and_a_reset_token_then_asks_for_the_code(suite):
    staff = new_school(suite)
    family = new_family(suite, staff)
    phone, _codes = set_up(family)
    assert (
        sign_in(suite, family.username, family.password).json()["error"]["code"] == "second_factor_required"
    )
    expect(sign_in(suite, family.username, family.password, phone.code()), 200)

    # a password reset must not skip the factor
    before = tokens_mailed_to(suite, family.email)
    expect(anonymous(suite).post("/password-reset", json={"email": family.email}), 202)
    token = wait_for_token(suite, family.email, previous=before)
    new_password = "Une autre phrase de passe 2026"
    body = {"token": token, "password": new_password, "password_confirm": new_password}
    without = anonymous(suite).post("/activation", json=body)
    assert without.status_code == 401 and without.json()["error"]["code"] == "second_factor_required"
    wrong = anonymous(suite).post("/activation", json={**body, "otp": "000000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_otp"
    done = anonymous(suite).post("/activation", json={**body, "otp": phone.code()})
    assert done.status_code == 200, done.text


def test_a_school_that_requires_it_limits_staff_without_one_to_the_set_up(suite):
    manager = new_school(suite)
    phone, _codes = set_up(manager)  # the manager first, or the requirement would stop them too
    luc = colleague(suite, manager)
    before = expect(manager.get("/admin/security-settings")).json()
    assert before == {"require_second_factor": False, "staff_without_second_factor": 1}
    after = expect(manager.put("/admin/security-settings", json={"require_second_factor": True})).json()
    assert after["require_second_factor"] is True

    signed = sign_in(suite, luc["username"], luc["password"])
    assert signed.status_code == 200, signed.text  # a session, limited to the set-up
    limited = type(manager)(
        suite,
        school_id=manager.school_id,
        school_name=manager.school_name,
        account_id=signed.json()["account"]["id"],
        username=luc["username"],
        password=luc["password"],
        session=signed.json(),
    )
    for path in ("/admin/parents", "/admin/staff", "/admin/security-settings"):
        refused = limited.get(path)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "second_factor_setup_required"
    assert expect(limited.get("/second-factor")).json() == {"enabled": False, "setup_required": True}
    _phone, _ = set_up(limited)
    assert expect(limited.get("/admin/staff")).status_code == 200
    assert expect(manager.get("/admin/security-settings")).json()["staff_without_second_factor"] == 0

    # turned off again by the manager; the manager's own factor still asked at sign-in
    expect(manager.put("/admin/security-settings", json={"require_second_factor": False}))
    assert (
        sign_in(suite, manager.username, manager.password).json()["error"]["code"] == "second_factor_required"
    )
    expect(sign_in(suite, manager.username, manager.password, phone.code()), 200)


def test_a_manager_resets_a_colleagues_factor_but_not_their_own(suite):
    manager = new_school(suite)
    luc = colleague(suite, manager)
    luc_session = expect(sign_in(suite, luc["username"], luc["password"])).json()
    luc_client = type(manager)(
        suite,
        school_id=manager.school_id,
        school_name=manager.school_name,
        account_id=luc_session["account"]["id"],
        username=luc["username"],
        password=luc["password"],
        session=luc_session,
    )
    set_up(luc_client)
    me = manager.delete(f"/admin/staff/{manager.account_id}/second-factor")
    assert me.status_code == 403 and me.json()["error"]["code"] == "cannot_reset_self"
    assert manager.delete(f"/admin/staff/{luc_client.account_id}/second-factor").status_code == 204
    assert luc_client.get("/admin/staff").status_code == 401  # its sessions ended
    expect(sign_in(suite, luc["username"], luc["password"]), 200)  # no code asked any more


@pytest.fixture(scope="module")
def spec(suite):
    return expect(anonymous(suite).get("/openapi.json")).json()


def test_the_paths_are_published(spec):
    paths = spec["paths"]
    assert (
        "otp"
        in paths["/api/v1/session"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]
    )
    for path, method in [
        ("/api/v1/second-factor", "get"),
        ("/api/v1/second-factor/setup", "post"),
        ("/api/v1/second-factor/confirm", "post"),
        ("/api/v1/second-factor/disable", "post"),
        ("/api/v1/admin/security-settings", "put"),
    ]:
        assert method in paths[path], path
