"""Tables of the meetings service: evenings, the teachers taking part and their classes, slots,
bookings."""

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    text,
)

from kit.bus import bus_tables
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
