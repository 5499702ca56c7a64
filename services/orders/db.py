"""Tables of the orders service (ordering periods, catalog items, orders, book-return credits) and
every query of the service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.db import aware as aware  # re-exported: this service's modules read it from here
from kit.idempotency import idempotency_table
from kit.migrations import new_metadata
from services.orders.domain.periods import Period
from services.orders.domain.pricing import Item, Summary

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)
idempotency_keys = idempotency_table(metadata)

order_periods = Table(
    "order_periods",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("notes", Text, nullable=False, default=""),
    Column("opens_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False),
    Column("class_names", Text, nullable=False, default=""),  # "\n"-joined; empty: every class
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_order_periods_school_window", "school_id", "opens_at", "closes_at"),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("period_id", String(36), ForeignKey("order_periods.id"), nullable=False, index=True),
    Column("subject", String(120), nullable=False),
    Column("title", String(300), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("type", String(10), nullable=False),  # purchase | loan
    Column("price_cents", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reference", String(80), nullable=True, index=True),  # e.g. "photo:<id>"
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),  # off sale; placed orders keep it
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("period_id", String(36), ForeignKey("order_periods.id"), nullable=False),
    Column("student_id", String(36), nullable=False, index=True),
    Column("account_id", String(36), nullable=False),
    # invoicing: the order and its credit are recorded, finance has not confirmed the invoice yet;
    # placed: the invoice exists. A retry of the same request resumes an order left in invoicing.
    Column("status", String(20), nullable=False),
    Column("subtotal_cents", BigInteger, nullable=False),
    Column("credit_cents", BigInteger, nullable=False),
    Column("grand_total_cents", BigInteger, nullable=False),
    Column("invoice_id", String(36), nullable=True),
    Column("checkout_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False, index=True),
    Column("item_id", String(36), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("title", String(300), nullable=False),
    Column("type", String(10), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
)

# One row per (school, student), locked while an order takes its credit, so two orders never both use
# it. Keyed by the school too: a credit recorded by one school for an id it typed never reaches the
# orders of another school's student with that id.
credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Column("balance_cents", BigInteger, nullable=False),
)

# Every change of a student's credit: + for a book return, - when an order uses it.
credit_entries = Table(
    "credit_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("order_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["school_id", "student_id"], ["credit_accounts.school_id", "credit_accounts.student_id"]
    ),
    Index("ix_credit_entries_school_student", "school_id", "student_id"),
)


# -- periods ---------------------------------------------------------------------------------------


def _period(row) -> Period:
    return Period(
        row.id,
        row.title,
        row.notes,
        aware(row.opens_at),
        aware(row.closes_at),
        tuple(c for c in row.class_names.split("\n") if c),
    )


def find_period(s: Session, school_id: str, period_id: str) -> Period | None:
    row = s.execute(
        select(order_periods).where(order_periods.c.id == period_id, order_periods.c.school_id == school_id)
    ).first()
    return None if row is None else _period(row)


def periods_open_at(s: Session, school_id: str, now: datetime) -> list[Period]:
    """The school's periods open at ``now``, the first to close first."""
    rows = s.execute(
        select(order_periods)
        .where(
            order_periods.c.school_id == school_id,
            order_periods.c.opens_at <= now,
            order_periods.c.closes_at > now,
        )
        .order_by(order_periods.c.closes_at)
    ).all()
    return [_period(r) for r in rows]


def school_periods(s: Session, school_id: str) -> list[Period]:
    """Every period of the school, the latest to open first."""
    rows = s.execute(
        select(order_periods)
        .where(order_periods.c.school_id == school_id)
        .order_by(order_periods.c.opens_at.desc())
    ).all()
    return [_period(r) for r in rows]


def insert_period(
    s: Session,
    *,
    school_id: str,
    title: str,
    notes: str,
    opens_at: datetime,
    closes_at: datetime,
    class_names: Iterable[str],
    created_at: datetime,
) -> str:
    """A new period (no class: every class); its id."""
    period_id = str(uuid.uuid4())
    s.execute(
        order_periods.insert().values(
            id=period_id,
            school_id=school_id,
            title=title,
            notes=notes,
            opens_at=opens_at,
            closes_at=closes_at,
            class_names="\n".join(class_names),
            created_at=created_at,
        )
    )
    return period_id


# -- catalog ---------------------------------------------------------------------------------------


def items_on_sale(s: Session, period_id: str) -> Sequence[Row]:
    """The period's catalog rows not withdrawn, in no particular order."""
    return s.execute(
        select(catalog_items).where(
            catalog_items.c.period_id == period_id, catalog_items.c.withdrawn_at.is_(None)
        )
    ).all()


def item_of(row) -> Item:
    return Item(row.id, row.subject, row.title, row.type, row.price_cents)


def insert_item(
    s: Session,
    *,
    period_id: str,
    subject: str,
    title: str,
    comment: str,
    type_: str,
    price_cents: int,
    reference: str | None,
    created_at: datetime,
) -> str:
    """A new catalog item; its id."""
    item_id = str(uuid.uuid4())
    s.execute(
        catalog_items.insert().values(
            id=item_id,
            period_id=period_id,
            subject=subject,
            title=title,
            comment=comment,
            type=type_,
            price_cents=price_cents,
            created_at=created_at,
            reference=reference,
        )
    )
    return item_id


def withdraw_items(s: Session, school_id: str, references: list[str], at: datetime) -> int:
    """The school's items on sale with these references taken off sale; how many."""
    school_periods_ = select(order_periods.c.id).where(order_periods.c.school_id == school_id)
    done = s.execute(
        update(catalog_items)
        .where(
            catalog_items.c.reference.in_(references),
            catalog_items.c.withdrawn_at.is_(None),
            catalog_items.c.period_id.in_(school_periods_),
        )
        .values(withdrawn_at=at)
    )
    return cast(CursorResult, done).rowcount or 0


# -- book-return credit ----------------------------------------------------------------------------


def credit_balance(s: Session, school_id: str, student_id: str, *, lock: bool = False) -> int:
    """The student's credit in the school; ``lock`` holds the account row until the commit (not on
    SQLite, whose writers take turns anyway)."""
    q = select(credit_accounts.c.balance_cents).where(
        credit_accounts.c.school_id == school_id, credit_accounts.c.student_id == student_id
    )
    if lock and s.get_bind().dialect.name != "sqlite":
        q = q.with_for_update()
    return s.execute(q).scalar_one_or_none() or 0


def lock_credit_account(s: Session, school_id: str, student_id: str) -> int:
    """The student's credit in the school, its account row held until the commit (made with a
    zero balance when there is none yet): one statement when the account exists."""
    balance = s.execute(
        select(credit_accounts.c.balance_cents)
        .where(credit_accounts.c.school_id == school_id, credit_accounts.c.student_id == student_id)
        .with_for_update()
    ).scalar_one_or_none()
    if balance is None:  # a concurrent first order inserting it too fails on the key and is retried
        s.execute(
            credit_accounts.insert().values(student_id=student_id, school_id=school_id, balance_cents=0)
        )
        return 0
    return balance


def ensure_credit_account(s: Session, school_id: str, student_id: str) -> None:
    exists = s.execute(
        select(credit_accounts.c.student_id).where(
            credit_accounts.c.school_id == school_id, credit_accounts.c.student_id == student_id
        )
    ).first()
    if not exists:
        s.execute(
            credit_accounts.insert().values(student_id=student_id, school_id=school_id, balance_cents=0)
        )


def _credit_entry(
    s: Session,
    school_id: str,
    student_id: str,
    amount_cents: int,
    note: str,
    order_id: str | None,
    at: datetime,
) -> str:
    entry_id = str(uuid.uuid4())
    s.execute(
        credit_entries.insert().values(
            id=entry_id,
            school_id=school_id,
            student_id=student_id,
            amount_cents=amount_cents,
            note=note,
            order_id=order_id,
            created_at=at,
        )
    )
    return entry_id


def _move_credit(s: Session, school_id: str, student_id: str, cents: int) -> None:
    s.execute(
        update(credit_accounts)
        .where(credit_accounts.c.school_id == school_id, credit_accounts.c.student_id == student_id)
        .values(balance_cents=credit_accounts.c.balance_cents + cents)
    )


def add_credit(s: Session, school_id: str, student_id: str, cents: int, note: str, at: datetime) -> str:
    """Credit earned by returned books; the entry's id."""
    _move_credit(s, school_id, student_id, cents)
    return _credit_entry(s, school_id, student_id, cents, note, None, at)


def take_credit(s: Session, school_id: str, student_id: str, cents: int, order_id: str, at: datetime) -> None:
    """Credit used by an order."""
    _move_credit(s, school_id, student_id, -cents)
    _credit_entry(s, school_id, student_id, -cents, "order", order_id, at)


def student_known_elsewhere(s: Session, school_id: str, student_id: str) -> bool:
    """Whether what this service trusts puts the student in another school and never in this one:
    its orders that finance invoiced (finance knows each school's students; a staff member's typed
    id proves nothing, so book-return credits do not count)."""
    schools = set(
        s.execute(
            select(orders.c.school_id)
            .where(orders.c.student_id == student_id, orders.c.status == "placed")
            .distinct()
        ).scalars()
    )
    return bool(schools) and school_id not in schools


# -- orders ----------------------------------------------------------------------------------------


def insert_order(
    s: Session,
    *,
    school_id: str,
    period_id: str,
    student_id: str,
    account_id: str,
    summary: Summary,
    created_at: datetime,
) -> str:
    """A new order waiting for its invoice (status ``invoicing``) with its lines; its id."""
    order_id = str(uuid.uuid4())
    s.execute(
        orders.insert().values(
            id=order_id,
            school_id=school_id,
            period_id=period_id,
            student_id=student_id,
            account_id=account_id,
            status="invoicing",
            subtotal_cents=summary.subtotal_cents,
            credit_cents=summary.credit_cents,
            grand_total_cents=summary.grand_total_cents,
            created_at=created_at,
        )
    )
    s.execute(
        order_lines.insert(),
        [
            {
                "order_id": order_id,
                "item_id": i.id,
                "subject": i.subject,
                "title": i.title,
                "type": i.type,
                "price_cents": i.price_cents,
            }
            for i in summary.lines
        ],
    )
    return order_id


def order_with_lines(s: Session, order_id: str) -> tuple:
    """The order row and its line rows, in the order they were recorded."""
    order = s.execute(select(orders).where(orders.c.id == order_id)).one()
    lines = s.execute(
        select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.id)
    ).all()
    return order, lines


def mark_placed(s: Session, order_id: str, invoice_id: str, checkout_url: str) -> bool:
    """The order invoiced; False when it already was (a concurrent retry got there first)."""
    result = s.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.status == "invoicing")
        .values(status="placed", invoice_id=invoice_id, checkout_url=checkout_url or None)
    )
    return bool(cast(CursorResult, result).rowcount)
