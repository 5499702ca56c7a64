"""The childcare tax certificates (281.86, issue #19): their table, on the same metadata as
``tables.py``, and the queries that read what was paid for childcare.

``tax_certificates``: one row per version of a certificate (school, year, student, parent). The current
version has ``replaced_by`` NULL; a correction inserts the next version and points the old one at it.
``content`` is the certificate as certified (its periods and the people's names and numbers, JSON),
each person's national number sealed (``sealed_national_number``, services/finance/national_numbers.py):
``fingerprint`` (the SHA-256 of the content without the numbers) and the numbers opened tell whether a
regeneration changed anything. ``document_id`` is the id
documents files the PDF under (chosen here, so the list names it before the PDF is rendered)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from services.finance.db.tables import (
    invoice_lines,
    invoices,
    metadata,
    payment_reversals,
    payments,
    sale_lines,
    sales,
)

BRUSSELS = ZoneInfo("Europe/Brussels")

tax_certificates = Table(
    "tax_certificates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("year", Integer, nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("parent_id", String(36), nullable=False),
    Column("number", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("days", Integer, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("capped_amount_cents", BigInteger, nullable=False),
    Column("daily_cap_cents", BigInteger, nullable=False),
    # law: the code's table (domain/childcare.DAILY_CAP_CENTS) | school: tax_daily_caps
    Column("daily_cap_source", String(10), nullable=False, default="law"),
    Column("document_id", String(36), nullable=False),
    Column("content", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("replaced_by", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "school_id", "year", "student_id", "parent_id", "version", name="uq_tax_certificates_version"
    ),
    Index("ix_tax_certificates_school_year", "school_id", "year"),
)

# The legal maximum per day a school entered for a year the code's table does not know.
tax_daily_caps = Table(
    "tax_daily_caps",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("daily_cap_cents", BigInteger, nullable=False),
    Column("set_by", String(36), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)


def school_daily_cap(s: Session, school_id: str, year: int) -> int | None:
    t = tax_daily_caps
    return s.execute(select(t.c.daily_cap_cents).where(t.c.school_id == school_id, t.c.year == year)).scalar()


def save_school_daily_cap(s: Session, school_id: str, year: int, cents: int, by: str, at: datetime) -> None:
    t = tax_daily_caps
    done = s.execute(
        update(t)
        .where(t.c.school_id == school_id, t.c.year == year)
        .values(daily_cap_cents=cents, set_by=by, set_at=at)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        s.execute(
            t.insert().values(school_id=school_id, year=year, daily_cap_cents=cents, set_by=by, set_at=at)
        )


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Brussels as a half-open UTC interval (instants are stored in UTC)."""
    return (
        datetime(year, 1, 1, tzinfo=BRUSSELS).astimezone(UTC),
        datetime(year + 1, 1, 1, tzinfo=BRUSSELS).astimezone(UTC),
    )


def brussels_day(value: datetime) -> date:
    """The Brussels calendar day of a stored instant (naive ones, as SQLite gives them, are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BRUSSELS).date()


def childcare_invoice_lines(
    s: Session, school_id: str, student_ids: Sequence[str] | None = None
) -> Sequence[Row]:
    """The school's (or these students') invoices' childcare lines, with their invoice's total and
    issue date; cancelled invoices left out (a credit note gave their money back to the family)."""
    q = (
        select(
            invoices.c.id.label("invoice_id"),
            invoices.c.student_id,
            invoices.c.issued_on,
            invoices.c.total_cents,
            invoice_lines.c.days,
            invoice_lines.c.amount_cents,
        )
        .join(invoice_lines, invoice_lines.c.invoice_id == invoices.c.id)
        .where(
            invoices.c.school_id == school_id,
            invoices.c.status != "cancelled",
            invoice_lines.c.childcare.is_(True),
        )
    )
    if student_ids is not None:
        q = q.where(invoices.c.student_id.in_(list(student_ids)))
    return s.execute(q.order_by(invoices.c.id, invoice_lines.c.position)).all()


def invoice_payments(s: Session, school_id: str, invoice_ids: Sequence[str], year: int) -> Sequence[Row]:
    """The paid payments of these invoices received up to the end of ``year`` (``paid_at``; the earlier
    years' too, so that a bill already covered then certifies nothing more now: domain/childcare.py
    counts only the year's), each less what a refund or chargeback took back off the invoice
    (``net_cents``), with who started it (``created_by``)."""
    if not invoice_ids:
        return []
    _start, end = year_bounds(year)
    reversed_ = (
        select(payment_reversals.c.payment_id, func.sum(payment_reversals.c.invoice_cents).label("cents"))
        .group_by(payment_reversals.c.payment_id)
        .subquery()
    )
    out: list[Row] = []
    ids = list(invoice_ids)
    for i in range(0, len(ids), 500):
        out.extend(
            s.execute(
                select(
                    payments.c.invoice_id,
                    payments.c.paid_at,
                    (payments.c.amount_cents - func.coalesce(reversed_.c.cents, 0)).label("net_cents"),
                    payments.c.created_by,
                )
                .outerjoin(reversed_, reversed_.c.payment_id == payments.c.id)
                .where(
                    payments.c.school_id == school_id,
                    payments.c.invoice_id.in_(ids[i : i + 500]),
                    payments.c.status == "paid",
                    payments.c.paid_at < end,
                )
            ).all()
        )
    return out


def childcare_sale_lines(
    s: Session, school_id: str, year: int, student_ids: Sequence[str] | None = None
) -> Sequence[Row]:
    """The childcare lines of the till's sales made in ``year`` (paid from a wallet at once)."""
    start, end = year_bounds(year)
    q = (
        select(
            sales.c.id.label("sale_id"),
            sales.c.student_id,
            sales.c.created_at,
            sales.c.amount_cents.label("total_cents"),
            sale_lines.c.days,
            sale_lines.c.amount_cents,
        )
        .join(sale_lines, sale_lines.c.sale_id == sales.c.id)
        .where(
            sales.c.school_id == school_id,
            sales.c.created_at >= start,
            sales.c.created_at < end,
            sale_lines.c.childcare.is_(True),
        )
    )
    if student_ids is not None:
        q = q.where(sales.c.student_id.in_(list(student_ids)))
    return s.execute(q.order_by(sales.c.id, sale_lines.c.position)).all()


def students_with_paid_childcare(s: Session, school_id: str, year: int) -> list[str]:
    """The students with a childcare line paid (in part) in ``year``: an invoice payment or a sale."""
    start, end = year_bounds(year)
    by_invoice = (
        select(invoices.c.student_id)
        .join(
            invoice_lines,
            and_(invoice_lines.c.invoice_id == invoices.c.id, invoice_lines.c.childcare.is_(True)),
        )
        .join(payments, payments.c.invoice_id == invoices.c.id)
        .where(
            invoices.c.school_id == school_id,
            payments.c.status == "paid",
            payments.c.paid_at >= start,
            payments.c.paid_at < end,
        )
    )
    by_sale = (
        select(sales.c.student_id)
        .join(sale_lines, and_(sale_lines.c.sale_id == sales.c.id, sale_lines.c.childcare.is_(True)))
        .where(sales.c.school_id == school_id, sales.c.created_at >= start, sales.c.created_at < end)
    )
    found = {r[0] for r in s.execute(by_invoice)} | {r[0] for r in s.execute(by_sale)}
    return sorted(found)


def current_certificates(s: Session, school_id: str, year: int) -> Sequence[Row]:
    """The year's current versions, by student then parent."""
    t = tax_certificates
    return s.execute(
        select(t)
        .where(t.c.school_id == school_id, t.c.year == year, t.c.replaced_by.is_(None))
        .order_by(t.c.student_id, t.c.parent_id)
    ).all()


def insert_certificate(s: Session, **values) -> None:
    s.execute(tax_certificates.insert().values(**values))


def mark_replaced(s: Session, certificate_id: str, by: str) -> None:
    s.execute(update(tax_certificates).where(tax_certificates.c.id == certificate_id).values(replaced_by=by))
