"""When the year turns, a whole class moves to its next one in one step (MoveClass), over gRPC on
SQLite and PostgreSQL: every active student of the class and only them, one auth.student.updated.v1
each (with the class before), one audit entry, the count answered."""

from __future__ import annotations

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, events, make_school
from services.auth.tests.integration.test_grpc_auth import refused


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


def add(stub, md, first, klass):
    req = pb.CreateStudentRequest(first_name=first, last_name="Martin", class_name=klass, level="primary")
    return stub.CreateStudent(req, metadata=md).student


def classes(stub, md, status="active") -> dict[str, str]:
    got = stub.ListStudents(pb.ListStudentsRequest(status=status, limit=200), metadata=md).students
    return {s.first_name: s.class_name for s in got}


def test_a_class_moves_to_the_next_one_in_one_step(stub, auth_rt, md):
    kids = [add(stub, md, name, "5A") for name in ("Léa", "Hugo", "Inès")]
    add(stub, md, "Tom", "5B")
    gone = add(stub, md, "Sam", "5A")
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=gone.id), metadata=md)
    before = len(events(auth_rt, "auth.student.updated.v1"))

    moved = stub.MoveClass(pb.MoveClassRequest(from_class="5A", to_class=" 6A "), metadata=md)
    assert moved.moved == 3
    assert classes(stub, md) == {"Léa": "6A", "Hugo": "6A", "Inès": "6A", "Tom": "5B"}
    assert classes(stub, md, "left") == {"Sam": "5A"}  # a leaver stays where they left from
    said = events(auth_rt, "auth.student.updated.v1")[before:]
    assert sorted(ev.student_id for _, ev in said) == sorted(k.id for k in kids)
    assert {(ev.class_name, ev.previous_class_name, ev.level, ev.previous_level) for _, ev in said} == {
        ("6A", "5A", "primary", "primary")
    }
    (_, entry), *_ = reversed(events(auth_rt, "auth.audit.recorded.v1"))
    assert (entry.action, entry.object_type, entry.object_id, entry.detail) == (
        "auth.class.moved",
        "class",
        "5A",
        "5A → 6A, 3 students",
    )


def test_an_empty_class_moves_nobody_and_says_nothing(stub, auth_rt, md):
    add(stub, md, "Tom", "5B")
    before = len(events(auth_rt))
    assert stub.MoveClass(pb.MoveClassRequest(from_class="4C", to_class="5C"), metadata=md).moved == 0
    assert len(events(auth_rt)) == before


@pytest.mark.parametrize(
    ("from_class", "to_class", "field"),
    [
        ("", "6A", "from_class"),
        ("  ", "6A", "from_class"),
        ("5A", "5A", "to_class"),
        ("5A", "", "to_class"),
        ("5A", "x" * 51, "to_class"),
    ],
)
def test_a_move_needs_two_different_classes(stub, auth_rt, md, from_class, to_class, field):
    add(stub, md, "Léa", "5A")
    before = len(events(auth_rt))
    err = refused(
        lambda: stub.MoveClass(pb.MoveClassRequest(from_class=from_class, to_class=to_class), metadata=md)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in dict(err.trailing_metadata())["x-error-fields"]
    assert len(events(auth_rt)) == before
