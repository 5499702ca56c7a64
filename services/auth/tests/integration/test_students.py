"""The school's students in the back office, over gRPC on SQLite and PostgreSQL: the list (by name
whatever the accents, by class, active or left, page by page), one student with their parents, a
change of any field (people's names, the school's own id unique, a national number checked, kept
sealed and shown masked), a leaver, each change announced (auth.student.updated.v1) and audited."""

from __future__ import annotations

import logging

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import students as students_table
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, error_code, events, last_token, make_school
from services.auth.tests.integration.test_grpc_auth import activate, refused

NN = "15031212376"  # a valid Belgian national number (born 2015-03-12)
NN_TYPED = "15.03.12-123.76"
MASKED = "••••••••••76"


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


def add(stub, md, first, last, klass, level="primary"):
    req = pb.CreateStudentRequest(first_name=first, last_name=last, class_name=klass, level=level)
    return stub.CreateStudent(req, metadata=md).student


def names(students) -> list[str]:
    return [f"{s.first_name} {s.last_name}" for s in students]


def listed(stub, md, **kw) -> pb.ListStudentsResponse:
    return stub.ListStudents(pb.ListStudentsRequest(**kw), metadata=md)


@pytest.fixture
def pupils(stub, md):
    return {
        s.first_name: s
        for s in [
            add(stub, md, "Noé", "Dupont", "3A"),
            add(stub, md, "Lucas", "Dupont", "3A"),
            add(stub, md, "Zoë", "D'Hondt", "3A"),
            add(stub, md, "Émilie", "Lefèvre-Dubois", "1S2", "secondary"),
            add(stub, md, "Anne Marie", "Van den Bossche", "1S1", "secondary"),
        ]
    }


def test_students_are_listed_by_class_then_last_name_then_first_name(stub, md, pupils):
    got = listed(stub, md, limit=50)
    assert names(got.students) == [
        "Anne Marie Van den Bossche",
        "Émilie Lefèvre-Dubois",
        "Zoë D'Hondt",
        "Lucas Dupont",
        "Noé Dupont",
    ]
    assert got.next_cursor == ""
    assert {s.status for s in got.students} == {"active"}


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("noe", ["Noé Dupont"]),
        ("ZOE", ["Zoë D'Hondt"]),
        ("dhondt", ["Zoë D'Hondt"]),
        ("d’hondt", ["Zoë D'Hondt"]),
        ("lefevre dub", ["Émilie Lefèvre-Dubois"]),
        ("dupont lu", ["Lucas Dupont"]),
        ("lucas dupont", ["Lucas Dupont"]),
        ("van den", ["Anne Marie Van den Bossche"]),
        ("marie", ["Anne Marie Van den Bossche"]),
        ("dup", ["Lucas Dupont", "Noé Dupont"]),
        ("%", []),
        ("_", []),
    ],
)
def test_a_search_finds_any_part_of_a_name_whatever_the_accents_and_case(stub, md, pupils, q, found):
    assert names(listed(stub, md, q=q).students) == found


def test_a_class_filter_and_the_leavers(stub, md, pupils):
    assert names(listed(stub, md, class_name="1S2").students) == ["Émilie Lefèvre-Dubois"]
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=pupils["Noé"].id, left_on="2026-08-31"), metadata=md)
    assert "Noé Dupont" not in names(listed(stub, md, class_name="3A").students)
    (left,) = listed(stub, md, status="left").students
    assert (left.id, left.status, left.left_on) == (pupils["Noé"].id, "left", "2026-08-31")
    assert names(listed(stub, md, status="left", q="lucas").students) == []
    err = refused(lambda: listed(stub, md, status="gone"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_pages_follow_each_other_without_gap_or_repeat(stub, md):
    for i in range(7):
        add(stub, md, f"Élève{i}", "Martin", "2B")
    seen, cursor, pages = [], "", 0
    while True:
        page = listed(stub, md, limit=3, cursor=cursor)
        seen += [s.id for s in page.students]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    assert seen == [s.id for s in listed(stub, md).students]  # a plain lookup: every student
    assert len(listed(stub, md, q="martin").students) == 7  # limit 0 with a search: 50
    for bad in ({"limit": 201}, {"limit": -1}, {"cursor": "nope"}, {"cursor": "WyJhIl0"}):
        err = refused(lambda bad=bad: listed(stub, md, **bad))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, bad


def test_a_change_of_every_field_is_kept_announced_and_audited(stub, auth_rt, md, pupils):
    lucas = pupils["Lucas"]
    changed = stub.UpdateStudent(
        pb.UpdateStudentRequest(
            student_id=lucas.id,
            first_name="  jean-MARIE   d’Artagnan ",
            last_name="Dupont",
            class_name=" 4A ",
            level="secondary",
            birth_date="2015-03-12",
            external_id="MAT-0042",
            national_number=NN_TYPED,
        ),
        metadata=md,
    ).student
    assert (changed.first_name, changed.class_name, changed.level) == (
        "jean-MARIE d’Artagnan",
        "4A",
        "secondary",
    )
    assert (changed.birth_date, changed.external_id, changed.national_number) == (
        "2015-03-12",
        "MAT-0042",
        MASKED,
    )
    (_, ev), *_ = [e for e in events(auth_rt, "auth.student.updated.v1")]
    assert (ev.student_id, ev.class_name, ev.level, ev.status) == (lucas.id, "4A", "secondary", "active")
    assert (ev.previous_class_name, ev.previous_level, ev.first_name) == (
        "3A",
        "primary",
        "jean-MARIE d’Artagnan",
    )
    (_, entry), *_ = [e for e in reversed(events(auth_rt, "auth.audit.recorded.v1"))]
    assert entry.action == "auth.student.updated" and entry.object_id == lucas.id
    assert "class_name 3A → 4A" in entry.detail and "national_number" in entry.detail
    assert NN not in entry.detail and "15.03" not in entry.detail
    assert names(listed(stub, md, q="artagnan").students) == ["jean-MARIE d’Artagnan Dupont"]

    full = stub.GetStudent(pb.GetStudentRequest(student_id=lucas.id), metadata=md).student
    assert full.national_number == NN
    assert listed(stub, md, q="artagnan").students[0].national_number == MASKED
    with auth_rt.db.unit_of_work() as s:
        stored = s.execute(
            select(students_table.c.national_number).where(students_table.c.id == lucas.id)
        ).scalar()
    assert stored and NN not in stored and "2015" not in stored  # sealed (Fernet)

    # the same values again: nothing changes, nothing is said
    before = len(events(auth_rt))
    stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=lucas.id, class_name="4A", national_number=NN), metadata=md
    )
    assert len(events(auth_rt)) == before
    # "" clears what may be unknown
    cleared = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=lucas.id, birth_date="", external_id="", national_number=""),
        metadata=md,
    ).student
    assert (cleared.birth_date, cleared.external_id, cleared.national_number) == ("", "", "")


def test_the_national_number_is_never_logged(stub, md, pupils, caplog):
    caplog.set_level(logging.DEBUG)
    stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=pupils["Noé"].id, national_number=NN_TYPED), metadata=md
    )
    stub.GetStudent(pb.GetStudentRequest(student_id=pupils["Noé"].id), metadata=md)
    assert NN not in caplog.text and NN_TYPED not in caplog.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ""),
        ("first_name", "   "),
        ("first_name", "x" * 101),
        ("first_name", "<script>"),
        ("last_name", "marie@example.be"),
        ("last_name", "--"),
        ("class_name", ""),
        ("class_name", "x" * 51),
        ("level", "university"),
        ("birth_date", "12/03/2015"),
        ("birth_date", "2015-02-30"),
        ("birth_date", "2099-01-01"),
        ("birth_date", "1915-03-12"),
        ("external_id", "x" * 65),
        ("national_number", "15031212377"),
        ("national_number", "abc"),
    ],
)
def test_bad_values_are_refused_on_their_field_and_nothing_changes(stub, auth_rt, md, pupils, field, value):
    before = len(events(auth_rt))
    err = refused(
        lambda: stub.UpdateStudent(
            pb.UpdateStudentRequest(student_id=pupils["Noé"].id, **{field: value}), metadata=md
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in dict(err.trailing_metadata())["x-error-fields"]
    assert len(events(auth_rt)) == before


def test_people_s_names_are_accepted_as_they_are_written(stub, md, pupils):
    for first, last in [
        ("Marie-Claire Anne", "O'Brien"),
        ("Ana Lucía", "Núñez"),
        ("Søren", "Kierkegård"),
        ("Zoë", "N’Diaye"),
        ("Jean", "St. John"),
        ("Łucja", "Wąsowska"),
        ("Ярослав", "Шевченко"),
    ]:
        got = stub.UpdateStudent(
            pb.UpdateStudentRequest(student_id=pupils["Noé"].id, first_name=first, last_name=last),
            metadata=md,
        ).student
        assert (got.first_name, got.last_name) == (first, last)


def test_the_school_s_own_id_is_one_student_s_only(stub, auth_rt, md, pupils):
    stub.UpdateStudent(pb.UpdateStudentRequest(student_id=pupils["Noé"].id, external_id="E1"), metadata=md)
    err = refused(
        lambda: stub.UpdateStudent(
            pb.UpdateStudentRequest(student_id=pupils["Lucas"].id, external_id=" E1 "), metadata=md
        )
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "external_id_taken")
    # another school's student may carry the same id: it is each school's own
    other = make_school(auth_rt, "Athénée Royal", staff_first="Paul")
    theirs_md = bearer(
        stub.SignIn(
            pb.SignInRequest(username=other.staff_username, password=STAFF_PASSWORD)
        ).session.identity_token
    )
    theirs = add(stub, theirs_md, "Léa", "Martin", "1A")
    got = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=theirs.id, external_id="E1"), metadata=theirs_md
    )
    assert got.student.external_id == "E1"


def test_one_student_with_their_parents(stub, auth_rt, md, pupils):
    noe = pupils["Noé"]
    parent = stub.CreateParent(
        pb.CreateParentRequest(
            first_name="Marie", last_name="Dupont", email="marie@example.be", student_ids=[noe.id]
        ),
        metadata=md,
    )
    got = stub.GetStudent(pb.GetStudentRequest(student_id=noe.id), metadata=md)
    assert list(got.student.parent_ids) == [parent.id]
    assert [(p.id, p.email, list(p.student_ids)) for p in got.parents] == [
        (parent.id, "marie@example.be", [noe.id])
    ]
    assert listed(stub, md, q="noe").students[0].parent_ids == [parent.id]
    err = refused(lambda: stub.GetStudent(pb.GetStudentRequest(student_id="nobody"), metadata=md))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_a_leaver_stays_in_their_parent_s_session_read_only_and_leaving_again_the_same_day_changes_nothing(
    stub, auth_rt, md, pupils, clock, keys
):
    noe, lucas = pupils["Noé"], pupils["Lucas"]
    parent = stub.CreateParent(
        pb.CreateParentRequest(
            first_name="Marie", last_name="Dupont", email="marie@example.be", student_ids=[noe.id, lucas.id]
        ),
        metadata=md,
    )
    session = activate(stub, last_token(auth_rt, parent.id).token)
    assert {c.id for c in session.children} == {noe.id, lucas.id}
    left = stub.LeaveStudent(pb.LeaveStudentRequest(student_id=noe.id), metadata=md).student
    assert (left.status, left.left_on) == ("left", clock.now.date().isoformat())
    (_, ev), *_ = reversed(events(auth_rt, "auth.student.updated.v1"))
    assert (ev.student_id, ev.status, ev.left_on) == (noe.id, "left", left.left_on)
    again = stub.ResolveSession(pb.ResolveSessionRequest(session_token=session.session_token)).session
    assert sorted((c.id, c.status, c.left_on) for c in again.children) == sorted(
        [(noe.id, "left", left.left_on), (lucas.id, "active", "")]
    )
    assert again.active_child_id == lucas.id  # the only one still at the school
    who = keys.verifier.verify(again.identity_token)
    assert who.students == {noe.id: "3A", lucas.id: "3A"}
    assert who.left == {noe.id: left.left_on} and not who.may_change_for(noe.id)
    chosen = stub.SelectChild(
        pb.SelectChildRequest(session_token=session.session_token, child_id=noe.id)
    ).session
    assert chosen.active_child_id == noe.id

    before = len(events(auth_rt))
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=noe.id, left_on=left.left_on), metadata=md)
    assert len(events(auth_rt)) == before
    moved = stub.LeaveStudent(pb.LeaveStudentRequest(student_id=noe.id, left_on="2026-06-30"), metadata=md)
    assert moved.student.left_on == "2026-06-30"
    got = stub.GetParent(pb.GetParentRequest(parent_id=parent.id), metadata=md)
    assert {(c.id, c.status) for c in got.children} == {(noe.id, "left"), (lucas.id, "active")}
    for bad in ("30/06/2026", "2020-01-01", "2030-01-01"):
        err = refused(
            lambda bad=bad: stub.LeaveStudent(
                pb.LeaveStudentRequest(student_id=noe.id, left_on=bad), metadata=md
            )
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, bad


def test_a_parent_s_update_still_names_their_child_who_left(stub, auth_rt, md, pupils):
    # notifications keeps its contact book from these events: a leaver's open invoices still get mailed
    noe, lucas = pupils["Noé"], pupils["Lucas"]
    parent = stub.CreateParent(
        pb.CreateParentRequest(
            first_name="Marie", last_name="Dupont", email="marie@example.be", student_ids=[noe.id, lucas.id]
        ),
        metadata=md,
    )
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=noe.id), metadata=md)
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=parent.id, first_name="Marie-Anne"), metadata=md)
    (_, ev), *_ = reversed(events(auth_rt, "auth.parent.updated.v1"))
    assert (ev.account_id, ev.display_name) == (parent.id, "Marie-Anne Dupont")
    assert set(ev.student_ids) == {noe.id, lucas.id}
    assert ev.student_names[noe.id] == "Noé"
