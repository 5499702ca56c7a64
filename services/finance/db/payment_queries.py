"""Queries of payments (every payment: wallet, cash, online, transfer) and their reversals."""

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.finance.db.tables import payments


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
    payment_id = str(uuid.uuid4())
    s.execute(
        payments.insert().values(
            id=payment_id,
            school_id=school_id,
            student_id=student_id,
            purpose=purpose,
            method=method,
            status="paid",
            amount_cents=amount,
            wallet_id=wallet_id,
            invoice_id=invoice_id,
            transaction_id=tx_id,
            created_at=now,
            paid_at=now,
            created_by=created_by,
            updated_at=now,
        )
    )
    return payment_id
