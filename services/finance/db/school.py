"""Per-school rows every capability shares: locks, counters, structured communications, settings,
students."""

from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.ogm import new_ogm
from services.finance.db.tables import counters, structured_communications


def insert_ignoring_duplicate(s: Session, table: Table, **values) -> None:
    """INSERT that does nothing when the primary key exists (a concurrent insert waits, then skips)."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    s.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def school_lock(s: Session, school_id: str, name: str) -> None:
    """Serialize one kind of change per school until the transaction ends (a row lock on PostgreSQL;
    SQLite transactions are already exclusive). Used where two writers could each miss the other's
    rows, e.g. a new wallet type and a new student."""
    insert_ignoring_duplicate(s, counters, school_id=school_id, name=f"lock:{name}", value=0)
    s.execute(
        select(counters.c.value)
        .where(counters.c.school_id == school_id, counters.c.name == f"lock:{name}")
        .with_for_update()
    )


def next_number(s: Session, school_id: str, name: str) -> int:
    """The next value of a per-school counter (invoice numbers); the row stays locked until commit,
    so numbers are consecutive and never reused."""
    insert_ignoring_duplicate(s, counters, school_id=school_id, name=name, value=0)
    return s.execute(
        update(counters)
        .where(counters.c.school_id == school_id, counters.c.name == name)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar_one()


def issue_communication(
    s: Session,
    school_id: str,
    now: datetime,
    *,
    wallet_id: str | None = None,
    invoice_id: str | None = None,
    level: str = "",
) -> str:
    """A new structured communication (12 digits) for a wallet or an invoice, unique across both."""
    for _attempt in range(8):
        digits = new_ogm()
        try:
            with s.begin_nested():
                s.execute(
                    structured_communications.insert().values(
                        digits=digits,
                        school_id=school_id,
                        wallet_id=wallet_id,
                        invoice_id=invoice_id,
                        level=level,
                        created_at=now,
                        valid_until=None,
                    )
                )
            return digits
        except IntegrityError:
            continue  # one chance in ten billion: draw again
    raise RuntimeError("could not draw an unused structured communication")
