"""Queries of the accountant's exports (invoices, payments, wallet operations, sale lines of a date
range, each paged by a keyset in chronological order, with their SQL totals) and of one statement
import's movements with what each one became (the bank reconciliation).

Every query is scoped to one school. Keysets are strictly increasing tuples ending with a unique
column, so a page never repeats or skips a row that was there when the first page was read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.finance.db.booking import WALLET_PREFIX
from services.finance.db.tables import (
    bank_movements,
    invoices,
    ledger_postings,
    ledger_transactions,
    payment_reversals,
    payments,
    sale_lines,
    sales,
    statement_imports,
    structured_communications,
    students,
    unmatched_transfers,
    wallet_types,
    wallets,
)
from services.finance.db.wallet_queries import chunks

# The wallet id in a wallet account's name ("wallet:<id>"): SQL's substr counts from 1.
_WALLET_ID_START = len(WALLET_PREFIX) + 1


def _after(columns: list, values: tuple) -> Any:
    """``(c1, c2, ...) > (v1, v2, ...)`` spelled out (row values compare alike on every dialect)."""
    (col, *rest_cols), (val, *rest_vals) = columns, values
    if not rest_cols:
        return col > val
    return or_(col > val, and_(col == val, _after(rest_cols, tuple(rest_vals))))


# --- invoices ---------------------------------------------------------------------------------------


def invoices_page(
    s: Session, school_id: str, first: date, last: date, after: tuple[date, str] | None, limit: int
) -> list[Any]:
    """Up to ``limit`` of the school's invoices issued from ``first`` to ``last`` (both included), by
    (issue day, number) after ``after``, with their student's names and class and communication."""
    inv, st, sc = invoices, students, structured_communications
    q = (
        select(inv, st.c.first_name, st.c.last_name, st.c.class_name, sc.c.digits)
        .join(st, st.c.id == inv.c.student_id)
        .outerjoin(sc, sc.c.invoice_id == inv.c.id)
        .where(inv.c.school_id == school_id, inv.c.issued_on >= first, inv.c.issued_on <= last)
        .order_by(inv.c.issued_on, inv.c.number)
        .limit(limit)
    )
    if after is not None:
        q = q.where(_after([inv.c.issued_on, inv.c.number], after))
    return list(s.execute(q).all())


def invoices_total(s: Session, school_id: str, first: date, last: date) -> tuple[int, int]:
    inv = invoices
    n, total = s.execute(
        select(func.count(), func.coalesce(func.sum(inv.c.total_cents), 0)).where(
            inv.c.school_id == school_id, inv.c.issued_on >= first, inv.c.issued_on <= last
        )
    ).one()
    return int(n), int(total)


# --- payments ---------------------------------------------------------------------------------------


def payments_page(
    s: Session,
    school_id: str,
    start: datetime,
    end: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` of the school's payments received (paid) in ``[start, end)``, by (paid_at, id)
    after ``after``, with the student's names, the invoice's number and the wallet's type name."""
    p, st, inv, w, wt = payments, students, invoices, wallets, wallet_types
    q = (
        select(
            p,
            st.c.first_name,
            st.c.last_name,
            st.c.class_name,
            inv.c.number.label("invoice_number"),
            wt.c.name.label("wallet_name"),
        )
        .outerjoin(st, st.c.id == p.c.student_id)
        .outerjoin(inv, inv.c.id == p.c.invoice_id)
        .outerjoin(w, w.c.id == p.c.wallet_id)
        .outerjoin(wt, wt.c.id == w.c.wallet_type_id)
        .where(p.c.school_id == school_id, p.c.status == "paid", p.c.paid_at >= start, p.c.paid_at < end)
        .order_by(p.c.paid_at, p.c.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(_after([p.c.paid_at, p.c.id], after))
    return list(s.execute(q).all())


def reversals_by_payment(s: Session, payment_ids: list[str]) -> dict[str, dict[str, int]]:
    """``{payment id: {"refund": cents, "chargeback": cents}}`` of the payments' booked reversals."""
    pr = payment_reversals
    out: dict[str, dict[str, int]] = {}
    for chunk in chunks(sorted(set(payment_ids))):
        for pid, kind, cents in s.execute(
            select(pr.c.payment_id, pr.c.kind, func.sum(pr.c.amount_cents))
            .where(pr.c.payment_id.in_(chunk))
            .group_by(pr.c.payment_id, pr.c.kind)
        ):
            out.setdefault(pid, {})[kind] = int(cents)
    return out


def payments_total(s: Session, school_id: str, start: datetime, end: datetime) -> tuple[int, int]:
    p = payments
    n, total = s.execute(
        select(func.count(), func.coalesce(func.sum(p.c.amount_cents), 0)).where(
            p.c.school_id == school_id, p.c.status == "paid", p.c.paid_at >= start, p.c.paid_at < end
        )
    ).one()
    return int(n), int(total)


# --- wallet operations --------------------------------------------------------------------------------


def _wallet_postings(school_id: str, start: datetime, end: datetime):
    t, p = ledger_transactions, ledger_postings
    return (
        t.c.school_id == school_id,
        t.c.created_at >= start,
        t.c.created_at < end,
        p.c.account.like(WALLET_PREFIX + "%"),
    )


def operations_page(
    s: Session,
    school_id: str,
    start: datetime,
    end: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` postings on the school's wallets in ``[start, end)``, by (transaction time,
    posting id) after ``after``, with the transaction's kind, method and label, the wallet's type
    name and its student's names and class."""
    t, p, w, wt, st = ledger_transactions, ledger_postings, wallets, wallet_types, students
    q = (
        select(
            p.c.id,
            p.c.amount_cents,
            t.c.kind,
            t.c.method,
            t.c.label,
            t.c.created_at,
            w.c.id.label("wallet_id"),
            w.c.student_id,
            wt.c.name.label("wallet_name"),
            st.c.first_name,
            st.c.last_name,
            st.c.class_name,
        )
        .join(t, t.c.id == p.c.transaction_id)
        .join(w, w.c.id == func.substr(p.c.account, _WALLET_ID_START))
        .join(wt, wt.c.id == w.c.wallet_type_id)
        .outerjoin(st, st.c.id == w.c.student_id)
        .where(*_wallet_postings(school_id, start, end))
        .order_by(t.c.created_at, p.c.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(_after([t.c.created_at, p.c.id], after))
    return list(s.execute(q).all())


def operations_total(s: Session, school_id: str, start: datetime, end: datetime) -> tuple[int, int]:
    t, p = ledger_transactions, ledger_postings
    n, total = s.execute(
        select(func.count(), func.coalesce(func.sum(p.c.amount_cents), 0))
        .select_from(p)
        .join(t, t.c.id == p.c.transaction_id)
        .where(*_wallet_postings(school_id, start, end))
    ).one()
    return int(n), int(total)


# --- sales ------------------------------------------------------------------------------------------


def sale_lines_page(
    s: Session,
    school_id: str,
    start: datetime,
    end: datetime,
    after: tuple[datetime, str, int] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` of the school's sale lines recorded in ``[start, end)``, by (sale time, sale id,
    line position) after ``after``, with the wallet's type name and the student's names and class."""
    sl, sa, w, wt, st = sale_lines, sales, wallets, wallet_types, students
    q = (
        select(
            sl.c.id,
            sl.c.sale_id,
            sl.c.position,
            sl.c.label,
            sl.c.quantity,
            sl.c.unit_price_cents,
            sl.c.amount_cents,
            sl.c.childcare,
            sl.c.days,
            sa.c.created_at,
            sa.c.wallet_id,
            sa.c.student_id,
            wt.c.name.label("wallet_name"),
            st.c.first_name,
            st.c.last_name,
            st.c.class_name,
        )
        .join(sa, sa.c.id == sl.c.sale_id)
        .join(w, w.c.id == sa.c.wallet_id)
        .join(wt, wt.c.id == w.c.wallet_type_id)
        .outerjoin(st, st.c.id == sa.c.student_id)
        .where(sa.c.school_id == school_id, sa.c.created_at >= start, sa.c.created_at < end)
        .order_by(sa.c.created_at, sa.c.id, sl.c.position)
        .limit(limit)
    )
    if after is not None:
        q = q.where(_after([sa.c.created_at, sa.c.id, sl.c.position], after))
    return list(s.execute(q).all())


def sale_lines_total(s: Session, school_id: str, start: datetime, end: datetime) -> tuple[int, int]:
    sl, sa = sale_lines, sales
    n, total = s.execute(
        select(func.count(), func.coalesce(func.sum(sl.c.amount_cents), 0))
        .select_from(sl)
        .join(sa, sa.c.id == sl.c.sale_id)
        .where(sa.c.school_id == school_id, sa.c.created_at >= start, sa.c.created_at < end)
    ).one()
    return int(n), int(total)


# --- a statement import and its movements (bank reconciliation) -----------------------------------


def statement_import(s: Session, school_id: str, import_id: str) -> Any | None:
    """The school's statement import of this id (None: none, or another school's)."""
    si = statement_imports
    return s.execute(select(si).where(si.c.id == import_id, si.c.school_id == school_id)).first()


def import_movements_page(
    s: Session, import_id: str, after: tuple[date, str] | None, limit: int
) -> list[Any]:
    """Up to ``limit`` movements the import recorded, by (booking day, id) after ``after``, each with
    the amount of the payment it booked (``credited_cents``), the wallet's type name, the invoice's
    number and the student's names and class."""
    bm, p, inv, w, wt, st = bank_movements, payments, invoices, wallets, wallet_types, students
    q = (
        select(
            bm,
            p.c.amount_cents.label("credited_cents"),
            inv.c.number.label("invoice_number"),
            wt.c.name.label("wallet_name"),
            st.c.id.label("owner_id"),
            st.c.first_name,
            st.c.last_name,
            st.c.class_name,
        )
        .outerjoin(p, p.c.id == bm.c.payment_id)
        .outerjoin(inv, inv.c.id == bm.c.invoice_id)
        .outerjoin(w, w.c.id == bm.c.wallet_id)
        .outerjoin(wt, wt.c.id == w.c.wallet_type_id)
        .outerjoin(st, st.c.id == func.coalesce(w.c.student_id, inv.c.student_id))
        .where(bm.c.import_id == import_id)
        .order_by(bm.c.booked_on, bm.c.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(_after([bm.c.booked_on, bm.c.id], after))
    return list(s.execute(q).all())


def unmatched_of_movements(s: Session, movement_ids: list[str]) -> dict[str, list[Any]]:
    """The unmatched transfers the movements left, oldest first, by movement id: an invoice's excess
    or a whole credit, and, once assigned, the wallet (type name) or invoice (number) and student it
    went to. One movement may have several: an invoice assigned later takes part of one, the rest
    stays open as another."""
    u, inv, w, wt, st = unmatched_transfers, invoices, wallets, wallet_types, students
    out: dict[str, list[Any]] = {}
    for chunk in chunks(sorted(set(movement_ids))):
        q = (
            select(
                u,
                wt.c.name.label("wallet_name"),
                inv.c.number.label("invoice_number"),
                st.c.id.label("owner_id"),
                st.c.first_name,
                st.c.last_name,
            )
            .outerjoin(w, w.c.id == u.c.assigned_wallet_id)
            .outerjoin(wt, wt.c.id == w.c.wallet_type_id)
            .outerjoin(inv, inv.c.id == u.c.assigned_invoice_id)
            .outerjoin(st, st.c.id == func.coalesce(w.c.student_id, inv.c.student_id))
            .where(u.c.movement_id.in_(chunk))
            .order_by(u.c.created_at, u.c.id)
        )
        for r in s.execute(q):
            out.setdefault(r.movement_id, []).append(r)
    return out


def import_movement_count(s: Session, import_id: str) -> int:
    bm = bank_movements
    return int(s.execute(select(func.count()).where(bm.c.import_id == import_id)).scalar_one())
