"""Queries of the Flemish maximum bill (issue #19): the caps (``max_bill_tables``) and what a
student's invoices count towards them.

Lock: a student's counters are guarded by the student's row in ``students`` (``lock_students``,
``SELECT ... FOR UPDATE`` in id order on PostgreSQL; SQLite transactions are exclusive), taken before
the year's lines are summed, so two invoices of one student at once never both pass a cap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.finance.db.max_bill_tables import max_bill_caps
from services.finance.db.tables import invoice_lines, invoices, students


def caps_of(s: Session, school_id: str, school_year: str = "") -> list:
    """The school's caps (of one year), newest year first, kleuter before lager."""
    q = select(max_bill_caps).where(max_bill_caps.c.school_id == school_id)
    if school_year:
        q = q.where(max_bill_caps.c.school_year == school_year)
    return list(s.execute(q.order_by(max_bill_caps.c.school_year.desc(), max_bill_caps.c.level)).all())


def cap_row(s: Session, school_id: str, school_year: str, level: str):
    return s.execute(
        select(max_bill_caps).where(
            max_bill_caps.c.school_id == school_id,
            max_bill_caps.c.school_year == school_year,
            max_bill_caps.c.level == level,
        )
    ).first()


def save_caps(
    s: Session,
    school_id: str,
    school_year: str,
    level: str,
    *,
    strict_cents: int,
    less_strict_cents: int,
    by: str,
    now: datetime,
) -> None:
    """Insert or replace the caps of one year and level."""
    values = {
        "strict_cents": strict_cents,
        "less_strict_cents": less_strict_cents,
        "updated_by": by,
        "updated_at": now,
    }
    if cap_row(s, school_id, school_year, level) is None:
        s.execute(
            max_bill_caps.insert().values(school_id=school_id, school_year=school_year, level=level, **values)
        )
    else:
        s.execute(
            update(max_bill_caps)
            .where(
                max_bill_caps.c.school_id == school_id,
                max_bill_caps.c.school_year == school_year,
                max_bill_caps.c.level == level,
            )
            .values(**values)
        )


def lock_students(s: Session, school_id: str, student_ids: Iterable[str]) -> None:
    """Lock the students' rows until commit, in id order (two batches never wait on each other)."""
    ids = sorted(set(student_ids))
    if ids:
        s.execute(
            select(students.c.id)
            .where(students.c.school_id == school_id, students.c.id.in_(ids))
            .order_by(students.c.id)
            .with_for_update()
        ).all()


def used_by_cap(s: Session, school_id: str, student_id: str, start: date, end: date) -> dict[str, int]:
    """Cents of the student's invoice lines per ``max_bill`` value on the invoices issued in
    ``[start, end)`` that are not cancelled."""
    il = invoice_lines
    rows = s.execute(
        select(il.c.max_bill, func.coalesce(func.sum(il.c.amount_cents), 0))
        .join(invoices, invoices.c.id == il.c.invoice_id)
        .where(
            invoices.c.school_id == school_id,
            invoices.c.student_id == student_id,
            invoices.c.status != "cancelled",
            invoices.c.issued_on >= start,
            invoices.c.issued_on < end,
            il.c.max_bill != "",
        )
        .group_by(il.c.max_bill)
    ).all()
    return {cap: int(cents) for cap, cents in rows}
