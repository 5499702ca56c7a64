"""Who of a family was erased (auth.family.erased.v1, issue #21), on the same metadata as ``tables.py``.

``erased_families``: one row per erased person (a student, or a parent's account) of an erased family.
Their financial records stay, pseudonymised, until ``keep_financial_until`` (Belgian accounting law: 7
years); the ``anonymise`` command then strips what still identifies them and sets ``anonymised_at``.
Ids and dates only: no name is kept here."""

from sqlalchemy import Column, Date, DateTime, Index, String, Table

from services.finance.db.tables import metadata

erased_families = Table(
    "erased_families",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("kind", String(10), primary_key=True),  # student | parent
    Column("person_id", String(36), primary_key=True),
    Column("reason", String(20), nullable=False, default=""),  # request | retention
    Column("erased_at", DateTime(timezone=True), nullable=False),
    Column("keep_financial_until", Date, nullable=False),
    Column("anonymised_at", DateTime(timezone=True), nullable=True),
    Index("ix_erased_families_due", "keep_financial_until"),
)
