"""Queries of payments (every payment: wallet, cash, online, transfer) and their reversals."""

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.finance.db.tables import payment_reversals, payments


def _insert_payment(
    s: Session,
    school_id: str,
    student_id: str,
    purpose: str,
    method: str,
    status: str,
    amount: int,
    now: datetime,
    **values,
) -> str:
    payment_id = str(uuid.uuid4())
    # one statement object, its columns as parameters: compiled once per set of columns (issue #20)
    s.execute(
        _INSERT_PAYMENT,
        {
            "id": payment_id,
            "school_id": school_id,
            "student_id": student_id,
            "purpose": purpose,
            "method": method,
            "status": status,
            "amount_cents": amount,
            "created_at": now,
            "updated_at": now,
            **values,
        },
    )
    return payment_id


_INSERT_PAYMENT = payments.insert()


def insert_paid_payment(
    s: Session,
    school_id: str,
    student_id: str,
    purpose: str,
    method: str,
    amount: int,
    now: datetime,
    tx_id: str,
    *,
    wallet_id: str | None = None,
    invoice_id: str | None = None,
    created_by: str | None = None,
) -> str:
    """A payment that is paid as it is recorded (wallet, transfer, cash, an assigned statement line)."""
    return _insert_payment(
        s,
        school_id,
        student_id,
        purpose,
        method,
        "paid",
        amount,
        now,
        wallet_id=wallet_id,
        invoice_id=invoice_id,
        transaction_id=tx_id,
        paid_at=now,
        created_by=created_by,
    )


def insert_online_payment(
    s: Session,
    school_id: str,
    student_id: str,
    purpose: str,
    amount: int,
    now: datetime,
    *,
    created_by: str,
    wallet_id: str | None = None,
    invoice_id: str | None = None,
):
    """An online payment, ``open`` until the provider says how it ended; its row."""
    payment_id = _insert_payment(
        s,
        school_id,
        student_id,
        purpose,
        "online",
        "open",
        amount,
        now,
        wallet_id=wallet_id,
        invoice_id=invoice_id,
        created_by=created_by,
    )
    return payment_row(s, payment_id)


def payment_row(s: Session, payment_id: str, *, lock: bool = False):
    """The payment (it must exist), locked until commit with ``lock``."""
    q = select(payments).where(payments.c.id == payment_id)
    return s.execute(q.with_for_update() if lock else q).one()


def find_payment(s: Session, school_id: str, payment_id: str):
    return s.execute(
        select(payments).where(payments.c.id == payment_id, payments.c.school_id == school_id)
    ).first()


def payment_id_of_provider(s: Session, provider_id: str) -> str | None:
    return s.execute(select(payments.c.id).where(payments.c.provider_id == provider_id)).scalar_one_or_none()


def first_online_order_payment(s: Session, invoice_id: str):
    """The online payment first started for an order's invoice, None before there is one."""
    return s.execute(
        select(payments)
        .where(
            payments.c.invoice_id == invoice_id, payments.c.purpose == "order", payments.c.method == "online"
        )
        .order_by(payments.c.created_at)
        .limit(1)
    ).first()


def update_payment(s: Session, payment_id: str, **values) -> None:
    s.execute(update(payments).where(payments.c.id == payment_id).values(**values))


def fail_open_payment(s: Session, payment_id: str, provider_status: str, now: datetime) -> None:
    """The payment failed before the provider took it (only if it is still open)."""
    s.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "open")
        .values(status="failed", provider_status=provider_status, updated_at=now)
    )


def attach_provider_payment(
    s: Session, payment_id: str, provider_id: str, checkout_url: str, provider_status: str, now: datetime
) -> None:
    """Name the provider payment behind ours (unless a concurrent start named one already)."""
    s.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.provider_id.is_(None))
        .values(
            provider_id=provider_id,
            checkout_url=checkout_url,
            provider_status=provider_status,
            updated_at=now,
        )
    )


def unnamed_open_payments(s: Session, created_before: datetime, limit: int) -> list[str]:
    """Our ids of online payments still open, started before ``created_before``, that name no provider
    payment (we stopped between creating it and writing its id), oldest first."""
    return list(
        s.execute(
            select(payments.c.id)
            .where(
                payments.c.status == "open",
                payments.c.method == "online",
                payments.c.provider_id.is_(None),
                payments.c.created_at < created_before,
            )
            .order_by(payments.c.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def open_online_payments(s: Session, created_before: datetime, limit: int) -> list[str]:
    """Provider ids of online payments still open that were started before ``created_before``, oldest
    first."""
    return list(
        s.execute(
            select(payments.c.provider_id)
            .where(
                payments.c.status == "open",
                payments.c.method == "online",
                payments.c.provider_id.is_not(None),
                payments.c.created_at < created_before,
            )
            .order_by(payments.c.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )


# --- reversals (refunds and chargebacks of online payments) ---------------------------------------


def reversal_booked(s: Session, payment_id: str, provider_reversal_id: str) -> bool:
    pr = payment_reversals
    return (
        s.execute(
            select(pr.c.id).where(pr.c.payment_id == payment_id, pr.c.provider_id == provider_reversal_id)
        ).first()
        is not None
    )


def reversed_cents(s: Session, payment_id: str, column: str = "amount_cents") -> int:
    """What the payment's booked reversals took back in all (or of one part: ``invoice_cents``...)."""
    pr = payment_reversals
    return int(
        s.execute(
            select(func.coalesce(func.sum(pr.c[column]), 0)).where(pr.c.payment_id == payment_id)
        ).scalar_one()
    )


def reversed_by_kind(s: Session, payment_id: str) -> dict[str, int]:
    """``{"refund": cents, "chargeback": cents}`` of the payment's booked reversals."""
    pr = payment_reversals
    return {
        kind: int(cents)
        for kind, cents in s.execute(
            select(pr.c.kind, func.sum(pr.c.amount_cents))
            .where(pr.c.payment_id == payment_id)
            .group_by(pr.c.kind)
        )
    }


def insert_reversal(s: Session, **values) -> None:
    s.execute(payment_reversals.insert().values(id=str(uuid.uuid4()), **values))
