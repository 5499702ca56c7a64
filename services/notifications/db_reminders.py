"""Tables and queries of overdue-invoice reminders: notifications' own book of the schools' invoices
(from finance's events), each school's reminder settings, the students' levels (from auth's events)
and one row per reminder sent (invoice, day), whose primary key makes a reminder once per day however
many runs race for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    case,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.notifications.db import _insert, metadata
from services.notifications.domain.reminders import ReminderSettings

OPEN, PAID, CANCELLED = "open", "paid", "cancelled"

# The invoices as finance announced them (finance.invoice.issued.v1), what is still open after each
# finance.payment.received.v1 naming them, and cancelled by finance.invoice.cancelled.v1.
invoices = Table(
    "reminder_invoices",
    metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("number", String(40), nullable=False, default=""),
    Column("title", String(200), nullable=False, default=""),
    Column("student_name", String(200), nullable=False, default=""),
    Column("total_cents", BigInteger, nullable=False),
    Column("open_cents", BigInteger, nullable=False),
    Column("due_on", String(10), nullable=False),  # YYYY-MM-DD
    Column("communication", String(20), nullable=False, default=""),
    Column("school_name", String(200), nullable=False, default=""),
    Column("beneficiary", String(200), nullable=False, default=""),
    Column("iban", String(40), nullable=False, default=""),
    Column("bic", String(11), nullable=False, default=""),
    Column("status", String(10), nullable=False, default=OPEN),  # open | paid | cancelled
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_reminder_invoices_status_school", "status", "school_id"),
)

settings = Table(
    "reminder_settings",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("first_after_days", Integer, nullable=False),
    Column("repeat_every_days", Integer, nullable=False),
    Column("max_count", Integer, nullable=False),
    Column("payment_plan_contact", String(300), nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per reminder of an invoice and school day: the claim of that day's reminder.
reminders_sent = Table(
    "invoice_reminders",
    metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("sent_on", String(10), primary_key=True),  # YYYY-MM-DD, Europe/Brussels
    Column("school_id", String(36), nullable=False),
    Column("manual", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# primary | secondary, from auth.student.created.v1 / .updated.v1: a secondary school's reminder says
# that spreading the payment is possible (Flemish rule).
student_levels = Table(
    "student_levels",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("level", String(20), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def record_invoice(s: Session, *, invoice_id: str, now: datetime, **values) -> None:
    """Book an issued invoice, open for its whole total; a redelivery changes nothing already booked."""
    s.execute(
        _insert(s, invoices)
        .values(invoice_id=invoice_id, status=OPEN, updated_at=now, **values)
        .on_conflict_do_nothing(index_elements=[invoices.c.invoice_id])
    )


def record_payment(s: Session, invoice_id: str, amount_cents: int, now: datetime) -> None:
    """Take a payment off the invoice's open amount; paid once nothing is left."""
    t = invoices
    s.execute(
        update(t)
        .where(t.c.invoice_id == invoice_id, t.c.status == OPEN)
        .values(open_cents=t.c.open_cents - amount_cents, updated_at=now)
    )
    s.execute(
        update(t)
        .where(t.c.invoice_id == invoice_id, t.c.status == OPEN, t.c.open_cents <= 0)
        .values(status=PAID)
    )


def reopen_invoice(s: Session, invoice_id: str, amount_cents: int, now: datetime) -> None:
    """A payment undone (a direct debit the bank returned): its amount is open again, and a paid
    invoice is open once more, so that its reminders resume; a cancelled one stays cancelled."""
    t = invoices
    reopened = t.c.open_cents + amount_cents
    s.execute(
        update(t)
        .where(t.c.invoice_id == invoice_id, t.c.status.in_((OPEN, PAID)))
        .values(
            # never more open than the invoice's total, should a return be announced twice
            open_cents=case((reopened > t.c.total_cents, t.c.total_cents), else_=reopened),
            status=case((reopened > 0, OPEN), else_=t.c.status),
            updated_at=now,
        )
    )


def cancel_invoice(s: Session, invoice_id: str, now: datetime) -> None:
    s.execute(
        update(invoices).where(invoices.c.invoice_id == invoice_id).values(status=CANCELLED, updated_at=now)
    )


def invoice(s: Session, invoice_id: str):
    return s.execute(select(invoices).where(invoices.c.invoice_id == invoice_id)).first()


def open_overdue(s: Session, before_day: str) -> list:
    """Open invoices due before ``before_day`` of schools whose reminders are on."""
    q = (
        select(invoices)
        .join(settings, settings.c.school_id == invoices.c.school_id)
        .where(invoices.c.status == OPEN, invoices.c.due_on < before_day, settings.c.enabled.is_(True))
        .order_by(invoices.c.school_id, invoices.c.due_on, invoices.c.invoice_id)
    )
    return list(s.execute(q).all())


def reminders_of(s: Session, invoice_ids: list[str]) -> dict[str, tuple[int, str]]:
    """invoice id -> (reminders sent, the last day one was sent) for those that had any."""
    if not invoice_ids:
        return {}
    r = reminders_sent
    q = (
        select(r.c.invoice_id, func.count(), func.max(r.c.sent_on))
        .where(r.c.invoice_id.in_(invoice_ids))
        .group_by(r.c.invoice_id)
    )
    return {row[0]: (int(row[1]), row[2]) for row in s.execute(q)}


def claim_reminder(
    s: Session, *, invoice_id: str, school_id: str, day: str, manual: bool, now: datetime
) -> bool:
    """Claim the invoice's reminder of ``day``; False when one is already claimed (by another run)."""
    result = s.execute(
        _insert(s, reminders_sent)
        .values(invoice_id=invoice_id, sent_on=day, school_id=school_id, manual=manual, created_at=now)
        .on_conflict_do_nothing(index_elements=[reminders_sent.c.invoice_id, reminders_sent.c.sent_on])
        .returning(reminders_sent.c.invoice_id)  # rowcount is not reliable here on psycopg
    )
    return result.first() is not None


def school_settings(s: Session, school_id: str) -> ReminderSettings:
    row = s.execute(select(settings).where(settings.c.school_id == school_id)).first()
    if row is None:
        return ReminderSettings()
    return ReminderSettings(
        enabled=row.enabled,
        first_after_days=row.first_after_days,
        repeat_every_days=row.repeat_every_days,
        max_count=row.max_count,
        payment_plan_contact=row.payment_plan_contact,
    )


def save_settings(s: Session, school_id: str, value: ReminderSettings, now: datetime) -> None:
    values = dict(
        enabled=value.enabled,
        first_after_days=value.first_after_days,
        repeat_every_days=value.repeat_every_days,
        max_count=value.max_count,
        payment_plan_contact=value.payment_plan_contact,
        updated_at=now,
    )
    s.execute(
        _insert(s, settings)
        .values(school_id=school_id, **values)
        .on_conflict_do_update(index_elements=[settings.c.school_id], set_=values)
    )


def set_level(s: Session, student_id: str, level: str, now: datetime) -> None:
    values = dict(level=level, updated_at=now)
    s.execute(
        _insert(s, student_levels)
        .values(student_id=student_id, **values)
        .on_conflict_do_update(index_elements=[student_levels.c.student_id], set_=values)
    )


def level_of(s: Session, student_id: str) -> str:
    q = select(student_levels.c.level).where(student_levels.c.student_id == student_id)
    return s.execute(q).scalar_one_or_none() or ""
