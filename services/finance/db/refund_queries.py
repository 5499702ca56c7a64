"""Queries of refunds to a bank account and their credit-transfer batches (``refund_tables``), and the
one read of the direct-debit mandates a refund needs (the IBAN it proposes). Every query names the
school: another school's refund, batch or mandate is not found here."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, and_, or_, select, update
from sqlalchemy.orm import Session

from services.finance.db.refund_tables import refund_batches, refunds
from services.finance.db.sepa_tables import mandate_students, mandates
from services.finance.db.tables import wallet_types, wallets

_REFUND = (*refunds.c, wallet_types.c.name.label("wallet_name"))
# A batch as lists show it: everything but the file.
_BATCH = tuple(c for c in refund_batches.c if c.name != "content")


def _refunds_query(school_id: str):
    return (
        select(*_REFUND)
        .select_from(
            refunds.join(wallets, wallets.c.id == refunds.c.wallet_id).join(
                wallet_types, wallet_types.c.id == wallets.c.wallet_type_id
            )
        )
        .where(refunds.c.school_id == school_id)
    )


def insert_refund(
    s: Session,
    *,
    school_id: str,
    wallet_id: str,
    student_id: str,
    amount_cents: int,
    balance_after_cents: int,
    iban: str,
    bic: str,
    holder_name: str,
    reason: str,
    end_to_end_id: str,
    transaction_id: str,
    created_by: str,
    created_at: datetime,
    refund_id: str | None = None,
) -> str:
    """A refund waiting for a batch; its id."""
    refund_id = refund_id or str(uuid.uuid4())
    s.execute(
        refunds.insert().values(
            id=refund_id,
            school_id=school_id,
            wallet_id=wallet_id,
            student_id=student_id,
            amount_cents=amount_cents,
            balance_after_cents=balance_after_cents,
            iban=iban,
            bic=bic,
            holder_name=holder_name,
            reason=reason,
            end_to_end_id=end_to_end_id,
            transaction_id=transaction_id,
            batch_id=None,
            created_by=created_by,
            created_at=created_at,
        )
    )
    return refund_id


def refund_of(s: Session, school_id: str, refund_id: str) -> Row[Any] | None:
    """One refund with its wallet's ``wallet_name``; None for another school's or none."""
    return s.execute(_refunds_query(school_id).where(refunds.c.id == refund_id)).first()


def refunds_page(
    s: Session,
    school_id: str,
    *,
    unbatched: bool = False,
    student_id: str = "",
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[Row[Any]]:
    """The school's refunds, newest first (time, then id), each with ``wallet_name``; only those not
    batched yet with ``unbatched``; of one student; ``limit`` after the refund ``after`` (its time and
    id: the keyset of the order)."""
    r = refunds
    q = _refunds_query(school_id).order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit)
    if unbatched:
        q = q.where(r.c.batch_id.is_(None))
    if student_id:
        q = q.where(r.c.student_id == student_id)
    if after is not None:
        at, last_id = after
        q = q.where(or_(r.c.created_at < at, and_(r.c.created_at == at, r.c.id < last_id)))
    return list(s.execute(q).all())


def lock_unbatched(s: Session, school_id: str) -> list[Row[Any]]:
    """The school's refunds not batched yet, oldest first, locked until commit. A batch built at the
    same time waits on these rows and then finds them batched (PostgreSQL reads the WHERE again on the
    rows it waited for); SQLite's immediate transactions never interleave."""
    r = refunds
    q = (
        select(r)
        .where(r.c.school_id == school_id, r.c.batch_id.is_(None))
        .order_by(r.c.created_at, r.c.id)
        .with_for_update()
    )
    return list(s.execute(q).all())


def assign_batch(s: Session, refund_ids: list[str], batch_id: str) -> int:
    """Put the refunds (still unbatched) into the batch; how many moved."""
    if not refund_ids:
        return 0
    result = s.execute(
        update(refunds)
        .where(refunds.c.id.in_(refund_ids), refunds.c.batch_id.is_(None))
        .values(batch_id=batch_id)
    )
    return int(cast(CursorResult, result).rowcount)


def insert_batch(
    s: Session,
    *,
    batch_id: str,
    school_id: str,
    message_id: str,
    execution_date: date,
    count: int,
    total_cents: int,
    filename: str,
    content: bytes,
    created_by: str,
    created_at: datetime,
) -> None:
    s.execute(
        refund_batches.insert().values(
            id=batch_id,
            school_id=school_id,
            message_id=message_id,
            execution_date=execution_date,
            count=count,
            total_cents=total_cents,
            filename=filename,
            content=content,
            created_by=created_by,
            created_at=created_at,
        )
    )


def batch_of(s: Session, school_id: str, batch_id: str, *, with_file: bool = False) -> Row[Any] | None:
    """One batch of the school (with its file's ``content`` when asked); None otherwise."""
    columns = tuple(refund_batches.c) if with_file else _BATCH
    q = select(*columns).where(refund_batches.c.id == batch_id, refund_batches.c.school_id == school_id)
    return s.execute(q).first()


def batches_page(
    s: Session, school_id: str, *, after: tuple[datetime, str] | None = None, limit: int = 50
) -> list[Row[Any]]:
    """The school's batches, newest first, without their files; ``limit`` after the batch ``after``."""
    b = refund_batches
    q = select(*_BATCH).where(b.c.school_id == school_id).order_by(b.c.created_at.desc(), b.c.id.desc())
    if after is not None:
        at, last_id = after
        q = q.where(or_(b.c.created_at < at, and_(b.c.created_at == at, b.c.id < last_id)))
    return list(s.execute(q.limit(limit)).all())


def active_mandate_of(s: Session, school_id: str, student_id: str):
    """The newest active direct-debit mandate covering the student (``id``, ``iban``, ``bic``,
    ``holder_name``), None when there is none. The mandates are DirectDebitService's: read here only."""
    m, ms = mandates, mandate_students
    q = (
        select(m.c.id, m.c.iban, m.c.bic, m.c.holder_name)
        .select_from(m.join(ms, ms.c.mandate_id == m.c.id))
        .where(m.c.school_id == school_id, m.c.status == "active", ms.c.student_id == student_id)
        .order_by(m.c.signed_at.desc(), m.c.id.desc())
        .limit(1)
    )
    return s.execute(q).first()
