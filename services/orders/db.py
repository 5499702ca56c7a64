"""Tables of the orders service: ordering periods, catalog items, orders, book-return credits."""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from kit.bus import bus_tables
from kit.idempotency import idempotency_table
from kit.migrations import new_metadata

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

# One row per student, locked while an order takes its credit, so two orders never both use it.
credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
)

# Every change of a student's credit: + for a book return, - when an order uses it.
credit_entries = Table(
    "credit_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), ForeignKey("credit_accounts.student_id"), nullable=False, index=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("order_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
