"""Connection tokens through the gateway: single use, replaced by a new one, and the forgotten-password
request that answers the same whether or not the address is known.

The 14-day expiry needs a clock the test controls; the services run as separate processes here, so
it is proven by the auth service's own tests (token_state at 14 days minus a second / exactly 14 days)."""

from __future__ import annotations

import time

import pytest

from tests.factories import (
    DEFAULT_PASSWORD,
    anonymous,
    invite_parent,
    mail_text,
    mails_to,
    new_family,
    new_school,
    token_in,
    unique,
    wait_for_token,
    wait_for_token_mail,
)

NEW_PASSWORD = "Cerf-volant rouge au vent 9"


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


def activate(suite, token: str, password: str = DEFAULT_PASSWORD):
    return anonymous(suite).post(
        "/activation", json={"token": token, "password": password, "password_confirm": password}
    )


def test_a_used_token_is_refused_with_token_used(suite, staff):
    invited = invite_parent(suite, staff)
    assert activate(suite, invited["token"]).status_code == 200
    again = activate(suite, invited["token"], NEW_PASSWORD)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "token_used"
    # and the password was not changed by the second try
    signed = anonymous(suite).post(
        "/session", json={"username": invited["username"], "password": DEFAULT_PASSWORD}
    )
    assert signed.status_code == 200


def test_an_unknown_token_is_invalid_token(suite):
    resp = activate(suite, "7KQ2-M9XD-0BFT-RZ4E-HWN8-3CJA-PV6S")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_token"


def test_a_new_token_makes_the_old_one_stop_working(suite, staff):
    invited = invite_parent(suite, staff)
    staff.reissue_token(invited["id"])
    new_token = wait_for_token(suite, invited["email"], previous=[invited["token"]])
    assert new_token != invited["token"]
    old = activate(suite, invited["token"])
    assert old.status_code in (400, 409), old.text
    assert old.json()["error"]["code"] in ("token_used", "invalid_token", "token_expired")
    assert activate(suite, new_token).status_code == 200


def test_reissuing_a_token_for_an_unknown_parent_is_not_found(suite, staff):
    resp = staff.post(f"/admin/parents/{unique('nobody')}/token")
    assert resp.status_code == 404


def _comparable(resp) -> tuple:
    volatile = {"X-Request-Id", "Date", "Content-Length"}
    return resp.status_code, resp.text, sorted((k, v) for k, v in resp.headers.items() if k not in volatile)


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(suite, staff):
    family = new_family(suite, staff)
    client = anonymous(suite)
    unknown_email = f"{unique('inconnu-')}@example.test"
    mark = suite.bus_mark()
    t0 = time.perf_counter()
    known = client.post("/password-reset", json={"email": family.email})
    t_known = time.perf_counter() - t0
    t0 = time.perf_counter()
    unknown = client.post("/password-reset", json={"email": unknown_email})
    t_unknown = time.perf_counter() - t0
    assert known.status_code == 202
    assert _comparable(known) == _comparable(unknown)
    # the mail is sent after the answer (through the outbox), so the timing does not tell either
    assert abs(t_known - t_unknown) < 0.5

    # the known address receives its username and a new token; the unknown one nothing
    first_token = token_in(mails_to(suite, family.email)[0])
    msg = wait_for_token_mail(suite, family.email, previous=[first_token])
    assert family.username in mail_text(msg)
    suite.wait_until_settled(mark)  # every mail the two requests caused has left
    assert mails_to(suite, unknown_email) == []

    # the new token sets a new password and signs in at once
    reset = activate(suite, token_in(msg), NEW_PASSWORD)
    assert reset.status_code == 200, reset.text
    assert reset.json()["account"]["id"] == family.parent_id
    old = anonymous(suite).post("/session", json={"username": family.username, "password": family.password})
    assert old.status_code == 401
    new = anonymous(suite).post("/session", json={"username": family.username, "password": NEW_PASSWORD})
    assert new.status_code == 200


def test_password_reset_address_case_and_spaces_do_not_matter(suite, staff):
    family = new_family(suite, staff)
    first_token = token_in(mails_to(suite, family.email)[0])
    resp = anonymous(suite).post("/password-reset", json={"email": f"  {family.email.upper()} "})
    assert resp.status_code == 202
    assert wait_for_token(suite, family.email, previous=[first_token])


def test_password_reset_without_an_address_is_400(suite):
    resp = anonymous(suite).post("/password-reset", json={})
    assert resp.status_code == 400
    assert "email" in resp.json()["error"]["fields"]
