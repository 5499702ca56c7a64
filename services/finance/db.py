"""Tables of the finance service: wallet types, wallets and the double-entry ledger."""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table

from kit.bus import bus_tables
from kit.idempotency import idempotency_table
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)
idempotency_keys = idempotency_table(metadata)

wallet_types = Table(
    "wallet_types",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

wallets = Table(
    "wallets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False, index=True),
    Column("wallet_type_id", String(36), ForeignKey("wallet_types.id"), nullable=False),
    Column("structured_communication", String(12), nullable=False, unique=True),
    # Kept in step with the postings inside the same transaction, for locking and fast reads;
    # the invariant balance == sum(postings) is checked by tests.
    Column("balance_cents", BigInteger, nullable=False, default=0),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("uq_wallets_student_type", "student_id", "wallet_type_id", unique=True),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("label", String(300), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account", String(80), nullable=False, index=True),
    Column("amount_cents", BigInteger, nullable=False),
)
