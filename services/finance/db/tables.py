"""Tables of the finance service (queries are in the sibling modules of this package).

- ``students``: what finance knows of the school's students (fed by auth.student.created.v1 and
  OpenStudentWallets, kept up to date by auth.student.updated.v1): level and names for invoices, and
  whether they left the school (no new top-up, invoice or sale then).
- ``wallet_types`` / ``wallets``: one wallet per student and type. ``balance_cents`` is a cache of the
  wallet's postings, written in the same transaction as them and never negative (CHECK); tests prove
  it always equals the postings' sum.
- ``structured_communications``: every OGM finance issued, for a wallet or an invoice; one unique
  index over both, so a bank transfer's communication names exactly one thing. A wallet's current
  one has ``valid_until`` NULL; after a move from primary to secondary the old one keeps crediting
  the same wallet until ``valid_until``.
- ``ledger_transactions`` / ``ledger_postings``: the double-entry ledger, append-only (database
  triggers refuse UPDATE and DELETE, see the migration); every transaction's postings sum to zero.
- ``invoices`` / ``invoice_lines`` / ``credit_notes``; ``payments`` (every payment: wallet, cash,
  online through the provider, bank transfer); ``payment_reversals`` (refunds and chargebacks of
  online payments, once per provider id); ``sales`` / ``sale_lines`` (the sales journal).
- ``statement_imports`` / ``bank_movements`` / ``unmatched_transfers``: bank statement files imported,
  every movement read from them (unique per school and dedup key), and the credits that named nothing.
- ``school_settings`` and ``counters`` (invoice and credit-note numbers per school and year).
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
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from kit.bus import bus_tables
from kit.idempotency import idempotency_table
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)
idempotency_keys = idempotency_table(metadata)

students = Table(
    "students",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False, index=True),
    Column("level", String(20), nullable=False),
    Column("first_name", String(100), nullable=False, default=""),
    Column("last_name", String(100), nullable=False, default=""),
    Column("class_name", String(50), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # active | left, as auth.student.updated.v1 last said (issue #16): a leaver gets no new top-up,
    # invoice or sale, whoever asks (a staff token names no student: this is what finance checks)
    Column("status", String(10), nullable=False, default="active"),
    Column("left_on", Date, nullable=True),
    # when auth said it (the event's occurred_at): an older event delivered late changes nothing
    Column("status_at", DateTime(timezone=True), nullable=True),
)

wallet_types = Table(
    "wallet_types",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    # Lower-cased name: "Repas" and "repas" are one type.
    Column("name_key", String(100), nullable=False),
    Column("position", Integer, nullable=False),  # the order the school created them in
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("school_id", "name_key", name="uq_wallet_types_school_name"),
)

wallets = Table(
    "wallets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False, index=True),
    Column("wallet_type_id", String(36), ForeignKey("wallet_types.id"), nullable=False),
    Column("balance_cents", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("student_id", "wallet_type_id", name="uq_wallets_student_type"),
    CheckConstraint("balance_cents >= 0", name="balance_not_negative"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False, index=True),
    Column("number", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("credit_cents", BigInteger, nullable=False, default=0),
    # Kept in step with the invoice's postings in the same transaction (tests check both).
    Column("paid_cents", BigInteger, nullable=False, default=0),
    Column("credited_cents", BigInteger, nullable=False, default=0),
    Column("status", String(20), nullable=False),
    Column("source", String(20), nullable=False),  # staff | order
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("school_id", "number", name="uq_invoices_school_number"),
    CheckConstraint("total_cents >= 0 AND paid_cents >= 0 AND paid_cents <= total_cents", name="amounts"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("label", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    # Belgian legal cost rules (issue #19): out-of-school care and its days (tax certificate 281.86),
    # a fee the family may refuse (FWB periodic statements), the Flemish maximum bill it counts towards
    # ("" | strict | less_strict).
    Column("childcare", Boolean, nullable=False, default=False),
    Column("days", Integer, nullable=False, default=0),
    Column("optional", Boolean, nullable=False, default=False),
    Column("max_bill", String(20), nullable=False, default=""),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, unique=True),
    Column("number", String(20), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("credited_cents", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

structured_communications = Table(
    "structured_communications",
    metadata,
    Column("digits", String(12), primary_key=True),  # the 12 bare digits
    Column("school_id", String(36), nullable=False),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=True, index=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=True, unique=True),
    Column("level", String(20), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    CheckConstraint("(wallet_id IS NULL) <> (invoice_id IS NULL)", name="one_target"),
    # One current communication per wallet.
    Index(
        "uq_structured_communications_current",
        "wallet_id",
        unique=True,
        sqlite_where=text("valid_until IS NULL AND wallet_id IS NOT NULL"),
        postgresql_where=text("valid_until IS NULL AND wallet_id IS NOT NULL"),
    ),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("method", String(20), nullable=True),  # online | transfer | cash | wallet
    Column("label", String(300), nullable=False, default=""),
    Column("student_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account", String(120), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Index("ix_ledger_postings_account_tx", "account", "transaction_id"),
    CheckConstraint("amount_cents <> 0", name="not_zero"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),  # top_up | invoice | order
    Column("method", String(20), nullable=False),  # online | transfer | wallet | cash
    Column("status", String(20), nullable=False),  # open | paid | failed | canceled | expired
    Column("amount_cents", BigInteger, nullable=False),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=True, index=True),
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=True),
    Column("provider_id", String(100), nullable=True, unique=True),
    Column("checkout_url", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    # Online payments: the provider's last fetched status, who started it, when it last changed.
    Column("provider_status", String(20), nullable=True),
    Column("created_by", String(36), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("amount_cents > 0", name="positive"),
    Index("ix_payments_status_created", "status", "created_at"),
)

# Refunds and chargebacks of online payments, as the provider lists them (``re_...`` / ``chb_...``):
# one row per provider id and payment, written in the transaction that books it, so a webhook repeated
# or racing books each one once. How the amount was taken back: from the wallet the payment topped up,
# off the invoice it paid (owed again), from its excess still unassigned, and what none of these
# covered, invoiced to the student (``rest_invoice_id``).
payment_reversals = Table(
    "payment_reversals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False),
    Column("provider_id", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # refund | chargeback
    Column("provider_status", String(20), nullable=False, default=""),
    Column("amount_cents", BigInteger, nullable=False),
    Column("wallet_cents", BigInteger, nullable=False, default=0),
    Column("invoice_cents", BigInteger, nullable=False, default=0),
    Column("unallocated_cents", BigInteger, nullable=False, default=0),
    Column("invoiced_cents", BigInteger, nullable=False, default=0),
    Column("rest_invoice_id", String(36), ForeignKey("invoices.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("payment_id", "provider_id", name="uq_payment_reversals_payment_provider"),
    CheckConstraint("amount_cents > 0", name="positive"),
    CheckConstraint(
        "wallet_cents >= 0 AND invoice_cents >= 0 AND unallocated_cents >= 0 AND invoiced_cents >= 0"
        " AND wallet_cents + invoice_cents + unallocated_cents + invoiced_cents = amount_cents",
        name="split",
    ),
)

# --- bank statements ---------------------------------------------------------------------------------

statement_imports = Table(
    "statement_imports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("format", String(10), nullable=False),  # coda | camt053
    Column("filename", String(255), nullable=False, default=""),
    Column("sha256", String(64), nullable=False),
    Column("accounts", String(500), nullable=False, default=""),  # comma-separated
    Column("statements", Integer, nullable=False),
    Column("movements", Integer, nullable=False),
    Column("credited", Integer, nullable=False),
    Column("unmatched", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("debits", Integer, nullable=False),
    # debits the bank returned on a direct-debit batch: booked, each reopening what it had paid
    Column("returned_debits", Integer, nullable=False, default=0, server_default="0"),
    Column("credited_cents", BigInteger, nullable=False),
    Column("unmatched_cents", BigInteger, nullable=False),
    Column("imported_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_statement_imports_school_created", "school_id", "created_at"),
)

# Every movement ever imported, credits and debits: the unique (school, dedup_key) is what makes a
# file or a movement imported twice book nothing twice, even when two imports race.
bank_movements = Table(
    "bank_movements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("import_id", String(36), ForeignKey("statement_imports.id"), nullable=False, index=True),
    Column("dedup_key", String(300), nullable=False),
    Column("direction", String(10), nullable=False),  # credit | debit
    Column("amount_cents", BigInteger, nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("account", String(64), nullable=False, default=""),
    Column("bank_reference", String(64), nullable=False, default=""),
    Column("structured_communication", String(12), nullable=False, default=""),
    Column("free_communication", Text, nullable=False, default=""),
    Column("counterparty_name", String(140), nullable=False, default=""),
    Column("counterparty_iban", String(64), nullable=False, default=""),
    Column("reversal", Boolean, nullable=False, default=False),
    # wallet | invoice | unmatched | debit (the invoice's excess also leaves an unmatched transfer)
    Column("outcome", String(20), nullable=False),
    Column("wallet_id", String(36), nullable=True),
    Column("invoice_id", String(36), nullable=True),
    Column("payment_id", String(36), nullable=True),
    UniqueConstraint("school_id", "dedup_key", name="uq_bank_movements_school_dedup"),
    CheckConstraint("amount_cents > 0", name="positive"),
)

# Money received that named no wallet or invoice (or more than an invoice's open amount): booked on
# the school's unallocated account, waiting for the manager to assign it.
unmatched_transfers = Table(
    "unmatched_transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("source", String(20), nullable=False),  # statement | online
    Column("method", String(20), nullable=False),  # transfer | online
    Column("movement_id", String(36), ForeignKey("bank_movements.id"), nullable=True, index=True),
    Column("online_payment_id", String(36), ForeignKey("payments.id"), nullable=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("communication", Text, nullable=False, default=""),
    Column("counterparty_name", String(140), nullable=False, default=""),
    Column("counterparty_iban", String(64), nullable=False, default=""),
    Column("booked_on", Date, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # open | assigned
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=False),
    Column("assigned_wallet_id", String(36), nullable=True),
    Column("assigned_invoice_id", String(36), nullable=True),
    Column("assigned_by", String(36), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    Column("payment_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_unmatched_transfers_school_status", "school_id", "status", "created_at"),
    CheckConstraint("amount_cents > 0", name="positive"),
)

sales = Table(
    "sales",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("wallet_id", String(36), ForeignKey("wallets.id"), nullable=False),
    Column("transaction_id", String(36), ForeignKey("ledger_transactions.id"), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("recorded_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_sales_student_created", "student_id", "created_at"),
    Index("ix_sales_school_created", "school_id", "created_at"),
)

sale_lines = Table(
    "sale_lines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sale_id", String(36), ForeignKey("sales.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("label", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    # Out-of-school care (tax certificates): as the sale said it, from the till item's flag.
    Column("childcare", Boolean, nullable=False, default=False),
    Column("days", Integer, nullable=False, default=0),  # days of care the line pays for (issue #19)
)

school_settings = Table(
    "school_settings",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("iban", String(34), nullable=False, default=""),
    Column("bic", String(11), nullable=False, default=""),
    Column("beneficiary", String(70), nullable=False, default=""),
    Column("school_name", String(200), nullable=False, default=""),
    Column("top_up_methods", String(100), nullable=False, default=""),  # comma-separated
    Column("internal_wallet_payments", Boolean, nullable=False, default=False),
    Column("online_payment_for_orders", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # SEPA creditor identifier (AT-02, compact) and KBO/BCE enterprise number (10 digits); "" for none.
    Column("creditor_id", String(35), nullable=False, default=""),
    Column("enterprise_number", String(10), nullable=False, default=""),
    # The school's postal address (tax certificates 281.86); "" for none.
    Column("address_street", String(200), nullable=False, default=""),
    Column("address_postal_code", String(4), nullable=False, default=""),
    Column("address_city", String(100), nullable=False, default=""),
    # Reminders of overdue invoices (domain/school_settings.Reminders; defaults: DEFAULT_REMINDERS).
    Column("reminders_enabled", Boolean, nullable=False, default=False),
    Column("reminders_first_after_days", Integer, nullable=False, default=7),
    Column("reminders_repeat_every_days", Integer, nullable=False, default=14),
    Column("reminders_max_count", Integer, nullable=False, default=3),
)

counters = Table(
    "counters",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("name", String(40), primary_key=True),  # e.g. invoice:2026
    Column("value", Integer, nullable=False),
)

LEDGER_TABLES = ("ledger_transactions", "ledger_postings")

# The till's price list (issue #17): what the canteen or the shop's counter sells, per school. A sale
# copies an item's label, price and childcare flag into its lines, so changing or archiving an item
# (``archived_at``: off the list for good) leaves past sales as they were. ``active`` false keeps an
# item on the list but off the till (out of season).
till_items = Table(
    "till_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("label", String(120), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    # the wallet type it is sold from; NULL: any of the child's wallets
    Column("wallet_type_id", String(36), ForeignKey("wallet_types.id"), nullable=True),
    Column("childcare", Boolean, nullable=False, default=False),
    Column("days", Integer, nullable=False, default=0),  # days of care per unit sold (issue #19)
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("archived_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_till_items_school_position", "school_id", "position"),
    CheckConstraint("price_cents > 0", name="positive"),
)

# SEPA direct debit's tables (issue #18) are in ``sepa_tables.py`` (this module stays under 500 lines),
# on this metadata, and named here with the others. The package imports this module first, so this
# import at the end always finds ``metadata`` defined.
from services.finance.db import sepa_tables  # noqa: E402

mandates: Table = sepa_tables.mandates
mandate_students: Table = sepa_tables.mandate_students
auto_top_ups: Table = sepa_tables.auto_top_ups
auto_top_up_triggers: Table = sepa_tables.auto_top_up_triggers
direct_debit_batches: Table = sepa_tables.direct_debit_batches
direct_debit_items: Table = sepa_tables.direct_debit_items
