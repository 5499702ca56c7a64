"""Queries of money that came by transfer or named nothing: unmatched transfers, bank statement
imports and the movements read from them."""

import hashlib
import uuid
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kit.db import bulk_insert
from services.finance.db.booking import book
from services.finance.db.tables import (
    bank_movements,
    payments,
    statement_imports,
    structured_communications,
    unmatched_transfers,
)
from services.finance.db.wallet_queries import in_sets
from services.finance.domain import ledger

MAX_DEDUP_KEY = 300  # bank_movements.dedup_key


# --- unmatched transfers ------------------------------------------------------------------------------


def record_unmatched(
    s: Session,
    school_id: str,
    *,
    source: str,
    method: str,
    amount: int,
    now: datetime,
    reason: str,
    communication: str,
    counterparty_name: str,
    counterparty_iban: str,
    booked_on: date,
    movement_id: str | None = None,
    online_payment_id: str | None = None,
    transaction_id: str | None = None,
) -> tuple[str, str]:
    """List money for the manager: ``(transfer id, transaction id)``. Without ``transaction_id`` the
    money just arrived and is booked on the unallocated account here; with one, it is already there
    (what an invoice could not take of an assigned transfer)."""
    if transaction_id is None:
        transaction_id = book(
            s,
            school_id,
            ledger.receive_unallocated(school_id, amount, method),
            at=now,
            label=f"Non attribué – {counterparty_name or communication}"[:300],
        )
    transfer_id = str(uuid.uuid4())
    s.execute(
        unmatched_transfers.insert().values(
            id=transfer_id,
            school_id=school_id,
            source=source,
            method=method,
            movement_id=movement_id,
            online_payment_id=online_payment_id,
            amount_cents=amount,
            communication=communication,
            counterparty_name=counterparty_name[:140],
            counterparty_iban=counterparty_iban[:64],
            booked_on=booked_on,
            reason=reason,
            status="open",
            transaction_id=transaction_id,
            created_at=now,
        )
    )
    return transfer_id, transaction_id


def unmatched_of(s: Session, school_id: str, status: str):
    """The school's unmatched transfers of ``status`` ("all": every one), oldest first."""
    u = unmatched_transfers
    q = select(u).where(u.c.school_id == school_id).order_by(u.c.created_at, u.c.id)
    if status != "all":
        q = q.where(u.c.status == status)
    return s.execute(q).all()


def lock_unmatched(s: Session, school_id: str, transfer_id: str):
    """The school's unmatched transfer, locked until commit; None when it has none of this id."""
    u = unmatched_transfers
    return s.execute(
        select(u).where(u.c.id == transfer_id, u.c.school_id == school_id).with_for_update()
    ).first()


def unmatched_row(s: Session, transfer_id: str):
    return s.execute(select(unmatched_transfers).where(unmatched_transfers.c.id == transfer_id)).one()


def lock_open_excess(s: Session, online_payment_id: str) -> list:
    """What of an online payment is still unassigned (its open unmatched transfers), oldest first,
    locked until commit."""
    u = unmatched_transfers
    return list(
        s.execute(
            select(u)
            .where(u.c.online_payment_id == online_payment_id, u.c.status == "open")
            .order_by(u.c.created_at, u.c.id)
            .with_for_update()
        ).all()
    )


def update_unmatched(s: Session, transfer_id: str, **values) -> None:
    s.execute(update(unmatched_transfers).where(unmatched_transfers.c.id == transfer_id).values(**values))


# --- bank statement imports ------------------------------------------------------------------------


def dedup_key(key: str) -> str:
    """The movement's key as stored (a hash when a bank's references make it longer than the column)."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def insert_import(s: Session, **values) -> None:
    s.execute(statement_imports.insert().values(**values))


def update_import(s: Session, import_id: str, **values) -> None:
    s.execute(update(statement_imports).where(statement_imports.c.id == import_id).values(**values))


def import_row(s: Session, import_id: str):
    return s.execute(select(statement_imports).where(statement_imports.c.id == import_id)).one()


def recent_imports(s: Session, school_id: str, limit: int):
    """The school's statement imports, newest first."""
    return s.execute(
        select(statement_imports)
        .where(statement_imports.c.school_id == school_id)
        .order_by(statement_imports.c.created_at.desc())
        .limit(limit)
    ).all()


def known_dedup_keys(s: Session, school_id: str, keys: set[str]) -> set[str]:
    """Those of ``keys`` already imported in the school."""
    bm = bank_movements
    known: set[str] = set()
    for among in in_sets(s, bm.c.dedup_key, keys):
        known.update(s.execute(select(bm.c.dedup_key).where(bm.c.school_id == school_id, among)).scalars())
    return known


def communication_targets(
    s: Session, school_id: str, digits: set[str]
) -> dict[str, tuple[str | None, str | None, datetime | None]]:
    """What each of the school's structured communications among ``digits`` names: (wallet id,
    invoice id, valid until)."""
    sc = structured_communications
    out = {}
    for among in in_sets(s, sc.c.digits, digits):
        for r in s.execute(
            select(sc.c.digits, sc.c.wallet_id, sc.c.invoice_id, sc.c.valid_until).where(
                sc.c.school_id == school_id, among
            )
        ):
            out[r.digits] = (r.wallet_id, r.invoice_id, r.valid_until)
    return out


def insert_statement_rows(
    s: Session, *, payment_rows: list, movement_rows: list, unmatched_rows: list
) -> None:
    """What an import gathered, in multi-row inserts: its payments, movements and unmatched transfers."""
    bulk_insert(s, payments, payment_rows)
    bulk_insert(s, bank_movements, movement_rows)
    bulk_insert(s, unmatched_transfers, unmatched_rows)
