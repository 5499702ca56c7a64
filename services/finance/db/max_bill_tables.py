"""The Flemish maximum bill's caps (issue #19), on the same metadata as ``tables.py``.

``max_bill_caps``: per school, per school year ("2026-2027": 1 September to 31 August) and per level
(``kleuter``, ``lager``), the caps in cents of the strict maximum bill (scherpe maximumfactuur) and of
the less strict one (minder scherpe maximumfactuur), as the school's manager set them from the year's
circular (onderwijs.vlaanderen.be). No default amounts: the indexed figures are not in the references
this code was written from, so a school without a row has no cap for that year and level.

Simplification: the less strict maximum bill caps multi-day trips over the whole of primary school
(lager: six years), not per year; it is stored and checked here per school year like the strict one,
the manager setting each year what is left of it (or the whole amount).
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, String, Table

from services.finance.db.tables import metadata

max_bill_caps = Table(
    "max_bill_caps",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("school_year", String(9), primary_key=True),  # 2026-2027
    Column("level", String(10), primary_key=True),  # kleuter | lager
    Column("strict_cents", BigInteger, nullable=False),
    Column("less_strict_cents", BigInteger, nullable=False),
    Column("updated_by", String(36), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("strict_cents >= 0 AND less_strict_cents >= 0", name="caps_not_negative"),
)
