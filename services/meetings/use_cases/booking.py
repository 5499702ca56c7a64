"""Parents see the evenings open for their child, book a slot, cancel it and list their bookings.

The child's class comes from the parent's identity token on every call (auth signs it afresh for each
request): a class change reaches meetings at the next call, with no copy of the class to keep in step
and no consumer of auth.student.updated.v1 here. A booking keeps the class the child was in when it
was made (what the teacher's schedule prints). A child who left the school books nothing more.

A slot is never given twice: the pre-checks give a clear answer in the common case, and the partial
unique index on standing bookings is the guard when parents click at the same second (on SQLite the
writers are serialized by BEGIN IMMEDIATE; on PostgreSQL the second insert waits for the first and
fails, inside a savepoint so the answer can say why).
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.meetings.v1 import meetings_pb2 as pb
from kit.errors import Conflict, Forbidden, NotFound
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.service import Runtime
from services.meetings import db, events, views
from services.meetings.db import aware
from services.meetings.domain.evening import booking_open, may_cancel, overlaps, teaches
from services.meetings.use_cases.common import now


def idempotency_scope(account_id: str) -> str:
    """Where a parent's booking requests keep their answers (``kit.idempotency``): one scope per account."""
    return f"meetings-booking:{account_id}"


def _already_booked() -> Conflict:
    return Conflict("you already have a meeting with this teacher for this child", code="already_booked")


def _slot_taken() -> Conflict:
    return Conflict("this slot has just been taken", code="slot_taken")


def _one_line(text: str) -> str:
    return " ".join((text or "").split())[:200]


def _require_student_here(s: Session, who: Identity, student_id: str) -> None:
    """The caller may act for the student; staff (whose token names no student) not for one the
    bookings put only in another school: not_found, like an unknown id."""
    who.require_student(student_id)
    if who.role != "parent" and db.student_known_elsewhere(s, who.school_id, student_id):
        raise NotFound("no such student")


class Booking:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_open_evenings(self, who: Identity, student_id: str) -> pb.ListOpenEveningsResponse:
        """The evenings open for booking now where the child has teachers; each teacher with the
        free slots and the caller's own booking for this child. None for a child who left the school
        (nothing more to book; their standing bookings are in ``my_bookings``, still cancellable)."""
        class_name = who.students.get(student_id)
        at = now(self.rt)
        out = pb.ListOpenEveningsResponse()
        with self.rt.db.unit_of_work() as s:
            _require_student_here(s, who, student_id)
            if not class_name or who.is_left(student_id):
                return out
            evening_rows = db.open_evenings(s, who.school_id, at)
            if not evening_rows:
                return out
            teachers = db.teachers_of_class(s, [e.id for e in evening_rows], class_name)
            tids = [t.id for t in teachers]
            classes = db.classes_of(s, tids)
            free = db.free_slots_of(s, tids)
            mine = db.standing_bookings_of(s, who.account_id, student_id, teacher_ids=tids)
        free_by_teacher: dict[str, list] = {t: [] for t in tids}
        for sl in free:
            free_by_teacher[sl.teacher_id].append(sl)
        mine_by_teacher = {b.teacher_id: b for b in mine}
        for e in evening_rows:
            offers = []
            for t in sorted((t for t in teachers if t.evening_id == e.id), key=lambda t: t.name.casefold()):
                offer = pb.TeacherOffer(
                    teacher=views.teacher(t.id, t, classes[t.id]),
                    free_slots=[views.slot_of(sl, e.timezone) for sl in free_by_teacher[t.id]],
                )
                if t.id in mine_by_teacher:
                    offer.my_booking.CopyFrom(views.booking(mine_by_teacher[t.id], at))
                offers.append(offer)
            if offers:
                out.evenings.append(pb.OpenEvening(evening=views.evening(e), teachers=offers))
        return out

    def book_slot(
        self, who: Identity, slot_id: str, student_id: str, child_name: str, parent_name: str, key: str
    ) -> pb.BookSlotResponse:
        """Book one slot with a teacher of the child, inside the booking window; once per key. A child
        who left the school (the parent's token says so): 409 ``student_left``."""
        if who.role != "parent":
            raise Forbidden("booking a meeting is for parents")
        who.require_student(student_id)
        class_name = who.students[student_id]
        child_name = _one_line(child_name)
        parent_name = _one_line(parent_name)
        req = pb.BookSlotRequest(slot_id=slot_id, student_id=student_id)

        def work(s: Session) -> pb.BookSlotResponse:
            who.refuse_left(student_id)  # here: the same key still answers a booking made before
            at = now(self.rt)
            row = db.slot_of_school(s, slot_id, who.school_id)
            if row is None:
                raise NotFound("no such slot")
            if not teaches(db.classes_of(s, [row.teacher_id])[row.teacher_id], class_name):
                raise NotFound("no such slot")
            if not booking_open(aware(row.opens_at), aware(row.closes_at), at):
                raise Conflict("booking for this evening is closed", code="booking_closed")
            if db.has_standing_booking_with(s, row.teacher_id, who.account_id, student_id):
                raise _already_booked()
            if db.slot_is_taken(s, slot_id):
                raise _slot_taken()
            for other in db.standing_times_at(s, row.evening_id, who.account_id):
                if overlaps(
                    aware(other.starts_at), aware(other.ends_at), aware(row.starts_at), aware(row.ends_at)
                ):
                    raise Conflict("you already have a meeting at that time", code="overlapping_booking")
            booking_id = str(uuid.uuid4())
            try:
                with s.begin_nested():
                    db.insert_booking(
                        s,
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
                        booked_at=at,
                    )
            except IntegrityError:
                # Someone committed first at the same second: say which rule it was.
                raise (_slot_taken() if db.slot_is_taken(s, slot_id) else _already_booked()) from None
            view = db.booking_view(s, booking_id)
            self.rt.record(s, *events.booking_confirmed(view), who.school_id)
            return pb.BookSlotResponse(booking=views.booking(view, at))

        return run_idempotent(
            self.rt.db,
            db.idempotency_keys,
            idempotency_scope(who.account_id),
            key,
            request_hash(req),
            pb.BookSlotResponse,
            work,
        )

    def cancel_booking(self, who: Identity, booking_id: str) -> pb.CancelBookingResponse:
        """Cancel the caller's own booking until the close instant; cancelling twice changes nothing."""
        with self.rt.db.unit_of_work() as s:
            at = now(self.rt)
            r = db.booking_view(s, booking_id, school_id=who.school_id, account_id=who.account_id)
            if r is None:
                raise NotFound("no such booking")
            who.require_owner(r.student_id)
            if r.cancelled_at is None:
                if not may_cancel(aware(r.closes_at), at):
                    raise Conflict(
                        "bookings for this evening can no longer be cancelled", code="booking_closed"
                    )
                if db.cancel_standing_booking(s, booking_id, at, who.account_id):
                    self.rt.record(s, *events.booking_cancelled(r, who.account_id), who.school_id)
                r = db.booking_view(s, booking_id)
            return pb.CancelBookingResponse(booking=views.booking(r, at))

    def my_bookings(self, who: Identity, student_id: str) -> pb.ListMyBookingsResponse:
        """The caller's standing bookings for the child, for meetings not yet over, soonest first."""
        at = now(self.rt)
        with self.rt.db.unit_of_work() as s:
            _require_student_here(s, who, student_id)
            rows = db.standing_bookings_of(
                s, who.account_id, student_id, school_id=who.school_id, ending_after=at
            )
        return pb.ListMyBookingsResponse(bookings=[views.booking(r, at) for r in rows])
