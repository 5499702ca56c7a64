"""Tables of the notifications service: school events, the mail log, contacts and preferences."""

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from kit.bus import bus_tables
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)

school_events = Table(
    "school_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("class_names", Text, nullable=False, default=""),  # "\n"-joined; empty: whole school
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_school_events_school_starts", "school_id", "starts_at"),
)
