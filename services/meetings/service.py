"""Use cases of the meetings service, one unit of work each.

A slot is never given twice: the pre-checks give a clear answer in the common case, and the partial
unique index on standing bookings is the guard when parents click at the same second (on SQLite the
writers are serialized by BEGIN IMMEDIATE; on PostgreSQL the second insert waits for the first and
fails, inside a savepoint so the answer can say why).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.meetings.v1 import events_pb2
from cartable.meetings.v1 import meetings_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.service import Runtime
from kit.settings import Settings, SettingsError
from services.meetings.db import (
    bookings,
    evening_teachers,
    evenings,
    idempotency_keys,
    slots,
    teacher_classes,
)
from services.meetings.domain.evening import (
    PlanError,
    booking_open,
    may_cancel,
    overlaps,
    plan_evening,
    reminder_due,
    teaches,
)

log = logging.getLogger("meetings")

CONFIRMED = "meetings.booking.confirmed.v1"
CANCELLED = "meetings.booking.cancelled.v1"
REMINDER_DUE = "meetings.booking.reminder_due.v1"


def _aware(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class Config:
    timezone: str = "Europe/Brussels"
    reminder_hour: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        tz = settings.meetings_timezone
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"MEETINGS_TIMEZONE: unknown time zone {tz!r}") from None
        try:
            hour = settings.meetings_reminder_hour
            if not 0 <= hour <= 23:
                raise ValueError
        except ValueError:
            raise SettingsError("MEETINGS_REMINDER_HOUR: an hour from 0 to 23") from None
        return cls(tz, hour)


class MeetingsService:
    def __init__(self, rt: Runtime, config: Config | None = None) -> None:
        self.rt = rt
        self.config = config or Config.from_settings(rt.settings)

    def now(self) -> datetime:
        return _utc(self.rt.clock())

    # -- proto builders ---------------------------------------------------------------------------

    @staticmethod
    def _at(dt: datetime, tz: str) -> str:
        return _aware(dt).astimezone(ZoneInfo(tz)).isoformat()

    def _evening_pb(self, e) -> pb.Evening:
        return pb.Evening(
            id=e.id,
            title=e.title,
            date=e.date.isoformat(),
            starts_at=self._at(e.starts_at, e.timezone),
            ends_at=self._at(e.ends_at, e.timezone),
            slot_minutes=e.slot_minutes,
            opens_at=self._at(e.opens_at, e.timezone),
            closes_at=self._at(e.closes_at, e.timezone),
            timezone=e.timezone,
        )

    def _slot_pb(self, slot, tz: str) -> pb.Slot:
        return pb.Slot(id=slot.id, starts_at=self._at(slot.starts_at, tz), ends_at=self._at(slot.ends_at, tz))

    @staticmethod
    def _teacher_pb(t, classes: list[str]) -> pb.Teacher:
        return pb.Teacher(
            id=t.id, name=t.name, room=t.room, class_names=classes, account_id=t.account_id or ""
        )

    def _booking_rows(self, s: Session, *where):
        q = (
            select(
                bookings,
                slots.c.starts_at,
                slots.c.ends_at,
                evening_teachers.c.name.label("teacher_name"),
                evening_teachers.c.room,
                evenings.c.title.label("evening_title"),
                evenings.c.date.label("evening_date"),
                evenings.c.timezone,
                evenings.c.closes_at,
            )
            .join(slots, slots.c.id == bookings.c.slot_id)
            .join(evening_teachers, evening_teachers.c.id == bookings.c.teacher_id)
            .join(evenings, evenings.c.id == bookings.c.evening_id)
            .where(*where)
            .order_by(slots.c.starts_at, evening_teachers.c.name)
        )
        return s.execute(q).all()

    def _booking_pb(self, r, now: datetime) -> pb.Booking:
        tz = r.timezone
        return pb.Booking(
            id=r.id,
            evening_id=r.evening_id,
            evening_title=r.evening_title,
            teacher_id=r.teacher_id,
            teacher_name=r.teacher_name,
            room=r.room,
            slot=pb.Slot(id=r.slot_id, starts_at=self._at(r.starts_at, tz), ends_at=self._at(r.ends_at, tz)),
            student_id=r.student_id,
            child_name=r.child_name,
            cancellable=r.cancelled_at is None and may_cancel(_aware(r.closes_at), now),
            closes_at=self._at(r.closes_at, tz),
            booked_at=self._at(r.booked_at, tz),
        )

    def _details(self, r) -> events_pb2.BookingDetails:
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
            starts_at=self._at(r.starts_at, tz),
            ends_at=self._at(r.ends_at, tz),
            timezone=tz,
            closes_at=self._at(r.closes_at, tz),
        )

    def _classes(self, s: Session, teacher_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {t: [] for t in teacher_ids}
        if teacher_ids:
            rows = s.execute(
                select(teacher_classes)
                .where(teacher_classes.c.teacher_id.in_(teacher_ids))
                .order_by(teacher_classes.c.class_name)
            ).all()
            for r in rows:
                out[r.teacher_id].append(r.class_name)
        return out

    def _evening(self, s: Session, who: Identity, evening_id: str):
        row = s.execute(
            select(evenings).where(evenings.c.id == evening_id, evenings.c.school_id == who.school_id)
        ).first()
        if row is None:
            raise NotFound("no such meeting evening")
        return row

    # -- staff ------------------------------------------------------------------------------------

    def create_evening(self, who: Identity, req: pb.CreateEveningRequest) -> pb.CreateEveningResponse:
        """A meeting evening: its teachers with their classes, and every teacher's slots."""
        who.require_staff()
        try:
            plan = plan_evening(
                title=req.title,
                day=req.date,
                start_time=req.start_time,
                end_time=req.end_time,
                slot_minutes=req.slot_minutes,
                opens_at=req.opens_at,
                closes_at=req.closes_at,
                teachers=[(t.name, t.room, list(t.class_names), t.account_id) for t in req.teachers],
                timezone=self.config.timezone,
            )
        except PlanError as e:
            raise InvalidRequest("the meeting evening is not valid", fields=e.fields) from None
        evening_id = str(uuid.uuid4())
        times = plan.slot_times()
        teacher_rows, class_rows, slot_rows = [], [], []
        for t in plan.teachers:
            tid = str(uuid.uuid4())
            teacher_rows.append(
                {
                    "id": tid,
                    "evening_id": evening_id,
                    "name": t.name,
                    "room": t.room,
                    "account_id": t.account_id or None,
                }
            )
            class_rows += [{"teacher_id": tid, "class_name": c} for c in t.class_names]
            slot_rows += [
                {
                    "id": str(uuid.uuid4()),
                    "evening_id": evening_id,
                    "teacher_id": tid,
                    "starts_at": _utc(a),
                    "ends_at": _utc(b),
                }
                for a, b in times
            ]
        with self.rt.db.unit_of_work() as s:
            s.execute(
                evenings.insert().values(
                    id=evening_id,
                    school_id=who.school_id,
                    title=plan.title,
                    date=plan.day,
                    timezone=plan.timezone,
                    starts_at=_utc(plan.starts_at),
                    ends_at=_utc(plan.ends_at),
                    slot_minutes=plan.slot_minutes,
                    opens_at=_utc(plan.opens_at),
                    closes_at=_utc(plan.closes_at),
                    created_by=who.account_id,
                    created_at=self.now(),
                )
            )
            s.execute(evening_teachers.insert(), teacher_rows)
            s.execute(teacher_classes.insert(), class_rows)
            s.execute(slots.insert(), slot_rows)
            evening = self._evening(s, who, evening_id)
        by_id = {r["id"]: plan.teachers[i] for i, r in enumerate(teacher_rows)}
        return pb.CreateEveningResponse(
            evening=self._evening_pb(evening),
            teachers=sorted(
                (
                    pb.Teacher(
                        id=tid,
                        name=t.name,
                        room=t.room,
                        class_names=list(t.class_names),
                        account_id=t.account_id,
                    )
                    for tid, t in by_id.items()
                ),
                key=lambda t: t.name.casefold(),
            ),
            slot_count=len(slot_rows),
        )

    def list_evenings(self, who: Identity) -> pb.ListEveningsResponse:
        """Every evening of the school, latest first, with how full it is."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(evenings)
                .where(evenings.c.school_id == who.school_id)
                .order_by(evenings.c.starts_at.desc())
            ).all()
            ids = [r.id for r in rows]
            teachers = dict(
                s.execute(
                    select(evening_teachers.c.evening_id, func.count())
                    .where(evening_teachers.c.evening_id.in_(ids))
                    .group_by(evening_teachers.c.evening_id)
                ).all()
            )
            slot_counts = dict(
                s.execute(
                    select(slots.c.evening_id, func.count())
                    .where(slots.c.evening_id.in_(ids))
                    .group_by(slots.c.evening_id)
                ).all()
            )
            booked = dict(
                s.execute(
                    select(bookings.c.evening_id, func.count())
                    .where(bookings.c.evening_id.in_(ids), bookings.c.cancelled_at.is_(None))
                    .group_by(bookings.c.evening_id)
                ).all()
            )
        return pb.ListEveningsResponse(
            evenings=[
                pb.EveningSummary(
                    evening=self._evening_pb(r),
                    teacher_count=teachers.get(r.id, 0),
                    slot_count=slot_counts.get(r.id, 0),
                    booked_count=booked.get(r.id, 0),
                )
                for r in rows
            ]
        )

    def schedule(self, who: Identity, evening_id: str, teacher_id: str = "") -> pb.GetScheduleResponse:
        """Each teacher's slots, free or with the child, class and parent who booked them."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            evening = self._evening(s, who, evening_id)
            q = select(evening_teachers).where(evening_teachers.c.evening_id == evening_id)
            if teacher_id:
                q = q.where(evening_teachers.c.id == teacher_id)
            teachers = sorted(s.execute(q).all(), key=lambda t: t.name.casefold())
            if teacher_id and not teachers:
                raise NotFound("no such teacher at this evening")
            tids = [t.id for t in teachers]
            classes = self._classes(s, tids)
            slot_rows = s.execute(
                select(slots).where(slots.c.teacher_id.in_(tids)).order_by(slots.c.starts_at)
            ).all()
            taken = {
                b.slot_id: b
                for b in s.execute(
                    select(bookings).where(bookings.c.teacher_id.in_(tids), bookings.c.cancelled_at.is_(None))
                ).all()
            }
        tz = evening.timezone
        by_teacher: dict[str, list[pb.ScheduleSlot]] = {t: [] for t in tids}
        for sl in slot_rows:
            entry = pb.ScheduleSlot(slot=self._slot_pb(sl, tz))
            b = taken.get(sl.id)
            if b is not None:
                entry.booking.CopyFrom(
                    pb.ScheduledBooking(
                        id=b.id,
                        student_id=b.student_id,
                        child_name=b.child_name,
                        class_name=b.class_name,
                        parent_account_id=b.account_id,
                        parent_name=b.parent_name,
                        booked_at=self._at(b.booked_at, tz),
                    )
                )
            by_teacher[sl.teacher_id].append(entry)
        return pb.GetScheduleResponse(
            evening=self._evening_pb(evening),
            teachers=[
                pb.TeacherSchedule(teacher=self._teacher_pb(t, classes[t.id]), slots=by_teacher[t.id])
                for t in teachers
            ],
        )

    # -- parents ----------------------------------------------------------------------------------

    def list_open_evenings(self, who: Identity, student_id: str) -> pb.ListOpenEveningsResponse:
        """The evenings open for booking now where the child has teachers; each teacher with the
        free slots and the caller's own booking for this child."""
        who.require_student(student_id)
        class_name = who.students.get(student_id)
        now = self.now()
        out = pb.ListOpenEveningsResponse()
        if not class_name:
            return out
        with self.rt.db.unit_of_work() as s:
            evening_rows = s.execute(
                select(evenings)
                .where(
                    evenings.c.school_id == who.school_id,
                    evenings.c.opens_at <= now,
                    evenings.c.closes_at > now,
                )
                .order_by(evenings.c.starts_at)
            ).all()
            if not evening_rows:
                return out
            teachers = s.execute(
                select(evening_teachers)
                .join(teacher_classes, teacher_classes.c.teacher_id == evening_teachers.c.id)
                .where(
                    evening_teachers.c.evening_id.in_([e.id for e in evening_rows]),
                    teacher_classes.c.class_name == class_name,
                )
            ).all()
            tids = [t.id for t in teachers]
            classes = self._classes(s, tids)
            free = s.execute(
                select(slots)
                .outerjoin(
                    bookings, and_(bookings.c.slot_id == slots.c.id, bookings.c.cancelled_at.is_(None))
                )
                .where(slots.c.teacher_id.in_(tids), bookings.c.id.is_(None))
                .order_by(slots.c.starts_at)
            ).all()
            mine = self._booking_rows(
                s,
                bookings.c.teacher_id.in_(tids),
                bookings.c.account_id == who.account_id,
                bookings.c.student_id == student_id,
                bookings.c.cancelled_at.is_(None),
            )
        free_by_teacher: dict[str, list] = {t: [] for t in tids}
        for sl in free:
            free_by_teacher[sl.teacher_id].append(sl)
        mine_by_teacher = {b.teacher_id: b for b in mine}
        for e in evening_rows:
            offers = []
            for t in sorted((t for t in teachers if t.evening_id == e.id), key=lambda t: t.name.casefold()):
                offer = pb.TeacherOffer(
                    teacher=self._teacher_pb(t, classes[t.id]),
                    free_slots=[self._slot_pb(sl, e.timezone) for sl in free_by_teacher[t.id]],
                )
                if t.id in mine_by_teacher:
                    offer.my_booking.CopyFrom(self._booking_pb(mine_by_teacher[t.id], now))
                offers.append(offer)
            if offers:
                out.evenings.append(pb.OpenEvening(evening=self._evening_pb(e), teachers=offers))
        return out

    def book_slot(
        self, who: Identity, slot_id: str, student_id: str, child_name: str, parent_name: str, key: str
    ) -> pb.BookSlotResponse:
        """Book one slot with a teacher of the child, inside the booking window; once per key."""
        if who.role != "parent":
            raise Forbidden("booking a meeting is for parents")
        who.require_student(student_id)
        class_name = who.students[student_id]
        child_name = " ".join((child_name or "").split())[:200]
        parent_name = " ".join((parent_name or "").split())[:200]
        req = pb.BookSlotRequest(slot_id=slot_id, student_id=student_id)

        def work(s: Session) -> pb.BookSlotResponse:
            now = self.now()
            row = s.execute(
                select(slots, evenings.c.opens_at, evenings.c.closes_at)
                .join(evenings, evenings.c.id == slots.c.evening_id)
                .where(slots.c.id == slot_id, evenings.c.school_id == who.school_id)
            ).first()
            if row is None:
                raise NotFound("no such slot")
            classes = self._classes(s, [row.teacher_id])[row.teacher_id]
            if not teaches(classes, class_name):
                raise NotFound("no such slot")
            if not booking_open(_aware(row.opens_at), _aware(row.closes_at), now):
                raise Conflict("booking for this evening is closed", code="booking_closed")
            active = bookings.c.cancelled_at.is_(None)
            if s.execute(
                select(bookings.c.id).where(
                    bookings.c.teacher_id == row.teacher_id,
                    bookings.c.account_id == who.account_id,
                    bookings.c.student_id == student_id,
                    active,
                )
            ).first():
                raise Conflict(
                    "you already have a meeting with this teacher for this child", code="already_booked"
                )
            if s.execute(select(bookings.c.id).where(bookings.c.slot_id == slot_id, active)).first():
                raise Conflict("this slot has just been taken", code="slot_taken")
            for other in s.execute(
                select(slots.c.starts_at, slots.c.ends_at)
                .join(bookings, bookings.c.slot_id == slots.c.id)
                .where(
                    bookings.c.evening_id == row.evening_id, bookings.c.account_id == who.account_id, active
                )
            ).all():
                if overlaps(
                    _aware(other.starts_at), _aware(other.ends_at), _aware(row.starts_at), _aware(row.ends_at)
                ):
                    raise Conflict("you already have a meeting at that time", code="overlapping_booking")
            booking_id = str(uuid.uuid4())
            try:
                with s.begin_nested():
                    s.execute(
                        bookings.insert().values(
                            id=booking_id,
                            school_id=who.school_id,
                            evening_id=row.evening_id,
                            teacher_id=row.teacher_id,
                            slot_id=slot_id,
                            account_id=who.account_id,
                            student_id=student_id,
                            child_name=child_name,
                            class_name=class_name,
                            parent_name=parent_name,
                            booked_at=now,
                        )
                    )
            except IntegrityError:
                # Someone committed first at the same second: say which rule it was.
                taken = s.execute(select(bookings.c.id).where(bookings.c.slot_id == slot_id, active)).first()
                if taken:
                    raise Conflict("this slot has just been taken", code="slot_taken") from None
                raise Conflict(
                    "you already have a meeting with this teacher for this child", code="already_booked"
                ) from None
            view = self._booking_rows(s, bookings.c.id == booking_id)[0]
            self.rt.record(
                s, CONFIRMED, events_pb2.BookingConfirmed(booking=self._details(view)), who.school_id
            )
            return pb.BookSlotResponse(booking=self._booking_pb(view, now))

        return run_idempotent(
            self.rt.db,
            idempotency_keys,
            f"meetings-booking:{who.account_id}",
            key,
            request_hash(req),
            pb.BookSlotResponse,
            work,
        )

    def cancel_booking(self, who: Identity, booking_id: str) -> pb.CancelBookingResponse:
        """Cancel the caller's own booking until the close instant; cancelling twice changes nothing."""
        with self.rt.db.unit_of_work() as s:
            now = self.now()
            rows = self._booking_rows(
                s,
                bookings.c.id == booking_id,
                bookings.c.school_id == who.school_id,
                bookings.c.account_id == who.account_id,
            )
            if not rows:
                raise NotFound("no such booking")
            r = rows[0]
            who.require_owner(r.student_id)
            if r.cancelled_at is None:
                if not may_cancel(_aware(r.closes_at), now):
                    raise Conflict(
                        "bookings for this evening can no longer be cancelled", code="booking_closed"
                    )
                changed = s.execute(
                    update(bookings)
                    .where(bookings.c.id == booking_id, bookings.c.cancelled_at.is_(None))
                    .values(cancelled_at=now, cancelled_by=who.account_id)
                ).rowcount
                if changed:
                    self.rt.record(
                        s,
                        CANCELLED,
                        events_pb2.BookingCancelled(
                            booking=self._details(r), cancelled_by_account_id=who.account_id
                        ),
                        who.school_id,
                    )
                r = self._booking_rows(s, bookings.c.id == booking_id)[0]
            return pb.CancelBookingResponse(booking=self._booking_pb(r, now))

    def my_bookings(self, who: Identity, student_id: str) -> pb.ListMyBookingsResponse:
        """The caller's standing bookings for the child, for meetings not yet over, soonest first."""
        who.require_student(student_id)
        now = self.now()
        with self.rt.db.unit_of_work() as s:
            rows = self._booking_rows(
                s,
                bookings.c.school_id == who.school_id,
                bookings.c.account_id == who.account_id,
                bookings.c.student_id == student_id,
                bookings.c.cancelled_at.is_(None),
                slots.c.ends_at > now,
            )
        return pb.ListMyBookingsResponse(bookings=[self._booking_pb(r, now) for r in rows])

    # -- reminders --------------------------------------------------------------------------------

    def send_due_reminders(self, now: datetime | None = None) -> int:
        """Publish ``meetings.booking.reminder_due.v1`` once per standing booking whose meeting is
        tomorrow (from the reminder hour on). Safe with several runners: a booking is claimed by
        setting ``reminded_at`` only where it is still empty, in the transaction that records the event."""
        now = _utc(now or self.rt.clock())
        with self.rt.db.unit_of_work() as s:
            candidates = s.execute(
                select(bookings.c.id, bookings.c.booked_at, slots.c.starts_at, evenings.c.timezone)
                .join(slots, slots.c.id == bookings.c.slot_id)
                .join(evenings, evenings.c.id == bookings.c.evening_id)
                .where(
                    bookings.c.cancelled_at.is_(None),
                    bookings.c.reminded_at.is_(None),
                    slots.c.starts_at > now,
                    slots.c.starts_at <= now + timedelta(days=3),
                )
            ).all()
        due = [
            c.id
            for c in candidates
            if reminder_due(
                _aware(c.starts_at), _aware(c.booked_at), c.timezone, self.config.reminder_hour, now
            )
        ]
        sent = 0
        for booking_id in due:
            with self.rt.db.unit_of_work() as s:
                claimed = s.execute(
                    update(bookings)
                    .where(
                        bookings.c.id == booking_id,
                        bookings.c.reminded_at.is_(None),
                        bookings.c.cancelled_at.is_(None),
                    )
                    .values(reminded_at=now)
                ).rowcount
                if not claimed:
                    continue  # another runner took it, or it was cancelled meanwhile
                r = self._booking_rows(s, bookings.c.id == booking_id)[0]
                self.rt.record(
                    s, REMINDER_DUE, events_pb2.BookingReminderDue(booking=self._details(r)), r.school_id
                )
                sent += 1
        if sent:
            log.info("meeting reminders due", extra={"count": sent})
        return sent
