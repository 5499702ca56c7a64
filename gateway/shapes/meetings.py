"""JSON shapes: Parent meetings: evenings, slots, bookings, schedules."""

from __future__ import annotations

from typing import Any

# -- meetings ---------------------------------------------------------------------------------------


def evening_json(e) -> dict[str, Any]:
    return {
        "id": e.id,
        "title": e.title,
        "date": e.date,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "slot_minutes": e.slot_minutes,
        "opens_at": e.opens_at,
        "closes_at": e.closes_at,
        "timezone": e.timezone,
    }


def slot_json(s) -> dict[str, Any]:
    return {"id": s.id, "starts_at": s.starts_at, "ends_at": s.ends_at}


def teacher_json(t) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "room": t.room, "class_names": list(t.class_names)}


def booking_json(b) -> dict[str, Any]:
    return {
        "id": b.id,
        "evening_id": b.evening_id,
        "evening_title": b.evening_title,
        "teacher_id": b.teacher_id,
        "teacher_name": b.teacher_name,
        "room": b.room,
        "slot_id": b.slot.id,
        "starts_at": b.slot.starts_at,
        "ends_at": b.slot.ends_at,
        "child_id": b.student_id,
        "child_name": b.child_name,
        "cancellable": b.cancellable,
        "closes_at": b.closes_at,
        "booked_at": b.booked_at,
    }


def open_evening_json(oe) -> dict[str, Any]:
    return {
        **evening_json(oe.evening),
        "teachers": [
            {
                "id": t.teacher.id,
                "name": t.teacher.name,
                "room": t.teacher.room,
                "free_slots": [slot_json(s) for s in t.free_slots],
                "booking": booking_json(t.my_booking) if t.HasField("my_booking") else None,
            }
            for t in oe.teachers
        ],
    }


def evening_summary_json(e) -> dict[str, Any]:
    """One of the school's evenings with how full it is (``ListEveningsResponse`` items)."""
    return {
        **evening_json(e.evening),
        "teacher_count": e.teacher_count,
        "slot_count": e.slot_count,
        "booked_count": e.booked_count,
    }


def schedule_json(resp) -> dict[str, Any]:
    def booked(s):
        if not s.HasField("booking"):
            return None
        b = s.booking
        return {
            "id": b.id,
            "child_id": b.student_id,
            "child_name": b.child_name,
            "class_name": b.class_name,
            "parent_account_id": b.parent_account_id,
            "parent_name": b.parent_name,
            "booked_at": b.booked_at,
        }

    return {
        "evening": evening_json(resp.evening),
        "teachers": [
            {
                **teacher_json(t.teacher),
                "slots": [{**slot_json(s.slot), "booking": booked(s)} for s in t.slots],
            }
            for t in resp.teachers
        ],
    }
