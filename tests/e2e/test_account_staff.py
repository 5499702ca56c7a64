"""What the school's staff do for accounts through the API: students (auth, then finance opens their
wallets), parent accounts and new tokens; and the published OpenAPI entries of the account paths."""

from __future__ import annotations

import re

import pytest

from kit.testing import wait_for
from tests.factories import anonymous, expect, mail_text, mails_to, new_family, new_school, unique

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
        assert set(wallet) >= {"id", "name", "balance_cents", "structured_communication"}
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
    wait_for(lambda: expect(family.get("/wallets")).json()["items"], timeout=60, what="the wallets opened")


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


def test_a_brother_enrolled_later_is_linked_to_the_existing_parent(suite, staff):
    """One account per parent: the school links a child enrolled later instead of creating a second
    account; the parent sees both children at once, and mails about the new child reach them."""
    lina = staff.create_student("Lina", "Dubois", "2C")
    parent = new_family(suite, staff, [lina], first_name="Nora")
    assert [c["id"] for c in parent.children] == [lina["id"]]
    tom = staff.create_student("Tom", "Dubois", "1A")
    linked = expect(
        staff.post(f"/admin/parents/{parent.parent_id}/children", json={"student_ids": [tom["id"]]})
    )
    assert linked.json() == {"id": parent.parent_id, "student_ids": sorted([lina["id"], tom["id"]])}
    # again: nothing changes
    again = expect(
        staff.post(f"/admin/parents/{parent.parent_id}/children", json={"student_ids": [tom["id"]]})
    )
    assert again.json()["student_ids"] == linked.json()["student_ids"]

    children = expect(parent.get("/children")).json()["items"]
    assert sorted(c["first_name"] for c in children) == ["Lina", "Tom"]
    assert parent.select_child(tom["id"])["active_child_id"] == tom["id"]

    # the contact book of notifications follows: a document for Tom is mailed to this parent. Events of
    # two services are not ordered between them, so a document deposited in the same instant as the
    # link may be announced before the link is known: deposit again until one is mailed (bounded). Each
    # deposit is waited for until the bus has settled (its announcement handled, its mail sent or not).
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    mailed = False
    for attempt in range(10):
        title = f"Journal de classe {attempt}"
        mark = suite.bus_mark()
        expect(
            staff.post(
                "/admin/documents",
                data={"title": title, "student_ids": tom["id"]},
                files={"file": ("journal.pdf", pdf, "application/pdf")},
            ),
            201,
        )
        suite.wait_until_settled(mark)
        mailed = any(title in mail_text(m) for m in mails_to(suite, parent.email))
        if mailed:
            break
    assert mailed, "no mail about Tom's documents reached the linked parent"


def test_linking_children_is_checked(suite, staff):
    mine = staff.create_student("Ana", "Lopez", "3A")
    parent = new_family(suite, staff, [mine], first_name="Rosa")
    other_school = new_school(suite)
    theirs = other_school.create_student("Zoé", "Autre", "3A")
    url = f"/admin/parents/{parent.parent_id}/children"
    unknown = staff.post(url, json={"student_ids": [theirs["id"]]})
    assert unknown.status_code == 400 and "student_ids" in unknown.json()["error"]["fields"]
    assert staff.post(url, json={"student_ids": []}).status_code == 400
    assert staff.post(url, json={}).status_code == 400
    # another school's staff cannot reach this parent; a parent cannot link anyone
    assert other_school.post(url, json={"student_ids": [theirs["id"]]}).status_code == 404
    assert parent.post(url, json={"student_ids": [mine["id"]]}).status_code == 403
    assert [c["id"] for c in expect(parent.get("/children")).json()["items"]] == [mine["id"]]
