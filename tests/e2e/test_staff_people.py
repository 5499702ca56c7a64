"""The school's people through the whole suite (API.md "School back office": parents and staff): the
parents' list (search, status, auth's pages), a parent's names, e-mail and national number changed
(409 `email_taken`, 400 for bad values, 404 for another school's), disabling a parent (sessions end
at once, the right password answers 403 `account_disabled`), enabling again, ending sessions, the
staff list and a colleague's account, another school's ids, and the staff pages of the same."""

from __future__ import annotations

import pytest

from tests.e2e.test_account_second_factor import colleague, sign_in
from tests.factories import (
    anonymous,
    expect,
    invite_parent,
    new_family,
    new_school,
    unique,
    wait_for_token,
    wait_for_token_mail,
)

PARENT_KEYS = {"id", "first_name", "last_name", "email", "username", "student_ids", "status"}
STAFF_KEYS = {"id", "first_name", "last_name", "email", "username", "status"}


@pytest.fixture(scope="module")
def school(suite):
    staff = new_school(suite)
    last = unique("Dubois-").capitalize()
    active = new_family(suite, staff, first_name="Éloïse", last_name=last)
    invited = invite_parent(suite, staff, first_name="Marc", last_name=last)
    return staff, active, invited, last


def test_the_parents_list_search_status_and_paging(suite, school):
    staff, active, invited, last = school
    body = expect(staff.get("/admin/parents")).json()
    assert set(body) == {"items", "next_cursor"}
    assert all(set(p) == PARENT_KEYS for p in body["items"])
    mine = {p["id"]: p for p in body["items"]}
    assert mine[active.id]["status"] == "active" and mine[invited["id"]]["status"] == "invited"
    assert mine[active.id]["student_ids"] and mine[active.id]["username"] == active.username

    found = expect(staff.get("/admin/parents", params={"q": "eloise " + last.lower()})).json()["items"]
    assert [p["id"] for p in found] == [active.id]  # accents and case ignored, every word
    by_mail = expect(staff.get("/admin/parents", params={"q": active.email.upper()})).json()["items"]
    assert [p["id"] for p in by_mail] == [active.id]
    pending = expect(staff.get("/admin/parents", params={"status": "invited"})).json()["items"]
    assert [p["id"] for p in pending] == [invited["id"]]

    first = expect(staff.get("/admin/parents", params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = expect(staff.get("/admin/parents", params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {active.id, invited["id"]}
    for bad in ({"status": "gone"}, {"limit": 0}, {"cursor": "nonsense"}):
        assert staff.get("/admin/parents", params=bad).status_code == 400, bad


def _import_parents(staff, names: list[tuple[str, str]]) -> list[str]:
    """Parents of one student each, made by one People CSV import (no mail to wait for): their e-mails."""
    emails = [f"{unique(first.lower() + '.')}@famille.example.test" for first, _last in names]
    lines = [
        "student_id;first_name;last_name;class_name;level;parent1_first_name;parent1_last_name;parent1_email"
    ]
    lines += [
        f"P{i};Enfant;{last};2B;primaire;{first};{last};{email}"
        for i, ((first, last), email) in enumerate(zip(names, emails, strict=True))
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    expect(staff.post("/admin/imports/people", files={"file": ("parents.csv", data)}), 201)
    return emails


def test_the_parents_list_pages_through_auths_cursor(suite):
    staff = new_school(suite)
    last = unique("Janssens").capitalize()
    names = [("Anna", last), ("Bert", last), ("Chloé", "Aerts"), ("Dirk", last), ("Emma", "Wouters")]
    _import_parents(staff, names)
    seen, cursor, pages = [], None, 0
    while True:
        page = expect(staff.get("/admin/parents", params={"limit": 2, "cursor": cursor})).json()
        assert len(page["items"]) <= 2
        seen += [(p["last_name"], p["first_name"]) for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted((n[1], n[0]) for n in names)  # by last name, first name, once each
    # a search, a status and a page together
    first = expect(
        staff.get("/admin/parents", params={"q": last.lower(), "status": "invited", "limit": 2})
    ).json()
    assert [p["first_name"] for p in first["items"]] == ["Anna", "Bert"] and first["next_cursor"]
    rest = expect(
        staff.get(
            "/admin/parents",
            params={"q": last.lower(), "status": "invited", "limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [p["first_name"] for p in rest["items"]] == ["Dirk"] and rest["next_cursor"] is None
    assert (
        expect(staff.get("/admin/parents", params={"q": "chloe aerts"})).json()["items"][0]["first_name"]
        == "Chloé"
    )
    assert expect(staff.get("/admin/parents", params={"status": "active"})).json() == {
        "items": [],
        "next_cursor": None,
    }
    for bad in ({"limit": 201}, {"limit": "two"}, {"cursor": "x" * 2000}, {"q": "x" * 201}):
        resp = staff.get("/admin/parents", params=bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_request", bad


def patch(client, path: str, **kw):
    return client.request("PATCH", path, **kw)


def test_a_managers_changes_to_a_parent(suite, school):
    staff, _active, invited, _last = school
    active = new_family(suite, staff, first_name="Eloise")  # the module's families stay as they are
    url = f"/admin/parents/{active.id}"
    new_email = f"{unique('nouvelle.')}@Example.TEST"
    changed = expect(
        patch(staff, url, json={"first_name": "  Éloïse-Marie ", "last_name": "D'Hondt", "email": new_email})
    ).json()
    assert set(changed) == PARENT_KEYS
    assert (changed["first_name"], changed["last_name"], changed["email"]) == (
        "Éloïse-Marie",
        "D'Hondt",
        new_email.lower(),
    )
    assert changed["username"] == active.username and changed["status"] == "active"
    assert expect(staff.get(url)).json() == changed
    # only what is given changes; the national number is kept but never shown
    expect(patch(staff, url, json={"national_number": "85.07.30-033.28"}))
    again = expect(patch(staff, url, json={"last_name": "Dubois"})).json()
    assert (
        again["first_name"] == "Éloïse-Marie"
        and again["last_name"] == "Dubois"
        and "national_number" not in again
    )
    expect(patch(staff, url, json={"national_number": None}))  # cleared

    # a mail for the parent now goes to the new address
    expect(anonymous(suite).post("/password-reset", json={"email": new_email}), 202)
    wait_for_token_mail(suite, new_email.lower())

    taken = patch(staff, url, json={"email": invited["email"].upper()})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"
    managers = expect(staff.get("/admin/staff")).json()["items"][0]["email"]
    assert patch(staff, url, json={"email": managers}).json()["error"]["code"] == "email_taken"
    for body, field in [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "<b>Éloïse</b>"}, "first_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"national_number": "12345678901"}, "national_number"),
        ({"first_name": 42}, "first_name"),
        ({"username": "someone"}, "username"),
        ({"status": "disabled"}, "status"),
        ({}, "body"),
    ]:
        resp = patch(staff, url, json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert field in resp.json()["error"]["fields"], (body, resp.json())
    assert patch(staff, url, data="not json", headers={"Content-Type": "application/json"}).status_code == 400
    after = expect(staff.get(url)).json()
    assert after["last_name"] == "Dubois" and after["email"] == new_email.lower()


def test_a_parent_of_another_school_or_no_one_cannot_be_changed(suite, school):
    staff, active, _invited, _last = school
    other = new_school(suite)
    for target in (active.id, "no-such-parent", staff.account_id):
        resp = patch(other, f"/admin/parents/{target}", json={"first_name": "Intrus"})
        assert resp.status_code == 404, (target, resp.text)
    own_staff = patch(staff, f"/admin/parents/{staff.account_id}", json={"first_name": "Intrus"})
    assert own_staff.status_code == 404  # a colleague is not a parent
    assert patch(active, f"/admin/parents/{active.id}", json={"first_name": "Moi"}).status_code == 403
    assert expect(staff.get(f"/admin/parents/{active.id}")).json()["first_name"] != "Intrus"


def test_disabling_a_parent_ends_their_sessions_and_refuses_their_password(suite):
    staff = new_school(suite)
    family = new_family(suite, staff)
    other_session = family.sign_in_again()
    disabled = expect(staff.post(f"/admin/parents/{family.id}/disable")).json()
    assert set(disabled) == PARENT_KEYS and disabled["status"] == "disabled"
    for client in (family, other_session):
        assert client.get("/children").status_code == 401
    refused = sign_in(suite, family.username, family.password)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_disabled"
    wrong = sign_in(suite, family.username, "not the password")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    # no new token for a disabled parent
    token = staff.post(f"/admin/parents/{family.id}/token")
    assert token.status_code == 409 and token.json()["error"]["code"] == "account_disabled"
    listed = expect(staff.get("/admin/parents", params={"status": "disabled"})).json()["items"]
    assert [p["id"] for p in listed] == [family.id]

    enabled = expect(staff.post(f"/admin/parents/{family.id}/enable")).json()
    assert enabled["status"] == "active"
    expect(sign_in(suite, family.username, family.password), 200)


def test_ending_a_parents_sessions(suite):
    staff = new_school(suite)
    family = new_family(suite, staff)
    ended = expect(staff.delete(f"/admin/parents/{family.id}/sessions")).json()
    assert ended["ended"] >= 1
    assert family.get("/children").status_code == 401
    expect(sign_in(suite, family.username, family.password), 200)  # they may sign in again


def test_another_schools_parent_or_staff_is_not_found(suite, school):
    staff, active, _invited, _last = school
    other = new_school(suite)
    for method, path in [
        ("get", f"/admin/parents/{active.id}"),
        ("post", f"/admin/parents/{active.id}/disable"),
        ("post", f"/admin/parents/{active.id}/enable"),
        ("delete", f"/admin/parents/{active.id}/sessions"),
        ("post", f"/admin/staff/{staff.account_id}/disable"),
        ("delete", f"/admin/staff/{staff.account_id}/sessions"),
        ("delete", f"/admin/staff/{staff.account_id}/second-factor"),
        ("post", "/admin/parents/no-such-id/disable"),
    ]:
        resp = getattr(other, method)(path)
        assert resp.status_code == 404, (method, path, resp.text)
    assert expect(active.get("/children")).status_code == 200  # untouched
    assert active.id not in {p["id"] for p in expect(other.get("/admin/parents")).json()["items"]}


def test_the_staff_list_and_a_colleague_disabled(suite):
    manager = new_school(suite)
    luc = colleague(suite, manager)
    items = expect(manager.get("/admin/staff")).json()["items"]
    assert all(set(m) == STAFF_KEYS for m in items)
    by_name = {m["username"]: m for m in items}
    assert set(by_name) == {manager.username, luc["username"]}
    luc_id = by_name[luc["username"]]["id"]
    luc_session = expect(sign_in(suite, luc["username"], luc["password"])).json()

    me = manager.post(f"/admin/staff/{manager.account_id}/disable")
    assert me.status_code == 403 and me.json()["error"]["code"] == "cannot_disable_self"
    off = expect(manager.post(f"/admin/staff/{luc_id}/disable")).json()
    assert off["status"] == "disabled" and set(off) == STAFF_KEYS
    stale = manager.get("/admin/staff", headers={"Authorization": f"Bearer {luc_session['session_token']}"})
    assert stale.status_code == 401
    assert sign_in(suite, luc["username"], luc["password"]).json()["error"]["code"] == "account_disabled"
    # a colleague is not a parent, nor the reverse
    assert manager.post(f"/admin/parents/{luc_id}/enable").status_code == 404
    expect(manager.post(f"/admin/staff/{luc_id}/enable"))
    expect(sign_in(suite, luc["username"], luc["password"]), 200)
    assert expect(manager.delete(f"/admin/staff/{luc_id}/sessions")).json()["ended"] >= 1


def test_parents_cannot_use_the_people_endpoints(suite, school):
    _staff, active, _invited, _last = school
    for method, path in [
        ("get", "/admin/parents"),
        ("get", "/admin/staff"),
        ("post", f"/admin/parents/{active.id}/disable"),
    ]:
        assert getattr(active, method)(path).status_code == 403


def test_the_staff_pages_list_and_show_the_parents(suite, school):
    staff, active, invited, last = school
    page = staff.page("/gestion/parents", params={"q": last})
    assert page.status_code == 200
    assert (
        f'href="/gestion/parents/{active.id}"' in page.text
        and f'href="/gestion/parents/{invited["id"]}"' in page.text
    )
    detail = staff.page(f"/gestion/parents/{active.id}")
    assert detail.status_code == 200 and active.username in detail.text
    assert "Désactiver le compte" in detail.text
    colleagues = staff.page("/gestion/collegues")
    assert colleagues.status_code == 200 and staff.username in colleagues.text
    assert active.page("/gestion/parents").status_code == 403


def test_a_manager_adds_a_colleague_who_connects_with_the_mailed_token(suite):
    manager = new_school(suite)
    email = f"{unique('marie.')}@school.example.test"
    made = manager.post(
        "/admin/staff", json={"first_name": "Marie", "last_name": "Dupont-Évrard", "email": email}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"id", "username"}
    listed = {m["id"]: m for m in expect(manager.get("/admin/staff")).json()["items"]}
    assert listed[body["id"]]["status"] == "invited" and listed[body["id"]]["username"] == body["username"]

    token = wait_for_token(suite, email)
    password = "Tournesol jaune sous la neige 8"
    session = expect(
        anonymous(suite).post(
            "/activation", json={"token": token, "password": password, "password_confirm": password}
        )
    ).json()
    assert session["account"]["role"] == "staff"
    assert {m["id"]: m for m in expect(manager.get("/admin/staff")).json()["items"]}[body["id"]][
        "status"
    ] == "active"
    other = new_school(suite)
    assert body["id"] not in {m["id"] for m in expect(other.get("/admin/staff")).json()["items"]}

    bad = manager.post("/admin/staff", json={"first_name": "Marie", "last_name": "", "email": email})
    assert bad.status_code == 400 and "last_name" in bad.json()["error"]["fields"]
