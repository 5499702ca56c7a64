"""Per-school rows every capability shares: locks, counters, structured communications, settings,
students."""

from datetime import UTC, datetime

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.db import aware
from kit.ogm import new_ogm
from services.finance.db.tables import counters, school_settings, structured_communications, students


def utc(dt: datetime) -> datetime:
    """An instant read back (``kit.db.aware``: SQLite's are naive, written in UTC) or given, in UTC, as
    the API shows instants."""
    return aware(dt).astimezone(UTC)


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
    so numbers are consecutive and never reused. Take it as late in the transaction as the work
    allows (every other school's writer of that counter waits for this commit): one statement once
    the counter exists."""

    def bump() -> int | None:
        return s.execute(
            update(counters)
            .where(counters.c.school_id == school_id, counters.c.name == name)
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        ).scalar_one_or_none()

    value = bump()
    if value is None:  # the counter's first use (a concurrent first use waits for it, then skips)
        insert_ignoring_duplicate(s, counters, school_id=school_id, name=name, value=0)
        value = bump()
    if value is None:  # cannot happen: the row exists now, inserted above or by the writer waited for
        raise LookupError(f"counter {name} of school {school_id} missing after its insert")
    return value


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


# --- settings --------------------------------------------------------------------------------------


def settings_row(s: Session, school_id: str, *, lock: bool = False):
    """The school's payment settings row, None before the school set them; locked until commit with
    ``lock`` (two managers saving at once: the second sees the first's IBAN)."""
    q = select(school_settings).where(school_settings.c.school_id == school_id)
    return s.execute(q.with_for_update() if lock else q).first()


def save_settings(s: Session, school_id: str, values: dict) -> None:
    """Write the school's settings (the row is created the first time)."""
    insert_ignoring_duplicate(s, school_settings, school_id=school_id, **values)
    s.execute(update(school_settings).where(school_settings.c.school_id == school_id).values(**values))


# --- students --------------------------------------------------------------------------------------


def find_student(s: Session, school_id: str, student_id: str):
    """The student as finance knows it (level, names), None when unknown in this school."""
    return s.execute(
        select(students).where(students.c.id == student_id, students.c.school_id == school_id)
    ).first()


def add_student(s: Session, **values) -> None:
    """Record a student unless one with this id is already known (then it is left as it is)."""
    insert_ignoring_duplicate(s, students, **values)


def student_row(s: Session, student_id: str):
    return s.execute(select(students).where(students.c.id == student_id)).one()


def update_student(s: Session, student_id: str, changes: dict) -> None:
    s.execute(update(students).where(students.c.id == student_id).values(**changes))


def students_of(s: Session, school_id: str):
    """Every student finance knows in the school: (id, level)."""
    return s.execute(select(students.c.id, students.c.level).where(students.c.school_id == school_id)).all()
