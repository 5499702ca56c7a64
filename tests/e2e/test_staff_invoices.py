"""The school's invoices through the whole suite (API.md "School back office"): bulk invoicing classes
and named students (the contract's answer, one invoice per active student with its own communication
and PDF, leavers skipped in a class and refused by name, every bad input refused on its field,
another school's ids not found, the same Idempotency-Key answering the same and issuing nothing, even
for two identical submissions at the same moment), the school's invoice list (the contract's shape,
every filter, keyset pages) and the finance summary."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from kit.dates import BRUSSELS
from kit.testing import wait_for
from tests.factories import expect, new_family, new_school, unique

LINES = [
    {"label": "Car", "quantity": 1, "unit_price_cents": 1500},
    {"label": "Entrée", "quantity": 2, "unit_price_cents": 450},
]
INVOICE_KEYS = {
    "id",
    "number",
    "title",
    "issued_on",
    "due_on",
    "total_cents",
    "paid_cents",
    "status",
    "structured_communication",
    "collection_pending",
}
ITEM_KEYS = INVOICE_KEYS | {"student_id", "student_name", "class_name", "reminders_sent"}


def today() -> dt.date:
    return dt.datetime.now(BRUSSELS).date()


def due(days: int = 30) -> str:
    return (today() + dt.timedelta(days=days)).isoformat()


def error_of(resp, status: int = 400) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


def bulk(staff, key: str | None = None, status: int = 201, **body):
    body = {"title": "Musée", "due_on": due(), "lines": LINES, **body}
    headers = {"Idempotency-Key": key} if key else {}
    return expect(staff.post("/admin/invoices/bulk", json=body, headers=headers), status)


def listed(staff, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        body = expect(
            staff.get("/admin/invoices", params={**params, **({"cursor": cursor} if cursor else {})})
        ).json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


@pytest.fixture(scope="module")
def school(suite):
    """A school with two classes of its own names: A (3 students), B (2)."""
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    a, b = unique("A-"), unique("B-")
    kids = {
        name: staff.create_student(name, last, cls)
        for name, last, cls in (
            ("Emma", "Aubry", a),
            ("Leo", "Bastin", a),
            ("Noah", "Collin", a),
            ("Zoe", "Dumont", b),
            ("Adam", "Evrard", b),
        )
    }
    staff.classes = (a, b)
    staff.kids = {k: v["id"] for k, v in kids.items()}
    staff.records = kids
    return staff


def test_bulk_invoices_a_class_and_named_students_once_each_with_its_pdf(suite, school):
    a, b = school.classes
    parent = new_family(suite, school, [school.records["Zoe"]])
    resp = bulk(school, unique("k-"), title="Classe verte", class_names=[a], student_ids=[school.kids["Zoe"]])
    body = resp.json()
    assert set(body) == {"count", "total_cents", "invoice_ids"}
    assert (body["count"], body["total_cents"], len(body["invoice_ids"])) == (4, 4 * 2400, 4)
    got = listed(school, q="Classe verte")
    assert {i["id"] for i in got} == set(body["invoice_ids"])
    assert all(set(i) == ITEM_KEYS for i in got)
    assert len({i["structured_communication"] for i in got}) == 4
    zoe = next(i for i in got if i["student_id"] == school.kids["Zoe"])
    assert (zoe["student_name"], zoe["class_name"], zoe["reminders_sent"]) == ("Zoe Dumont", b, 0)
    assert {i["class_name"] for i in got} == {a, b}
    titles: list[str] = []

    def titles_now() -> list[str]:
        titles[:] = [d["title"] for d in expect(parent.get("/documents")).json()["items"]]
        return titles

    wait_for(
        lambda: any("Classe verte" in t for t in titles_now()),
        timeout=60,
        interval=0.3,
        what="the bulk invoice's PDF in Zoe's documents",
        describe=lambda: titles,
    )


def test_the_same_key_answers_the_same_another_body_is_refused(school):
    _a, b = school.classes
    key = unique("same-")
    first = bulk(school, key, title="Piscine", class_names=[b]).json()
    assert bulk(school, key, title="Piscine", class_names=[b]).json() == first
    assert len(listed(school, q="Piscine")) == 2
    assert error_of(bulk(school, key, 409, title="Piscine 2", class_names=[b]), 409)["code"] == (
        "idempotency_key_reused"
    )
    assert len(listed(school, q="Piscine")) == 2


def test_two_identical_submissions_at_the_same_moment_issue_once(school):
    a, _b = school.classes
    key, title = unique("race-"), unique("Théâtre ")
    body = {"title": title, "due_on": due(), "lines": LINES, "class_names": [a]}
    answers: list = [None, None]
    start = threading.Barrier(2)

    def submit(i: int) -> None:
        start.wait()
        answers[i] = school.post("/admin/invoices/bulk", json=body, headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
    assert answers[0].json() == answers[1].json()
    assert len(listed(school, q=title)) == 3


def test_bad_input_is_refused_on_its_field_and_issues_nothing(school):
    a, _b = school.classes
    before = len(listed(school))
    assert set(error_of(bulk(school, None, 400, class_names=[]))["fields"]) >= {"class_names", "student_ids"}
    fields = error_of(bulk(school, None, 400, title="", lines=[], class_names=[a]))["fields"]
    assert {"title", "lines"} <= set(fields)
    assert (
        "lines[0].unit_price_cents"
        in error_of(bulk(school, None, 400, lines=[{"label": "x", "unit_price_cents": -1}], class_names=[a]))[
            "fields"
        ]
    )
    assert "due_on" in error_of(bulk(school, None, 400, due_on="31/12/2030", class_names=[a]))["fields"]
    assert "class_names" in error_of(bulk(school, None, 400, class_names="A"))["fields"]
    assert "class_names" in error_of(bulk(school, None, 400, class_names=[unique("nope-")]))["fields"]
    expect(school.post("/admin/invoices/bulk", data="nope"), 400)
    assert len(listed(school)) == before


def test_another_school_s_students_are_not_found_and_nothing_is_issued(suite, school):
    other = new_school(suite)
    expect(other.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    theirs = other.create_student("Ines", "Autre", "X1")["id"]
    before = len(listed(school))
    assert error_of(bulk(school, None, 404, student_ids=[theirs]), 404)["code"] == "not_found"
    assert error_of(bulk(school, None, 404, student_ids=[school.kids["Emma"], theirs]), 404)
    # their class name is no class of ours
    assert "class_names" in error_of(bulk(school, None, 400, class_names=["X1"]))["fields"]
    assert len(listed(school)) == before
    assert listed(other) == []
    assert error_of(school.get("/admin/invoices", params={"student_id": theirs}), 404)["code"] == "not_found"
    assert expect(other.get("/admin/finance/summary")).json()["unpaid_count"] == 0


def test_a_leaver_is_skipped_in_a_class_and_refused_by_name(suite):
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    cls = unique("C-")
    stay = staff.create_student("Lou", "Reste", cls)["id"]
    gone = staff.create_student("Max", "Parti", cls)["id"]
    mark = suite.bus_mark()
    expect(staff.post(f"/admin/students/{gone}/leave", json={"left_on": today().isoformat()}))
    suite.wait_until_settled(mark)  # finance has recorded the leaver
    assert error_of(bulk(staff, None, 409, student_ids=[gone]), 409)["code"] == "student_left"
    body = bulk(staff, unique("k-"), class_names=[cls]).json()
    assert body["count"] == 1
    assert [i["student_id"] for i in listed(staff)] == [stay]


def test_the_list_filters_and_pages_and_the_summary_adds_up(suite):
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    c1, c2 = unique("D-"), unique("E-")
    ids = [staff.create_student(f"Kid{i}", f"Last{i}", c1 if i < 3 else c2)["id"] for i in range(5)]
    bulk(staff, unique("k-"), title="Excursion", class_names=[c1, c2])
    late = bulk(staff, unique("k-"), title="Cantine", due_on=today().isoformat(), student_ids=[ids[3]]).json()
    # a cash top-up on one wallet
    wallet = expect(staff.get(f"/admin/students/{ids[0]}/wallets")).json()["items"][0]
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json={"amount_cents": 1000}), 201)
    everything = listed(staff, limit=2)
    assert len(everything) == 6
    assert everything[0]["id"] == late["invoice_ids"][0]  # newest first
    assert [i["number"] for i in everything] == sorted((i["number"] for i in everything), reverse=True)
    assert len(listed(staff, class_name=c2)) == 3
    assert len(listed(staff, student_id=ids[3])) == 2
    assert len(listed(staff, status="unpaid")) == 6
    assert listed(staff, status="paid") == []
    assert [i["title"] for i in listed(staff, q="cant")] == ["Cantine"]
    number = everything[-1]["number"]
    assert [i["number"] for i in listed(staff, q=number)] == [number]
    assert listed(staff, overdue="true") == []  # due today is not overdue yet
    for bad in ({"status": "nope"}, {"limit": "0"}, {"overdue": "maybe"}, {"cursor": "!!"}):
        assert error_of(staff.get("/admin/invoices", params=bad))["code"] == "invalid_request"
    summary = expect(staff.get("/admin/finance/summary")).json()
    assert summary == {
        "wallets_total_cents": 1000,
        "unpaid_count": 6,
        "unpaid_total_cents": 6 * 2400,
        "overdue_count": 0,
        "overdue_total_cents": 0,
        "classes": [
            {
                "class_name": c1,
                "students": 3,
                "wallets_total_cents": 1000,
                "unpaid_count": 3,
                "unpaid_total_cents": 7200,
            },
            {
                "class_name": c2,
                "students": 2,
                "wallets_total_cents": 0,
                "unpaid_count": 3,
                "unpaid_total_cents": 7200,
            },
        ],
    }


def test_parents_and_strangers_are_refused(suite, school):
    parent = new_family(suite, school, [{"first_name": "Paul"}])
    for method, path in (
        ("GET", "/admin/invoices"),
        ("POST", "/admin/invoices/bulk"),
        ("GET", "/admin/finance/summary"),
    ):
        assert parent.request(method, path, json={}).status_code == 403
    spec = expect(school.get("/openapi.json")).json()["paths"]
    assert {"get", "post"} <= set(spec["/api/v1/admin/invoices"])
    assert "post" in spec["/api/v1/admin/invoices/bulk"]
    assert "get" in spec["/api/v1/admin/finance/summary"]
