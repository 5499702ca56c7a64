"""What the meetings service publishes: each routing key once, beside the message it carries."""

from __future__ import annotations

from cartable.meetings.v1 import events_pb2
from services.meetings.views import at

CONFIRMED = "meetings.booking.confirmed.v1"
CANCELLED = "meetings.booking.cancelled.v1"
REMINDER_DUE = "meetings.booking.reminder_due.v1"


def _details(r) -> events_pb2.BookingDetails:
    """A booking view row (db.booking_view): who, which child, which teacher, when."""
    tz = r.timezone
    return events_pb2.BookingDetails(
        booking_id=r.id,
        parent_account_id=r.account_id,
        parent_name=r.parent_name,
        student_id=r.student_id,
        child_name=r.child_name,
        class_name=r.class_name,
        teacher_id=r.teacher_id,
        teacher_name=r.teacher_name,
        room=r.room,
        evening_id=r.evening_id,
        evening_title=r.evening_title,
        evening_date=r.evening_date.isoformat(),
        starts_at=at(r.starts_at, tz),
        ends_at=at(r.ends_at, tz),
        timezone=tz,
        closes_at=at(r.closes_at, tz),
    )


def booking_confirmed(r) -> tuple[str, events_pb2.BookingConfirmed]:
    return CONFIRMED, events_pb2.BookingConfirmed(booking=_details(r))


def booking_cancelled(r, by_account_id: str) -> tuple[str, events_pb2.BookingCancelled]:
    return CANCELLED, events_pb2.BookingCancelled(booking=_details(r), cancelled_by_account_id=by_account_id)


def booking_reminder_due(r) -> tuple[str, events_pb2.BookingReminderDue]:
    return REMINDER_DUE, events_pb2.BookingReminderDue(booking=_details(r))
