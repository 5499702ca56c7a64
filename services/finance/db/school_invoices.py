"""Queries of the back office's money views: the students a bulk invoice is for, the school's
invoices filtered and paged by a keyset, and the finance summary's aggregates (SQL sums, never rows
summed in Python). Students, their class and status are finance's own copy (``students``, kept up to
date by auth.student.updated.v1)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from services.finance.db.tables import invoices, students, wallets
from services.finance.db.wallet_queries import chunks

OPEN_STATUSES = ("unpaid", "partially_paid")


def students_in_classes(s: Session, school_id: str, class_names: list[str]) -> list[Any]:
    """Every student finance knows in these classes of the school (leavers too: the caller decides),
    by class, last name, first name."""
    if not class_names:
        return []
    return list(
        s.execute(
            select(students)
            .where(students.c.school_id == school_id, students.c.class_name.in_(class_names))
            .order_by(students.c.class_name, students.c.last_name, students.c.first_name, students.c.id)
        ).all()
    )


def students_by_ids(s: Session, school_id: str, ids: list[str]) -> dict[str, Any]:
    """The school's students among ``ids``, by id (another school's or unknown ids are absent)."""
    out: dict[str, Any] = {}
    for chunk in chunks(sorted(set(ids))):
        for row in s.execute(
            select(students).where(students.c.school_id == school_id, students.c.id.in_(chunk))
        ):
            out[row.id] = row
    return out


def school_invoices_page(
    s: Session,
    school_id: str,
    *,
    status: str,
    student_id: str,
    overdue_before: date | None,
    q: str,
    class_name: str,
    after: tuple[date, str] | None,
    limit: int,
) -> list:
    """Up to ``limit`` of the school's invoices with their student's names and class, newest first
    ((issued_on, number) descending: numbers are unique per school), after the keyset ``after``."""
    inv, st = invoices, students
    query = (
        select(inv, st.c.first_name, st.c.last_name, st.c.class_name)
        .join(st, st.c.id == inv.c.student_id)
        .where(inv.c.school_id == school_id)
    )
    if status:
        query = query.where(inv.c.status == status)
    if student_id:
        query = query.where(inv.c.student_id == student_id)
    if overdue_before is not None:
        query = query.where(inv.c.due_on < overdue_before, inv.c.status.in_(OPEN_STATUSES))
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(inv.c.title).like(pattern, escape="\\"),
                func.lower(inv.c.number).like(pattern, escape="\\"),
            )
        )
    if class_name:
        query = query.where(st.c.class_name == class_name)
    if after is not None:
        day, number = after
        query = query.where(or_(inv.c.issued_on < day, and_(inv.c.issued_on == day, inv.c.number < number)))
    query = query.order_by(inv.c.issued_on.desc(), inv.c.number.desc()).limit(limit)
    return list(s.execute(query).all())


def _open_cents():
    return invoices.c.total_cents - invoices.c.paid_cents


def invoice_totals(s: Session, school_id: str, today: date):
    """(unpaid_count, unpaid_cents, overdue_count, overdue_cents) of the school's open invoices."""
    is_open = invoices.c.status.in_(OPEN_STATUSES)
    late = and_(is_open, invoices.c.due_on < today)
    return s.execute(
        select(
            func.count().filter(is_open),
            func.coalesce(func.sum(case((is_open, _open_cents()), else_=0)), 0),
            func.count().filter(late),
            func.coalesce(func.sum(case((late, _open_cents()), else_=0)), 0),
        ).where(invoices.c.school_id == school_id)
    ).one()


def wallets_total(s: Session, school_id: str) -> int:
    return int(
        s.execute(
            select(func.coalesce(func.sum(wallets.c.balance_cents), 0)).where(
                wallets.c.school_id == school_id
            )
        ).scalar_one()
    )


def class_summaries(s: Session, school_id: str) -> dict[str, dict[str, int]]:
    """Per class (the students' class as finance knows it): active students, what their wallets hold,
    their open invoices' count and open amount. Three grouped queries."""
    out: dict[str, dict[str, int]] = {}

    def row(name: str) -> dict[str, int]:
        return out.setdefault(
            name, {"students": 0, "wallets_total_cents": 0, "unpaid_count": 0, "unpaid_total_cents": 0}
        )

    st = students
    for name, count in s.execute(
        select(st.c.class_name, func.count())
        .where(st.c.school_id == school_id, st.c.status == "active")
        .group_by(st.c.class_name)
    ):
        row(name)["students"] = int(count)
    for name, cents in s.execute(
        select(st.c.class_name, func.coalesce(func.sum(wallets.c.balance_cents), 0))
        .join(wallets, wallets.c.student_id == st.c.id)
        .where(st.c.school_id == school_id)
        .group_by(st.c.class_name)
    ):
        if cents or name in out:
            row(name)["wallets_total_cents"] = int(cents)
    for name, count, cents in s.execute(
        select(st.c.class_name, func.count(), func.coalesce(func.sum(_open_cents()), 0))
        .join(invoices, invoices.c.student_id == st.c.id)
        .where(st.c.school_id == school_id, invoices.c.status.in_(OPEN_STATUSES))
        .group_by(st.c.class_name)
    ):
        r = row(name)
        r["unpaid_count"], r["unpaid_total_cents"] = int(count), int(cents)
    return out
