"""Tables of the documents service: documents, who they are for, read state per parent."""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, String, Table

from kit.bus import bus_tables
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)

documents = Table(
    "documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("blob_key", String(200), nullable=False),
    Column("source", String(40), nullable=False),  # deposit | invoice | credit_note
    Column("source_ref", String(80), nullable=True, unique=True),  # e.g. invoice:<id>: renders once
    Column("deposited_at", DateTime(timezone=True), nullable=False),
    Index("ix_documents_student_deposited", "student_id", "deposited_at"),
)

document_reads = Table(
    "document_reads",
    metadata,
    Column("document_id", String(36), ForeignKey("documents.id"), primary_key=True),
    Column("account_id", String(36), primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False),
)
