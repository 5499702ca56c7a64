"""Tables of refunds to a bank account (issue #18), on the same metadata as ``tables.py``.

- ``refunds``: wallet money a manager refunded to an IBAN. The wallet was debited when the row was
  written (``transaction_id``: the ledger transaction, kind ``refund``, booked on the school's refunds
  payable); ``batch_id`` NULL while it waits for a credit-transfer batch. ``end_to_end_id`` is the
  reference the banks carry. The full IBAN stays here: answers show it masked.
- ``refund_batches``: one credit-transfer file (pain.001.001.03) each, kept as built (``content``):
  the file downloaded again is the one sent, with the same MsgId (banks refuse a file sent twice).
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    text,
)

from services.finance.db.tables import metadata

refund_batches = Table(
    "refund_batches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("execution_date", Date, nullable=False),
    Column("count", Integer, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("filename", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_refund_batches_school_created", "school_id", "created_at"),
    CheckConstraint("count > 0 AND total_cents > 0", name="not_empty"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=False, index=True),
    Column("student_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("balance_after_cents", BigInteger, nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=False, default=""),
    Column("holder_name", String(70), nullable=False),
    Column("reason", String(140), nullable=False, default=""),  # the remittance the bank carries
    Column("end_to_end_id", String(35), nullable=False, unique=True),
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=False),
    Column("batch_id", String(36), ForeignKey("refund_batches.id"), nullable=True, index=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_refunds_school_created", "school_id", "created_at"),
    Index("ix_refunds_student_created", "student_id", "created_at"),
    # what the next batch takes
    Index(
        "ix_refunds_unbatched",
        "school_id",
        sqlite_where=text("batch_id IS NULL"),
        postgresql_where=text("batch_id IS NULL"),
    ),
    CheckConstraint("amount_cents > 0 AND balance_after_cents >= 0", name="amounts"),
)
