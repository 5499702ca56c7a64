"""Chapter 1° to 3° of the parent guide through the gateway's API, with the real mail: the school
creates the account, the parent reads the token in the mail, sets a password, is signed in, chooses a
child, signs out and comes back with username and password."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

import pytest

from tests.factories import (
    DEFAULT_PASSWORD,
    anonymous,
    expect,
    mail_text,
    new_family,
    new_school,
    token_in,
    unique,
    wait_for_token,
    wait_for_token_mail,
)

SESSION_KEYS = {"session_token", "csrf_token", "account", "children", "active_child_id"}
CHILD_KEYS = {
    "id",
    "first_name",
    "last_name",
    "class_name",
    "school_name",
    "status",
    "left_on",
}  # API.md + leavers


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


def test_whole_first_connection_of_a_parent_of_two_children(suite, staff):
    emma = staff.create_student("Emma", "Peeters", "3A")
    noah = staff.create_student("Noah", "Peeters", "1B", level="secondary")
    email = f"{unique('peeters-')}@example.test"
    made = staff.create_parent("Sophie", "Peeters", email, [emma["id"], noah["id"]])
    assert made["username"] and made["id"]

    # the mail carries the username and the token
    msg = wait_for_token_mail(suite, email)
    body = mail_text(msg)
    assert made["username"] in body
    token = token_in(msg)
    assert token

    # spaces around the token are ignored; the password is typed twice
    client = anonymous(suite)
    resp = client.post(
        "/activation",
        json={"token": f"  {token} ", "password": DEFAULT_PASSWORD, "password_confirm": DEFAULT_PASSWORD},
    )
    assert resp.status_code == 200, resp.text
    session = resp.json()
    assert set(session) == SESSION_KEYS
    assert session["account"] == {
        "id": made["id"],
        "display_name": session["account"]["display_name"],
        "role": "parent",
    }
    assert "Sophie" in session["account"]["display_name"]
    assert {c["id"] for c in session["children"]} == {emma["id"], noah["id"]}
    for child in session["children"]:
        assert set(child) == CHILD_KEYS
        assert child["school_name"] == staff.school_name
    assert session["active_child_id"] is None  # several children: none until chosen

    # signed in at once: the cookie is set, HttpOnly and SameSite=Lax (no Secure in the test run)
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"cartable_session={session['session_token']}")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # SECURE_COOKIES is off in the suite only
    expires = re.search(r"Expires=([^;]+)", cookie)
    assert expires, cookie  # it ends with the session
    ends = parsedate_to_datetime(expires.group(1))
    assert dt.timedelta(minutes=5) < ends - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7, minutes=1)

    bearer = {"Authorization": f"Bearer {session['session_token']}"}
    children = client.get("/children", headers=bearer)
    assert children.status_code == 200
    assert sorted(c["first_name"] for c in children.json()["items"]) == ["Emma", "Noah"]

    # child-scoped calls wait for the choice
    dashboard = client.get("/dashboard", headers=bearer)
    assert dashboard.status_code == 409
    assert dashboard.json()["error"]["code"] == "child_not_selected"

    chosen = client.put("/session/child", json={"child_id": noah["id"]}, headers=bearer)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["active_child_id"] == noah["id"]
    assert set(chosen.json()) == SESSION_KEYS

    # sign out: the session ends and the cookie is cleared
    out = client.delete("/session", headers=bearer)
    assert out.status_code == 204
    assert "cartable_session=;" in out.headers["Set-Cookie"] or "Max-Age=0" in out.headers["Set-Cookie"]
    assert client.get("/children", headers=bearer).status_code == 401

    # next connections: username and password
    again = anonymous(suite).post(
        "/session", json={"username": made["username"], "password": DEFAULT_PASSWORD}
    )
    assert again.status_code == 200, again.text
    assert again.json()["active_child_id"] is None
    assert again.json()["session_token"] != session["session_token"]


def test_a_parent_of_one_child_has_it_chosen_at_sign_in(suite, staff):
    family = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "2C"}])
    assert len(family.children) == 1
    assert family.active_child_id == family.children[0]["id"]
    again = anonymous(suite).post("/session", json={"username": family.username, "password": family.password})
    assert again.status_code == 200
    assert again.json()["active_child_id"] == family.children[0]["id"]


def test_wrong_password_is_invalid_credentials(suite, staff):
    family = new_family(suite, staff)
    resp = anonymous(suite).post(
        "/session", json={"username": family.username, "password": "not the password"}
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_credentials"
    unknown = anonymous(suite).post(
        "/session", json={"username": unique("nobody."), "password": "whatever it is"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("password", "confirm"),
    [
        ("Tournesol bleu 7", "Tournesol bleu 8"),  # different
        ("court1", "court1"),  # shorter than 8
        ("password", "password"),  # common
        ("azerty123", "azerty123"),  # common
    ],
)
def test_weak_or_different_passwords_are_refused_and_the_token_stays_usable(suite, staff, password, confirm):
    email = f"{unique('faible-')}@example.test"
    student = staff.create_student("Tom", "Faible", "4A")
    staff.create_parent("Marc", "Faible", email, [student["id"]])
    token = wait_for_token(suite, email)
    client = anonymous(suite)
    refused = client.post(
        "/activation", json={"token": token, "password": password, "password_confirm": confirm}
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["fields"], error
    ok = client.post(
        "/activation",
        json={"token": token, "password": DEFAULT_PASSWORD, "password_confirm": DEFAULT_PASSWORD},
    )
    assert ok.status_code == 200, ok.text


def test_a_passphrase_of_64_characters_is_accepted(suite, staff):
    passphrase = "les enfants partent en classe verte a Spa le lundi 12 mai, youpi"
    assert len(passphrase) == 64
    family = new_family(suite, staff, password=passphrase)
    again = anonymous(suite).post("/session", json={"username": family.username, "password": passphrase})
    assert again.status_code == 200


def test_missing_fields_are_400_with_fields(suite):
    client = anonymous(suite)
    resp = client.post("/activation", json={"password": "x"})
    assert resp.status_code == 400
    assert "token" in resp.json()["error"]["fields"]
    resp = client.post("/session", data="not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_request"


def test_password_change_ends_the_other_sessions(suite, staff):
    family = new_family(suite, staff)
    other = family.sign_in_again()
    assert expect(other.get("/children")).status_code == 200
    new_password = "Cerf-volant rouge au vent 9"
    resp = family.put(
        "/password",
        json={
            "current_password": family.password,
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
    )
    assert resp.status_code == 204, resp.text
    assert family.get("/children").status_code == 200  # this session goes on
    assert other.get("/children").status_code == 401  # the other one ended
    old = anonymous(suite).post("/session", json={"username": family.username, "password": family.password})
    assert old.status_code == 401
    new = anonymous(suite).post("/session", json={"username": family.username, "password": new_password})
    assert new.status_code == 200


def test_password_change_with_a_wrong_current_password_is_refused(suite, staff):
    family = new_family(suite, staff)
    new_password = "Cerf-volant rouge au vent 9"
    resp = family.put(
        "/password",
        json={
            "current_password": "not my password",
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
    )
    assert resp.status_code == 400
    assert "current_password" in resp.json()["error"]["fields"]
    assert (
        anonymous(suite).post("/session", json={"username": family.username, "password": family.password}).ok
    )
