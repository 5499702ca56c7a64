"""The record of processing (GDPR art. 30), declared by the code that does the processing (issue #21).

Each service declares, in ``services/<svc>/privacy.py``, a ``RECORD``: what personal data it holds, in
which of its tables, why, on what legal basis, for how long, and the tables that hold none. A test
checks that every table of the service's metadata is declared exactly once, so a new table cannot
land without saying what it holds; ``python -m devtools.privacy_record`` writes ``docs/privacy.md``
from these declarations (a test checks the published page is the generated one).

It also holds the one pseudonym rule every service applies when a family is erased: a stable,
non-reversible label derived from the id (so the same student reads the same in every service and a
ledger still groups by them) that contains nothing of the name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

ERASED_PARENT = "Parent"
ERASED_STUDENT = "Élève"


@dataclass(frozen=True)
class Processing:
    """One purpose for which personal data is held."""

    data: str  # what: "children's names, classes and birth dates"
    tables: tuple[str, ...]  # where: the service's tables holding it
    purpose: str  # why
    legal_basis: str  # GDPR art. 6: "public task (art. 6.1.e)", "legal obligation (art. 6.1.c)", ...
    retention: str  # how long, and what happens then
    recipients: str = "the school's staff; the family itself"


@dataclass(frozen=True)
class Record:
    """What one service holds."""

    service: str
    processing: tuple[Processing, ...]
    not_personal: tuple[str, ...] = ()  # tables that hold no personal data (settings, outbox, ...)

    def declared_tables(self) -> list[str]:
        return [t for p in self.processing for t in p.tables] + list(self.not_personal)


def pseudonym(kind: str, entity_id: str) -> str:
    """The label that replaces a name on erasure: "Élève 3F9A2C" / "Parent 81D0E4" (6 hex digits of
    SHA-256 of the id: the same id gives the same label everywhere; the name is not in it)."""
    digest = hashlib.sha256(entity_id.encode("utf-8")).hexdigest()[:6].upper()
    return f"{kind} {digest}"


def find_text(conn: Connection, tables: Iterable[Table], needles: list[str]) -> list[tuple[str, str]]:
    """Every (table, column) of ``tables`` (SQLAlchemy ``Table``s) where one of ``needles`` appears,
    case-insensitive, in a text column or inside a binary one (protobuf payloads of the outbox and the
    inbox keep strings as UTF-8): what an erasure test asserts is empty. ``conn`` is a Connection."""
    from sqlalchemy import JSON, LargeBinary, String, Text, select

    lowered = [n.lower() for n in needles if n]
    found: list[tuple[str, str]] = []
    for table in tables:
        cols = [c for c in table.columns if isinstance(c.type, String | Text | LargeBinary | JSON)]
        if not cols:
            continue
        for row in conn.execute(select(*cols)):
            for col, value in zip(cols, row, strict=True):
                if value is None:
                    continue
                text = (
                    bytes(value).decode("utf-8", "replace")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                ).lower()
                if any(n in text for n in lowered) and (table.name, col.name) not in found:
                    found.append((table.name, col.name))
    return found
