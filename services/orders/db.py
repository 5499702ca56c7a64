"""Tables of the orders service: ordering periods (and, as they land, items, orders, book returns)."""

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from kit.bus import bus_tables
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)

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
