"""Rows of the meetings tables as the protobuf messages the service answers with.

Instants are shown in the evening's own time zone (RFC 3339 with its offset), as parents read them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cartable.meetings.v1 import meetings_pb2 as pb
from services.meetings.db import aware
from services.meetings.domain.evening import may_cancel


def at(dt: datetime, tz: str) -> str:
    """A stored instant in the zone ``tz``, RFC 3339."""
    return aware(dt).astimezone(ZoneInfo(tz)).isoformat()


def evening(e) -> pb.Evening:
    return pb.Evening(
        id=e.id,
        title=e.title,
        date=e.date.isoformat(),
        starts_at=at(e.starts_at, e.timezone),
        ends_at=at(e.ends_at, e.timezone),
        slot_minutes=e.slot_minutes,
        opens_at=at(e.opens_at, e.timezone),
        closes_at=at(e.closes_at, e.timezone),
        timezone=e.timezone,
    )


def slot(slot_id: str, starts_at: datetime, ends_at: datetime, tz: str) -> pb.Slot:
    return pb.Slot(id=slot_id, starts_at=at(starts_at, tz), ends_at=at(ends_at, tz))


def slot_of(row, tz: str) -> pb.Slot:
    """A row of the slots table."""
    return slot(row.id, row.starts_at, row.ends_at, tz)


def teacher(teacher_id: str, t, class_names) -> pb.Teacher:
    """``t``: a teacher row or a planned teacher (name, room, account_id)."""
    return pb.Teacher(
        id=teacher_id,
        name=t.name,
        room=t.room,
        class_names=list(class_names),
        account_id=t.account_id or "",
    )


def booking(r, now: datetime) -> pb.Booking:
    """A booking view row (db.booking_view) as its parent sees it at ``now``."""
    tz = r.timezone
    return pb.Booking(
        id=r.id,
        evening_id=r.evening_id,
        evening_title=r.evening_title,
        teacher_id=r.teacher_id,
        teacher_name=r.teacher_name,
        room=r.room,
        slot=slot(r.slot_id, r.starts_at, r.ends_at, tz),
        student_id=r.student_id,
        child_name=r.child_name,
        cancellable=r.cancelled_at is None and may_cancel(aware(r.closes_at), now),
        closes_at=at(r.closes_at, tz),
        booked_at=at(r.booked_at, tz),
    )


def scheduled_booking(b, tz: str) -> pb.ScheduledBooking:
    """A row of the bookings table as staff see it on the schedule."""
    return pb.ScheduledBooking(
        id=b.id,
        student_id=b.student_id,
        child_name=b.child_name,
        class_name=b.class_name,
        parent_account_id=b.account_id,
        parent_name=b.parent_name,
        booked_at=at(b.booked_at, tz),
    )
