"""Queries of the periodic statements (use_cases/periodic_statements.py): a student's invoices issued in
a period with their lines, and the students a statement goes to."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.finance.db.tables import invoice_lines, invoices, students


def invoices_issued(s: Session, school_id: str, student_id: str, first: date, last: date) -> list[Any]:
    """The student's invoices issued from ``first`` to ``last`` (both included), by day then number."""
    inv = invoices
    return list(
        s.execute(
            select(inv)
            .where(
                inv.c.school_id == school_id,
                inv.c.student_id == student_id,
                inv.c.issued_on >= first,
                inv.c.issued_on <= last,
            )
            .order_by(inv.c.issued_on, inv.c.number)
        ).all()
    )


def lines_by_invoice(s: Session, invoice_ids: list[str]) -> dict[str, list[Any]]:
    """The invoices' lines in their order, by invoice id."""
    out: dict[str, list[Any]] = {}
    if not invoice_ids:
        return out
    ln = invoice_lines
    for row in s.execute(select(ln).where(ln.c.invoice_id.in_(invoice_ids)).order_by(ln.c.position)):
        out.setdefault(row.invoice_id, []).append(row)
    return out


def recipients(
    s: Session, school_id: str, class_name: str | None, first: date, last: date
) -> tuple[list[Any], int]:
    """The active students of the class (None: of the school) who have an invoice issued in the
    period, by class and name; and how many active students of it have none."""
    st, inv = students, invoices
    q = select(st).where(st.c.school_id == school_id, st.c.status != "left")
    if class_name is not None:
        q = q.where(st.c.class_name == class_name)
    everyone = list(s.execute(q.order_by(st.c.class_name, st.c.last_name, st.c.first_name, st.c.id)).all())
    invoiced = set(
        s.execute(
            select(inv.c.student_id)
            .where(inv.c.school_id == school_id, inv.c.issued_on >= first, inv.c.issued_on <= last)
            .distinct()
        ).scalars()
    )
    chosen = [r for r in everyone if r.id in invoiced]
    return chosen, len(everyone) - len(chosen)
