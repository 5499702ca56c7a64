"""Meetings: the evenings open to a parent, booking and cancelling slots; staff's evenings and
schedules, and the plan of a new evening as the service's request."""

from __future__ import annotations

from cartable.meetings.v1 import meetings_pb2
from gateway.clients import rpc
from gateway.web import field_int, field_str
from kit.errors import InvalidRequest

CREATE_TIMEOUT = 10  # an evening's slots are generated for every teacher at once


def child_name(sess, child_id: str) -> str:
    child = next((c for c in sess.children if c.id == child_id), None)
    return f"{child.first_name} {child.last_name}".strip() if child else ""


def open_evenings(child_id: str):
    return rpc(
        "meetings", "ListOpenEvenings", meetings_pb2.ListOpenEveningsRequest(student_id=child_id)
    ).evenings


def my_bookings(child_id: str):
    return rpc("meetings", "ListMyBookings", meetings_pb2.ListMyBookingsRequest(student_id=child_id)).bookings


def book(sess, child_id: str, slot_id: str, key: str):
    return rpc(
        "meetings",
        "BookSlot",
        meetings_pb2.BookSlotRequest(
            slot_id=slot_id,
            student_id=child_id,
            child_name=child_name(sess, child_id),
            parent_name=sess.account.display_name,
            idempotency_key=key,
        ),
    ).booking


def cancel(booking_id: str):
    return rpc("meetings", "CancelBooking", meetings_pb2.CancelBookingRequest(booking_id=booking_id)).booking


def list_evenings():
    return rpc("meetings", "ListEvenings", meetings_pb2.ListEveningsRequest()).evenings


def schedule(evening_id: str, teacher_id: str = ""):
    return rpc(
        "meetings",
        "GetSchedule",
        meetings_pb2.GetScheduleRequest(evening_id=evening_id, teacher_id=teacher_id),
    )


def create_evening(req: meetings_pb2.CreateEveningRequest):
    return rpc("meetings", "CreateEvening", req, timeout=CREATE_TIMEOUT)


def evening_request(data: dict) -> meetings_pb2.CreateEveningRequest:
    """The staff's JSON (or the staff page's parsed form) as the service's request; the service
    checks the plan itself and answers every problem in ``fields``."""
    teachers = data.get("teachers")
    if not isinstance(teachers, list) or not teachers:
        raise InvalidRequest(
            "list the teachers taking part", fields={"teachers": "a non-empty list of teachers"}
        )
    if len(teachers) > 100:
        raise InvalidRequest("too many teachers", fields={"teachers": "at most 100"})
    out = []
    for i, t in enumerate(teachers):
        classes = t.get("class_names") if isinstance(t, dict) else None
        if (
            not isinstance(t, dict)
            or not isinstance(classes, list)
            or not all(isinstance(c, str) for c in classes)
        ):
            raise InvalidRequest(
                "each teacher is {name, room, class_names}",
                fields={f"teachers[{i}]": "{name, room, class_names: [..]}"},
            )
        out.append(
            meetings_pb2.TeacherInput(
                name=field_str(t, "name", required=False, max_len=120),
                room=field_str(t, "room", required=False, max_len=60),
                class_names=[c.strip()[:40] for c in classes[:50]],
                account_id=field_str(t, "account_id", required=False, max_len=36),
            )
        )
    return meetings_pb2.CreateEveningRequest(
        title=field_str(data, "title", max_len=200),
        date=field_str(data, "date", max_len=10),
        start_time=field_str(data, "start_time", max_len=5),
        end_time=field_str(data, "end_time", max_len=5),
        slot_minutes=field_int(data, "slot_minutes", minimum=1, maximum=240),
        opens_at=field_str(data, "opens_at", max_len=40),
        closes_at=field_str(data, "closes_at", max_len=40),
        teachers=out,
    )
