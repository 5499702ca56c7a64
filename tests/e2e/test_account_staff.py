"""What the school's staff do for accounts through the API: students (auth, then finance opens their
wallets), parent accounts and new tokens; and the published OpenAPI entries of the account paths."""

from __future__ import annotations

import re
import time

import pytest

from tests.factories import anonymous, expect, new_family, new_school, unique

COMMUNICATION = re.compile(r"^\+\+\+\d{3}/\d{4}/\d{5}\+\+\+$")


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


@pytest.fixture(scope="module")
def spec(suite):
    return expect(anonymous(suite).get("/openapi.json")).json()


def test_a_new_student_comes_with_its_wallets(staff, spec):
    if "/api/v1/admin/wallet-types" in spec["paths"]:
        expect(staff.post("/admin/wallet-types", json={"name": "Cantine"}), 201)
    resp = staff.post(
        "/admin/students",
        json={"first_name": "Emma", "last_name": "Peeters", "class_name": "3A", "level": "primary"},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"id", "wallets"}
    assert body["id"]
    for wallet in body["wallets"]:
        assert set(wallet) == {"id", "name", "balance_cents", "structured_communication"}
        assert wallet["balance_cents"] == 0
        assert COMMUNICATION.match(wallet["structured_communication"]), wallet
    if "/api/v1/admin/wallet-types" in spec["paths"]:
        assert "Cantine" in {w["name"] for w in body["wallets"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": "Peeters", "class_name": "3A", "level": "primary"}, "first_name"),
        ({"first_name": "Emma", "last_name": "Peeters", "level": "primary"}, "class_name"),
        ({"first_name": "Emma", "last_name": "Peeters", "class_name": "3A", "level": "tertiary"}, "level"),
        ({"first_name": 12, "last_name": "Peeters", "class_name": "3A", "level": "primary"}, "first_name"),
    ],
)
def test_an_incomplete_student_is_400_with_the_field(staff, body, field):
    resp = staff.post("/admin/students", json=body)
    assert resp.status_code == 400
    assert field in resp.json()["error"]["fields"]


def test_a_student_is_created_while_finance_is_down_and_gets_its_wallets_later(suite, staff, spec):
    suite.stop_service("finance")
    try:
        resp = staff.post(
            "/admin/students",
            json={"first_name": "Noah", "last_name": "Peeters", "class_name": "1B", "level": "primary"},
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["wallets"] == []
        student_id = resp.json()["id"]
    finally:
        suite.start_service("finance")
        suite.wait_ready()
    if "/api/v1/wallets" not in spec["paths"] or "/api/v1/admin/wallet-types" not in spec["paths"]:
        return
    # finance opens them from auth.student.created.v1
    family = new_family(suite, staff, children=[{"id": student_id}])
    deadline = time.monotonic() + 20
    while not expect(family.get("/wallets")).json()["items"]:
        assert time.monotonic() < deadline, "the wallets were never opened"
        time.sleep(0.3)


def test_staff_create_a_parent_account(suite, staff):
    student = staff.create_student("Lina", "Martin", "2C")
    email = f"{unique('martin-')}@example.test"
    resp = staff.post(
        "/admin/parents",
        json={"first_name": "Élodie", "last_name": "Martin", "email": email, "student_ids": [student["id"]]},
    )
    assert resp.status_code == 201, resp.text
    assert set(resp.json()) == {"id", "username"}
    assert resp.json()["username"].startswith("elodie.martin")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"student_ids": []}, "student_ids"),
        ({"student_ids": "abc"}, "student_ids"),
        ({"language": "de"}, "language"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_an_invalid_parent_is_400_with_the_field(staff, change, field):
    student = staff.create_student("Tom", "Invalide", "4A")
    body = {
        "first_name": "Marc",
        "last_name": "Invalide",
        "email": f"{unique('x-')}@example.test",
        "student_ids": [student["id"]],
        **change,
    }
    resp = staff.post("/admin/parents", json=body)
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["error"]["fields"]


def test_a_parent_for_an_unknown_student_is_refused(staff):
    body = {
        "first_name": "Marc",
        "last_name": "Inconnu",
        "email": f"{unique('x-')}@example.test",
        "student_ids": [unique("nobody")],
    }
    resp = staff.post("/admin/parents", json=body)
    assert resp.status_code in (400, 404), resp.text


def test_staff_endpoints_need_a_signed_in_staff_member(suite):
    client = anonymous(suite)
    assert client.post("/admin/students", json={}).status_code == 401
    assert client.post("/admin/parents", json={}).status_code == 401
    assert client.post("/admin/parents/x/token").status_code == 401


ACCOUNT_PATHS = {
    "/api/v1/activation": ["post"],
    "/api/v1/session": ["post", "delete"],
    "/api/v1/password-reset": ["post"],
    "/api/v1/password": ["put"],
    "/api/v1/children": ["get"],
    "/api/v1/session/child": ["put"],
    "/api/v1/admin/students": ["post"],
    "/api/v1/admin/parents": ["post"],
    "/api/v1/admin/parents/{id}/token": ["post"],
}


def test_the_account_paths_are_published_with_their_schemas_and_errors(spec):
    for path, methods in ACCOUNT_PATHS.items():
        assert path in spec["paths"], path
        for method in methods:
            op = spec["paths"][path][method]
            assert op["summary"]
            codes = set(op["responses"])
            assert codes & {"200", "201", "202", "204"}, (path, method)
            assert any(c.startswith(("4", "5")) for c in codes), (path, method)
            if method in ("post", "put") and path != "/api/v1/admin/parents/{id}/token":
                assert op["requestBody"]["content"]["application/json"]["schema"]["properties"], (
                    path,
                    method,
                )
    assert spec["paths"]["/api/v1/session"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    assert spec["components"]["schemas"]["Session"]["required"] == [
        "session_token",
        "csrf_token",
        "account",
        "children",
        "active_child_id",
    ]
