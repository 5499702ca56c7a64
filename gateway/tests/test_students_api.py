"""The school's students through the JSON API (API.md "School back office"), in-process against a
fake auth and finance: the list's shape, filters and paging as asked of auth, one student with their
wallets, parents and invoices, a change (only the fields given), a leaver, a whole class moved, and
auth's refusals answered as the API's errors."""

from __future__ import annotations

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from cartable.finance.v1 import finance_pb2 as fpb
from gateway.tests.conftest import not_found
from gateway.tests.test_people_api import PARENT_KEYS, parent
from kit.errors import Conflict, InvalidRequest

STUDENT_KEYS = {
    "id",
    "first_name",
    "last_name",
    "class_name",
    "level",
    "status",
    "external_id",
    "birth_date",
    "parent_ids",
    "left_on",
    "national_number",
}
EMMA = pb.Student(
    id="s-1",
    school_id="school-1",
    first_name="Emma",
    last_name="D'Hondt",
    class_name="3A",
    level="primary",
    status="active",
    external_id="E-001",
    birth_date="2016-04-02",
    parent_ids=["p-1"],
    national_number="••••••••••91",
)
NOAH = pb.Student(
    id="s-2", first_name="Noah", last_name="Peeters", class_name="3B", level="primary", status="active"
)


@pytest.fixture
def staff(fakes):
    return fakes.staff()


def call(client, staff, method: str, path: str, **kw):
    return getattr(client, method)(path, headers=staff.bearer, **kw)


def test_the_list_has_the_contract_shape_and_asks_auth_for_a_page(client, fakes, staff):
    fakes.on("auth", "ListStudents", pb.ListStudentsResponse(students=[EMMA, NOAH], next_cursor="abc_-1"))
    resp = call(client, staff, "get", "/api/v1/admin/students")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] == "abc_-1"
    assert body["items"][0] == {
        "id": "s-1",
        "first_name": "Emma",
        "last_name": "D'Hondt",
        "class_name": "3A",
        "level": "primary",
        "status": "active",
        "external_id": "E-001",
        "birth_date": "2016-04-02",
        "parent_ids": ["p-1"],
        "left_on": None,
        "national_number": "••••••••••91",
    }
    second = body["items"][1]
    assert set(second) == STUDENT_KEYS
    assert second["external_id"] is None and second["birth_date"] is None and second["parent_ids"] == []
    asked = fakes.requests("auth", "ListStudents")[-1]
    assert (asked.q, asked.class_name, asked.status, asked.limit, asked.cursor) == ("", "", "active", 50, "")

    fakes.on("auth", "ListStudents", pb.ListStudentsResponse(students=[EMMA]))
    params = {"q": " éloïse ", "class_name": "3A", "status": "LEFT", "limit": "10", "cursor": "abc_-1"}
    last = call(client, staff, "get", "/api/v1/admin/students", query_string=params).get_json()
    assert last["next_cursor"] is None
    asked = fakes.requests("auth", "ListStudents")[-1]
    assert (asked.q, asked.class_name, asked.status, asked.limit, asked.cursor) == (
        "éloïse",
        "3A",
        "left",
        10,
        "abc_-1",
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "gone"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"q": "x" * 201}, "q"),
        ({"cursor": "c" * 1001}, "cursor"),
    ],
)
def test_a_bad_list_query_is_a_400_naming_the_field(client, fakes, staff, params, field):
    resp = call(client, staff, "get", "/api/v1/admin/students", query_string=params)
    assert resp.status_code == 400
    assert (
        resp.get_json()["error"]["code"] == "invalid_request" and field in resp.get_json()["error"]["fields"]
    )
    assert fakes.requests("auth", "ListStudents") == []


def test_a_cursor_auth_does_not_know_is_its_400(client, fakes, staff):
    def refuse(_req):
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})

    fakes.on("auth", "ListStudents", refuse)
    resp = call(client, staff, "get", "/api/v1/admin/students", query_string={"cursor": "bogus"})
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {
        "cursor": "use next_cursor as given"
    }


def test_one_student_with_wallets_parents_and_invoices(client, fakes, staff):
    full = pb.Student()
    full.CopyFrom(EMMA)
    full.national_number = "16040212391"
    fakes.on(
        "auth", "GetStudent", pb.GetStudentResponse(student=full, parents=[parent(1, "Éloïse", "Dubois")])
    )
    wallet = fpb.Wallet(
        id="w-1", name="Général", balance_cents=1250, structured_communication="+++090/9337/55493+++"
    )
    fakes.on("finance", "ListWallets", fpb.ListWalletsResponse(wallets=[wallet]))
    invoice = fpb.Invoice(id="i-1", number="2026-0001", title="Piscine", total_cents=800, status="unpaid")
    fakes.on("finance", "ListInvoices", fpb.ListInvoicesResponse(invoices=[invoice]))

    body = call(client, staff, "get", "/api/v1/admin/students/s-1").get_json()
    assert set(body) == STUDENT_KEYS | {"wallets", "parents", "invoices"}
    assert body["national_number"] == "16040212391"
    assert body["wallets"] == [
        {
            "id": "w-1",
            "name": "Général",
            "balance_cents": 1250,
            "structured_communication": "+++090/9337/55493+++",
            "auto_top_up": {"enabled": False, "threshold_cents": 0, "amount_cents": 0, "pending_cents": 0},
            "collection_pending_cents": 0,
        }
    ]
    assert [set(p) for p in body["parents"]] == [PARENT_KEYS] and body["parents"][0]["id"] == "p-1"
    assert body["invoices"][0]["id"] == "i-1" and body["invoices"][0]["status"] == "unpaid"
    assert fakes.requests("auth", "GetStudent")[0].student_id == "s-1"
    assert fakes.requests("finance", "ListWallets")[0].student_id == "s-1"
    assert fakes.requests("finance", "ListInvoices")[0].student_id == "s-1"


def test_an_unknown_or_other_schools_student_is_a_404_and_finance_is_not_asked(client, fakes, staff):
    for method in ("GetStudent", "UpdateStudent", "LeaveStudent"):
        fakes.on("auth", method, not_found)
    assert call(client, staff, "get", "/api/v1/admin/students/s-404").status_code == 404
    assert (
        call(client, staff, "patch", "/api/v1/admin/students/s-404", json={"class_name": "4A"}).status_code
        == 404
    )
    assert call(client, staff, "post", "/api/v1/admin/students/s-404/leave", json={}).status_code == 404
    assert fakes.requests("finance", "ListWallets") == []


def test_a_change_sends_only_the_fields_given(client, fakes, staff):
    fakes.on("auth", "UpdateStudent", pb.UpdateStudentResponse(student=EMMA))
    resp = call(
        client, staff, "patch", "/api/v1/admin/students/s-1", json={"class_name": "4A", "external_id": None}
    )
    assert resp.status_code == 200 and set(resp.get_json()) == STUDENT_KEYS
    sent = fakes.requests("auth", "UpdateStudent")[0]
    assert sent.student_id == "s-1" and sent.class_name == "4A" and sent.HasField("external_id")
    assert sent.external_id == ""  # null clears it
    assert not any(
        sent.HasField(n) for n in ("first_name", "last_name", "level", "birth_date", "national_number")
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"class": "4A"}, "class"),
        ({"status": "left"}, "status"),
        ({"level": 2}, "level"),
        ({"first_name": ["Emma"]}, "first_name"),
        ({"last_name": "x" * 501}, "last_name"),
    ],
)
def test_a_bad_change_body_is_a_400_before_auth_is_asked(client, fakes, staff, body, field):
    resp = call(client, staff, "patch", "/api/v1/admin/students/s-1", json=body)
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    assert fakes.requests("auth", "UpdateStudent") == []
    not_json = call(
        client, staff, "patch", "/api/v1/admin/students/s-1", data="[]", content_type="application/json"
    )
    assert not_json.status_code == 400


def test_auths_refusals_of_a_change(client, fakes, staff):
    def bad(_req):
        raise InvalidRequest("the student is not valid", fields={"level": "primary or secondary"})

    fakes.on("auth", "UpdateStudent", bad)
    resp = call(client, staff, "patch", "/api/v1/admin/students/s-1", json={"level": "tertiary"})
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {"level": "primary or secondary"}

    def taken(_req):
        raise Conflict("another student of the school has this id", code="external_id_taken")

    fakes.on("auth", "UpdateStudent", taken)
    resp = call(client, staff, "patch", "/api/v1/admin/students/s-1", json={"external_id": "E-002"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "external_id_taken"


def test_a_leaver(client, fakes, staff):
    left = pb.Student()
    left.CopyFrom(EMMA)
    left.status, left.left_on = "left", "2026-06-30"
    fakes.on("auth", "LeaveStudent", pb.LeaveStudentResponse(student=left))
    body = call(
        client, staff, "post", "/api/v1/admin/students/s-1/leave", json={"left_on": "2026-06-30"}
    ).get_json()
    assert body["status"] == "left" and body["left_on"] == "2026-06-30" and set(body) == STUDENT_KEYS
    assert fakes.requests("auth", "LeaveStudent")[0].left_on == "2026-06-30"
    assert call(client, staff, "post", "/api/v1/admin/students/s-1/leave").status_code == 200  # today
    assert fakes.requests("auth", "LeaveStudent")[1].left_on == ""
    for bad in ({"left_on": 20260630}, ["2026-06-30"]):
        assert call(client, staff, "post", "/api/v1/admin/students/s-1/leave", json=bad).status_code == 400
    assert len(fakes.requests("auth", "LeaveStudent")) == 2


def test_a_class_moved(client, fakes, staff):
    fakes.on("auth", "MoveClass", pb.MoveClassResponse(moved=23))
    resp = call(
        client,
        staff,
        "post",
        "/api/v1/admin/classes/move",
        json={"from_class_name": "3A", "to_class_name": "4A"},
    )
    assert resp.status_code == 200 and resp.get_json() == {"moved": 23}
    sent = fakes.requests("auth", "MoveClass")[0]
    assert (sent.from_class, sent.to_class) == ("3A", "4A")

    def refuse(_req):
        raise InvalidRequest(
            "the class move is not valid", fields={"to_class": "another class than from_class"}
        )

    fakes.on("auth", "MoveClass", refuse)
    resp = call(
        client,
        staff,
        "post",
        "/api/v1/admin/classes/move",
        json={"from_class_name": "3A", "to_class_name": "3A"},
    )
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {
        "to_class_name": "another class than from_class"
    }
    assert (
        call(client, staff, "post", "/api/v1/admin/classes/move", json={"from_class_name": 3}).status_code
        == 400
    )


def test_only_the_schools_staff(client, fakes):
    parent_session = fakes.parent()
    for method, path in [
        ("get", "/api/v1/admin/students"),
        ("get", "/api/v1/admin/students/s-1"),
        ("patch", "/api/v1/admin/students/s-1"),
        ("post", "/api/v1/admin/students/s-1/leave"),
        ("post", "/api/v1/admin/classes/move"),
    ]:
        assert getattr(client, method)(path, json={}).status_code == 401, path
        assert getattr(client, method)(path, json={}, headers=parent_session.bearer).status_code == 403, path
    assert fakes.requests("auth", "ListStudents") == [] and fakes.requests("auth", "MoveClass") == []


def test_a_cookie_caller_needs_the_csrf_header_to_change_a_student(client, fakes, staff):
    fakes.on("auth", "UpdateStudent", pb.UpdateStudentResponse(student=EMMA))
    client.set_cookie("cartable_session", staff.token)
    refused = client.patch("/api/v1/admin/students/s-1", json={"class_name": "4A"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    ok = client.patch(
        "/api/v1/admin/students/s-1", json={"class_name": "4A"}, headers={"X-CSRF-Token": staff.csrf}
    )
    assert ok.status_code == 200
