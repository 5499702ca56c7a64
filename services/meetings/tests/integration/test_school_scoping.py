"""Every staff RPC of the meetings service refuses, in the service itself, an id of another school:
not_found, like an id that never existed, and nothing written (every table, outbox included, the same
before and after). Through the real servicer over gRPC, with staff tokens.

A staff token names no student: a student is "of another school" when parents booked for them in that
school (a parent's identity names the child and the school) and never in the caller's."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import grpc
import pytest

from cartable.meetings.v1 import meetings_pb2 as pb
from services.meetings.tests.conftest import evening_request, md, snapshot

OURS, THEIRS = "sch-1", "sch-2"


def _school(stub, keys, school: str, student: str) -> SimpleNamespace:
    """An evening of the school, one of its teachers' slots booked by a parent of ``student``."""
    staff = keys.token(role="staff", school_id=school)
    parent = keys.token(
        role="parent", school_id=school, students={student: "3A"}, account_id=f"parent-{student}"
    )
    made = stub.CreateEvening(evening_request(), metadata=md(staff))
    teacher = made.teachers[0].id
    schedule = stub.GetSchedule(
        pb.GetScheduleRequest(evening_id=made.evening.id, teacher_id=teacher), metadata=md(staff)
    )
    first, second = schedule.teachers[0].slots[0].slot.id, schedule.teachers[0].slots[1].slot.id
    booking = stub.BookSlot(
        pb.BookSlotRequest(
            slot_id=first, student_id=student, child_name=student.title(), idempotency_key="b"
        ),
        metadata=md(parent),
    ).booking
    return SimpleNamespace(
        student=student, evening=made.evening.id, teacher=teacher, slot=second, booking=booking.id
    )


@pytest.fixture
def schools(meetings_rt, stub, keys) -> SimpleNamespace:
    return SimpleNamespace(
        rt=meetings_rt,
        stub=stub,
        staff=keys.token(role="staff", school_id=OURS, account_id="boss-1"),
        us=_school(stub, keys, OURS, "emma"),
        them=_school(stub, keys, THEIRS, "zoe"),
    )


# (RPC, the request field holding the other school's id) -> the request, built from our ids except
# that field, which takes the ids given (ours in the control test, theirs in the matrix).
Build = Callable[[SimpleNamespace, SimpleNamespace], object]
CASES: dict[tuple[str, str], Build] = {
    ("ListOpenEvenings", "student_id"): lambda us, x: pb.ListOpenEveningsRequest(student_id=x.student),
    ("ListMyBookings", "student_id"): lambda us, x: pb.ListMyBookingsRequest(student_id=x.student),
    ("GetSchedule", "evening_id"): lambda us, x: pb.GetScheduleRequest(evening_id=x.evening),
    ("GetSchedule", "teacher_id"): lambda us, x: pb.GetScheduleRequest(
        evening_id=us.evening, teacher_id=x.teacher
    ),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # Parents only: staff are refused (permission denied) before anything is read, see
    # test_staff_cannot_book; a parent's slot is looked up in the school of their identity.
    ("BookSlot", "slot_id"): "parents only",
    ("BookSlot", "student_id"): "parents only",
    # Only the caller's own bookings (school and account): staff have none; not a staff RPC.
    ("CancelBooking", "booking_id"): "own bookings only",
    # A label of the caller's evening (shown back on its schedule): meetings knows no staff accounts,
    # auth announces none; nothing reads it across schools.
    ("CreateEvening", "teachers.account_id"): "meetings knows no accounts",
}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_refused_and_nothing_is_written(schools, rpc, field):
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff))


def test_staff_cannot_book_nor_cancel_another_schools_booking(schools):
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        schools.stub.BookSlot(
            pb.BookSlotRequest(
                slot_id=schools.them.slot, student_id=schools.them.student, idempotency_key="x"
            ),
            metadata=md(schools.staff),
        )
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:
        schools.stub.CancelBooking(
            pb.CancelBookingRequest(booking_id=schools.them.booking), metadata=md(schools.staff)
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert snapshot(schools.rt) == before


def test_the_evenings_listed_are_the_callers_schools_only(schools):
    listed = schools.stub.ListEvenings(pb.ListEveningsRequest(), metadata=md(schools.staff)).evenings
    assert [e.evening.id for e in listed] == [schools.us.evening]


def _id_fields(message, prefix: str = "") -> set[str]:
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name.endswith(("_id", "_ids")) or f.name == "references":
            out.add(prefix + f.name)
    return out


def test_every_id_field_of_every_rpc_is_in_the_matrix():
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    service = pb.DESCRIPTOR.services_by_name["MeetingsService"]
    fields = {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)}
    assert fields == set(CASES) | set(EXEMPT)
