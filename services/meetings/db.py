"""Tables of the meetings service (evenings, the teachers taking part and their classes, slots,
bookings) and every query the use cases make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.db import aware as aware  # re-exported: this service's modules read it from here
from kit.idempotency import idempotency_table
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)
idempotency_keys = idempotency_table(metadata)

evenings = Table(
    "evenings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("date", Date, nullable=False),  # the school's local date
    Column("timezone", String(64), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("opens_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_evenings_school_window", "school_id", "opens_at", "closes_at"),
)

evening_teachers = Table(
    "evening_teachers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("evening_id", String(36), ForeignKey("evenings.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("room", String(60), nullable=False, default=""),
    Column("account_id", String(36), nullable=True),  # the teacher's staff account, when known
)

teacher_classes = Table(
    "teacher_classes",
    metadata,
    Column("teacher_id", String(36), ForeignKey("evening_teachers.id"), nullable=False),
    Column("class_name", String(40), nullable=False),
    PrimaryKeyConstraint("teacher_id", "class_name"),
)

slots = Table(
    "slots",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("evening_id", String(36), ForeignKey("evenings.id"), nullable=False, index=True),
    Column("teacher_id", String(36), ForeignKey("evening_teachers.id"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("teacher_id", "starts_at"),
    Index("ix_slots_starts_at", "starts_at"),
)

_ACTIVE = text("cancelled_at IS NULL")

# A cancelled booking stays (history, its events); the two partial unique indexes apply to the
# bookings still standing: a slot is never given twice, and one parent account books one slot per
# teacher per child (two parents of the same child each have their own account).
bookings = Table(
    "bookings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("evening_id", String(36), ForeignKey("evenings.id"), nullable=False, index=True),
    Column("teacher_id", String(36), ForeignKey("evening_teachers.id"), nullable=False),
    Column("slot_id", String(36), ForeignKey("slots.id"), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("child_name", String(200), nullable=False, default=""),
    Column("class_name", String(40), nullable=False, default=""),
    Column("parent_name", String(200), nullable=False, default=""),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("cancelled_by", String(36), nullable=True),
    Column("reminded_at", DateTime(timezone=True), nullable=True),
    Index("uq_bookings_active_slot", "slot_id", unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    Index(
        "uq_bookings_active_parent_teacher_child",
        "teacher_id",
        "account_id",
        "student_id",
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    ),
    Index("ix_bookings_account_student", "account_id", "student_id"),
)

_STANDING = bookings.c.cancelled_at.is_(None)


# -- evenings, teachers, slots ------------------------------------------------------------------


def insert_evening(
    s: Session, evening: dict, teachers: list[dict], classes: list[dict], slot_rows: list[dict]
):
    """An evening with its teachers, their classes and every teacher's slots."""
    s.execute(evenings.insert().values(**evening))
    s.execute(evening_teachers.insert(), teachers)
    s.execute(teacher_classes.insert(), classes)
    s.execute(slots.insert(), slot_rows)


def evening_of_school(s: Session, school_id: str, evening_id: str):
    """The evening, or None when it is not this school's."""
    return s.execute(
        select(evenings).where(evenings.c.id == evening_id, evenings.c.school_id == school_id)
    ).first()


def evenings_of_school(s: Session, school_id: str) -> Sequence[Row]:
    """Every evening of the school, latest first."""
    return s.execute(
        select(evenings).where(evenings.c.school_id == school_id).order_by(evenings.c.starts_at.desc())
    ).all()


def open_evenings(s: Session, school_id: str, now: datetime) -> Sequence[Row]:
    """The school's evenings whose booking window holds ``now``, soonest first."""
    return s.execute(
        select(evenings)
        .where(evenings.c.school_id == school_id, evenings.c.opens_at <= now, evenings.c.closes_at > now)
        .order_by(evenings.c.starts_at)
    ).all()


def _count_by_evening(s: Session, table: Table, evening_ids: list[str], *where) -> dict[str, int]:
    return dict(
        s.execute(
            select(table.c.evening_id, func.count())
            .where(table.c.evening_id.in_(evening_ids), *where)
            .group_by(table.c.evening_id)
        ).all()
    )


def evening_counts(
    s: Session, evening_ids: list[str]
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Per evening: how many teachers, slots and standing bookings."""
    return (
        _count_by_evening(s, evening_teachers, evening_ids),
        _count_by_evening(s, slots, evening_ids),
        _count_by_evening(s, bookings, evening_ids, _STANDING),
    )


def teachers_of_evening(s: Session, evening_id: str, teacher_id: str = "") -> Sequence[Row]:
    """The evening's teachers (only ``teacher_id`` when given), by name."""
    q = select(evening_teachers).where(evening_teachers.c.evening_id == evening_id)
    if teacher_id:
        q = q.where(evening_teachers.c.id == teacher_id)
    return sorted(s.execute(q).all(), key=lambda t: t.name.casefold())


def teachers_of_class(s: Session, evening_ids: list[str], class_name: str) -> Sequence[Row]:
    """The teachers of these evenings who teach ``class_name``."""
    return s.execute(
        select(evening_teachers)
        .join(teacher_classes, teacher_classes.c.teacher_id == evening_teachers.c.id)
        .where(evening_teachers.c.evening_id.in_(evening_ids), teacher_classes.c.class_name == class_name)
    ).all()


def classes_of(s: Session, teacher_ids: list[str]) -> dict[str, list[str]]:
    """Each teacher's class names, sorted."""
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


def slots_of(s: Session, teacher_ids: list[str]) -> Sequence[Row]:
    """Every slot of these teachers, earliest first."""
    return s.execute(
        select(slots).where(slots.c.teacher_id.in_(teacher_ids)).order_by(slots.c.starts_at)
    ).all()


def free_slots_of(s: Session, teacher_ids: list[str]) -> Sequence[Row]:
    """The slots of these teachers that no standing booking holds, earliest first."""
    return s.execute(
        select(slots)
        .outerjoin(bookings, and_(bookings.c.slot_id == slots.c.id, _STANDING))
        .where(slots.c.teacher_id.in_(teacher_ids), bookings.c.id.is_(None))
        .order_by(slots.c.starts_at)
    ).all()


def slot_of_school(s: Session, slot_id: str, school_id: str):
    """The slot with its evening's booking window, or None when it is not this school's."""
    return s.execute(
        select(slots, evenings.c.opens_at, evenings.c.closes_at)
        .join(evenings, evenings.c.id == slots.c.evening_id)
        .where(slots.c.id == slot_id, evenings.c.school_id == school_id)
    ).first()


# -- bookings -----------------------------------------------------------------------------------


def _booking_views(s: Session, *where) -> Sequence[Row]:
    """Bookings with their slot, teacher and evening: what answers and events are made of."""
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


def booking_view(s: Session, booking_id: str, *, school_id: str = "", account_id: str = ""):
    """One booking with its slot, teacher and evening (only the school's / account's when given)."""
    where = [bookings.c.id == booking_id]
    if school_id:
        where.append(bookings.c.school_id == school_id)
    if account_id:
        where.append(bookings.c.account_id == account_id)
    rows = _booking_views(s, *where)
    return rows[0] if rows else None


def standing_bookings_of(
    s: Session,
    account_id: str,
    student_id: str,
    *,
    teacher_ids: list[str] | None = None,
    school_id: str = "",
    ending_after: datetime | None = None,
) -> Sequence[Row]:
    """The account's standing bookings for the child, soonest first, narrowed as asked."""
    where = [bookings.c.account_id == account_id, bookings.c.student_id == student_id, _STANDING]
    if teacher_ids is not None:
        where.append(bookings.c.teacher_id.in_(teacher_ids))
    if school_id:
        where.append(bookings.c.school_id == school_id)
    if ending_after is not None:
        where.append(slots.c.ends_at > ending_after)
    return _booking_views(s, *where)


def family_bookings(s: Session, school_id: str, account_id: str, student_ids: list[str]) -> Sequence[Row]:
    """Every booking of the school (cancelled ones too) made by the account or for these children,
    with its slot, teacher and evening, soonest first."""
    return _booking_views(
        s,
        bookings.c.school_id == school_id,
        or_(bookings.c.account_id == account_id, bookings.c.student_id.in_(student_ids)),
    )


def delete_family_bookings(s: Session, school_id: str, account_ids: list[str], student_ids: list[str]) -> int:
    """Delete the school's bookings (cancelled ones too) made by these accounts or for these
    children; how many."""
    result = s.execute(
        delete(bookings).where(
            bookings.c.school_id == school_id,
            or_(bookings.c.account_id.in_(account_ids), bookings.c.student_id.in_(student_ids)),
        )
    )
    return cast(CursorResult, result).rowcount or 0


def student_known_elsewhere(s: Session, school_id: str, student_id: str) -> bool:
    """Whether the bookings (made by parents, whose identity names the child and the school) put the
    student in another school and never in ``school_id``."""
    schools = set(
        s.execute(
            select(bookings.c.school_id).where(bookings.c.student_id == student_id).distinct()
        ).scalars()
    )
    return bool(schools) and school_id not in schools


def standing_bookings_by_slot(s: Session, teacher_ids: list[str]) -> dict:
    """The standing bookings of these teachers, by slot id."""
    rows = s.execute(select(bookings).where(bookings.c.teacher_id.in_(teacher_ids), _STANDING)).all()
    return {b.slot_id: b for b in rows}


def has_standing_booking_with(s: Session, teacher_id: str, account_id: str, student_id: str) -> bool:
    return (
        s.execute(
            select(bookings.c.id).where(
                bookings.c.teacher_id == teacher_id,
                bookings.c.account_id == account_id,
                bookings.c.student_id == student_id,
                _STANDING,
            )
        ).first()
        is not None
    )


def slot_is_taken(s: Session, slot_id: str) -> bool:
    return (
        s.execute(select(bookings.c.id).where(bookings.c.slot_id == slot_id, _STANDING)).first() is not None
    )


def standing_times_at(s: Session, evening_id: str, account_id: str) -> Sequence[Row]:
    """(starts_at, ends_at) of the account's standing bookings at the evening."""
    return s.execute(
        select(slots.c.starts_at, slots.c.ends_at)
        .join(bookings, bookings.c.slot_id == slots.c.id)
        .where(bookings.c.evening_id == evening_id, bookings.c.account_id == account_id, _STANDING)
    ).all()


def insert_booking(s: Session, **values) -> None:
    s.execute(bookings.insert().values(**values))


def cancel_standing_booking(s: Session, booking_id: str, now: datetime, by_account_id: str) -> bool:
    """Cancel the booking if it still stands; whether this call cancelled it."""
    result = s.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, _STANDING)
        .values(cancelled_at=now, cancelled_by=by_account_id)
    )
    return bool(cast(CursorResult, result).rowcount)


# -- reminders ----------------------------------------------------------------------------------


def reminder_candidates(s: Session, now: datetime, horizon: datetime) -> Sequence[Row]:
    """Standing, not yet reminded bookings whose meeting starts after ``now`` and by ``horizon``."""
    return s.execute(
        select(bookings.c.id, bookings.c.booked_at, slots.c.starts_at, evenings.c.timezone)
        .join(slots, slots.c.id == bookings.c.slot_id)
        .join(evenings, evenings.c.id == bookings.c.evening_id)
        .where(
            _STANDING,
            bookings.c.reminded_at.is_(None),
            slots.c.starts_at > now,
            slots.c.starts_at <= horizon,
        )
    ).all()


def claim_reminder(s: Session, booking_id: str, now: datetime) -> bool:
    """Mark the reminder sent if nobody did and the booking still stands; whether this call did."""
    result = s.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.reminded_at.is_(None), _STANDING)
        .values(reminded_at=now)
    )
    return bool(cast(CursorResult, result).rowcount)
