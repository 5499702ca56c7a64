"""SEPA direct debit's tables (issue #18), on the finance metadata (``tables.metadata``; ``tables``
names them too): mandates and the students they cover, automatic top-ups and their triggers,
collection batches and their items. Refunds (pain.001) keep theirs in ``refund_tables.py``.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    text,
)

from services.finance.db.tables import metadata

# An e-mandate signed by a parent for their family, with its evidence: the text accepted (naming the
# school and its creditor id, copied here as they were), when, from which address and user agent, in
# which language. ``reference`` is the unique mandate reference (UMR, at most 35 SEPA characters).
# ``first_collected``: a collection went out on it, so the next ones are RCUR (FRST before).
mandates: Table = Table(
    "mandates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("reference", String(35), nullable=False, unique=True),
    Column("parent_account_id", String(36), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=False, default=""),
    Column("holder_name", String(70), nullable=False),
    Column("creditor_id", String(35), nullable=False),
    Column("school_name", String(200), nullable=False, default=""),
    Column("mandate_text", Text, nullable=False),
    Column("language", String(2), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("signed_from", String(100), nullable=False, default=""),
    Column("user_agent", String(500), nullable=False, default=""),
    Column("status", String(10), nullable=False),  # active | revoked
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(20), nullable=False, default=""),  # parent | staff | bank_return
    Column("revoked_by", String(36), nullable=True),
    Column("first_collected", Boolean, nullable=False, default=False),
    Index("ix_mandates_school_signed", "school_id", "signed_at"),
    Index("ix_mandates_parent", "parent_account_id"),
)

# The students a mandate covers: the children the parent could act for when signing.
mandate_students: Table = Table(
    "mandate_students",
    metadata,
    Column("mandate_id", String(36), ForeignKey("mandates.id"), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Index("ix_mandate_students_student", "student_id"),
)

# A wallet's automatic top-up: under ``threshold_cents``, ``amount_cents`` is collected by direct debit.
auto_top_ups: Table = Table(
    "auto_top_ups",
    metadata,
    Column("wallet_id", String(36), ForeignKey("wallets.id"), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("threshold_cents", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("updated_by", String(36), nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("threshold_cents >= 0 AND amount_cents > 0", name="amounts"),
)

# A top-up triggered (the wallet fell under its threshold): pending until a batch takes it (batched),
# then collected or returned by the bank; withdrawn when the top-up is disabled or the mandate revoked
# before it went to the bank. At most one pending or batched per wallet (the partial unique index).
auto_top_up_triggers: Table = Table(
    "auto_top_up_triggers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("balance_cents", BigInteger, nullable=False),  # the balance that triggered it
    Column("threshold_cents", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # pending | batched | collected | returned | withdrawn
    Column("source", String(20), nullable=False, default=""),  # sale | wallet_payment | batch | ...
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(
        "uq_auto_top_up_triggers_live",
        "wallet_id",
        unique=True,
        sqlite_where=text("status IN ('pending', 'batched')"),
        postgresql_where=text("status IN ('pending', 'batched')"),
    ),
    Index("ix_auto_top_up_triggers_school_status", "school_id", "status"),
    CheckConstraint("amount_cents > 0", name="positive"),
)

# A collection batch (one pain.008 file). ``message_id`` is the file's MsgId, also the reference the
# bank's credit of the batch carries. ``file_fetched_at``: the file was downloaded (sent to the bank,
# as far as finance can tell); until then a revoked mandate's items are withdrawn from it.
direct_debit_batches: Table = Table(
    "direct_debit_batches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("collection_date", Date, nullable=False),
    Column("invoices_due_by", Date, nullable=False),
    Column("status", String(20), nullable=False),  # created | collected | partially_returned
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("file_fetched_at", DateTime(timezone=True), nullable=True),
    Index("ix_direct_debit_batches_school_created", "school_id", "created_at"),
)

# One collection of a batch: an invoice's open amount or a triggered top-up, on one mandate. A live
# (pending) item exists at most once per invoice and per trigger: the partial unique indexes make two
# batches built at once unable to share one. ``end_to_end_id`` is what the bank gives back on a
# credit or a return. What the booking did is kept (``applied_cents`` on the invoice or the wallet,
# ``excess_cents`` left unallocated), so a return reopens exactly that, once (``returned_at``).
direct_debit_items: Table = Table(
    "direct_debit_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("batch_id", String(36), ForeignKey("direct_debit_batches.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # invoice | top_up
    Column("student_id", String(36), nullable=False),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=True),
    Column("trigger_id", String(36), ForeignKey("auto_top_up_triggers.id"), nullable=True),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=True),
    Column("mandate_id", String(36), ForeignKey("mandates.id"), nullable=False, index=True),
    Column("sequence_type", String(4), nullable=False),  # FRST | RCUR
    Column("end_to_end_id", String(35), nullable=False, unique=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("remittance", String(140), nullable=False, default=""),
    Column("status", String(10), nullable=False),  # pending | collected | returned | withdrawn
    Column("payment_id", String(36), nullable=True),
    Column("applied_cents", BigInteger, nullable=False, default=0),
    Column("excess_cents", BigInteger, nullable=False, default=0),
    Column("excess_transfer_id", String(36), nullable=True),  # the unmatched transfer of the excess
    Column("collected_at", DateTime(timezone=True), nullable=True),
    Column("collected_movement_id", String(36), nullable=True),
    Column("returned_at", DateTime(timezone=True), nullable=True),
    Column("return_reason", String(4), nullable=False, default=""),
    Column("return_bank_reference", String(64), nullable=False, default=""),
    Column("return_movement_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(
        "uq_direct_debit_items_live_invoice",
        "invoice_id",
        unique=True,
        sqlite_where=text("status = 'pending' AND invoice_id IS NOT NULL"),
        postgresql_where=text("status = 'pending' AND invoice_id IS NOT NULL"),
    ),
    Index(
        "uq_direct_debit_items_live_trigger",
        "trigger_id",
        unique=True,
        sqlite_where=text("status = 'pending' AND trigger_id IS NOT NULL"),
        postgresql_where=text("status = 'pending' AND trigger_id IS NOT NULL"),
    ),
    Index("ix_direct_debit_items_invoice", "invoice_id"),
    Index("ix_direct_debit_items_wallet", "wallet_id"),
    CheckConstraint("amount_cents > 0", name="positive"),
    CheckConstraint("(invoice_id IS NULL) <> (trigger_id IS NULL)", name="one_target"),
)
