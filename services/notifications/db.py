"""Tables of the notifications service (school events, the mail log, parents' and managers' contacts,
preferences) and the queries the use cases, handlers and mailer share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.db import aware as aware  # re-exported: this service's modules read it from here
from kit.migrations import new_metadata
from services.notifications.domain.mail import PREFERENCE_FIELDS, Preferences

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

# The contact book: parents as auth announced them (auth.parent.created.v1 / .updated.v1), so a mail about a
# student reaches that student's parents.
contacts = Table(
    "contacts",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("email", String(320), nullable=False),
    Column("display_name", String(200), nullable=False, default=""),
    Column("language", String(8), nullable=False, default="fr"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

contact_students = Table(
    "contact_students",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Column("student_name", String(200), nullable=False, default=""),
    Index("ix_contact_students_student", "student_id"),
)

# The managers' contact book: each school's staff as auth announced them (auth.staff.updated.v1), for the
# security mails every manager gets (the IBAN changed). A disabled account stays, marked: nothing to it.
managers = Table(
    "managers",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("email", String(320), nullable=False),
    Column("display_name", String(200), nullable=False, default=""),
    Column("language", String(8), nullable=False, default="fr"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_managers_school", "school_id"),
)

# What each parent chose; no row means the defaults of domain.mail.Preferences.
mail_preferences = Table(
    "mail_preferences",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("language", String(8), nullable=True),  # null: the language auth knows
    Column("documents", Boolean, nullable=False, default=True),
    Column("invoices", Boolean, nullable=False, default=True),
    Column("payments", Boolean, nullable=False, default=True),
    Column("orders", Boolean, nullable=False, default=True),
    # Added after the others: the server default turns it on for parents who had already chosen.
    Column("meetings", Boolean, nullable=False, default=True, server_default=true()),
    Column("low_balance_threshold_cents", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every mail to send, sent or given up. Handlers only insert pending rows; the mailer sends them.
# next_attempt_at doubles as the claim: a mailer that picks a mail pushes it forward by a lease, so a
# mailer that dies mid-send leaves the mail due again once the lease ends.
outgoing_mails = Table(
    "outgoing_mails",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("recipient_name", String(200), nullable=False, default=""),
    Column("account_id", String(36), nullable=True),
    Column("student_id", String(36), nullable=True),
    Column("language", String(8), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("sensitive", Boolean, nullable=False, default=False),
    Column("message_id", String(200), nullable=False),  # the same on every attempt
    Column("status", String(10), nullable=False, default="pending"),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("epc_qr", Text, nullable=True),  # JSON of kit.epc's arguments: a PNG attached when sent
    # A redelivered event never makes a second mail of the same kind to the same address.
    UniqueConstraint("event_id", "kind", "recipient", name="uq_outgoing_mails_event_kind_recipient"),
    Index("ix_outgoing_mails_due", "status", "next_attempt_at"),
    Index("ix_outgoing_mails_school_failed", "school_id", "status", "failed_at"),
)


def _insert(session: Session, table: Table):
    """An INSERT that can say ON CONFLICT on both backends."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


# -- school events ------------------------------------------------------------------------------


def insert_school_event(
    s: Session,
    *,
    id: str,
    school_id: str,
    title: str,
    description: str,
    starts_at: datetime,
    ends_at: datetime,
    class_names: list[str],
    now: datetime,
) -> None:
    s.execute(
        school_events.insert().values(
            id=id,
            school_id=school_id,
            title=title,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            class_names="\n".join(class_names),
            created_at=now,
        )
    )


def class_names_of(row) -> tuple[str, ...]:
    """A school event's classes; empty: the whole school."""
    return tuple(c for c in row.class_names.split("\n") if c)


def upcoming_school_events(
    s: Session, school_id: str, now: datetime, class_name: str | None, limit: int
) -> list:
    """The school's events not yet over, soonest first, at most ``limit``; for a class, those of the
    whole school or of that class."""
    q = (
        select(school_events)
        .where(school_events.c.school_id == school_id, school_events.c.ends_at >= now)
        .order_by(school_events.c.starts_at)
    )
    if class_name is not None:
        q = q.where(or_(school_events.c.class_names == "", school_events.c.class_names.contains(class_name)))
    rows = list(s.execute(q.limit(limit * 4)).all())
    if class_name is not None:  # the substring match above is only a pre-filter
        rows = [r for r in rows if not class_names_of(r) or class_name in class_names_of(r)]
    return rows[:limit]


def school_event(s: Session, school_id: str, event_id: str):
    """One of the school's events (None when there is no such event in this school)."""
    return s.execute(
        select(school_events).where(school_events.c.id == event_id, school_events.c.school_id == school_id)
    ).first()


def school_events_between(
    s: Session, school_id: str, start: datetime | None, end: datetime | None, limit: int
) -> list:
    """The school's events starting in [start, end) (a bound None: none that side), soonest first."""
    q = select(school_events).where(school_events.c.school_id == school_id)
    if start is not None:
        q = q.where(school_events.c.starts_at >= start)
    if end is not None:
        q = q.where(school_events.c.starts_at < end)
    return list(s.execute(q.order_by(school_events.c.starts_at, school_events.c.id).limit(limit)).all())


def update_school_event(
    s: Session,
    *,
    id: str,
    school_id: str,
    title: str,
    description: str,
    starts_at: datetime,
    ends_at: datetime,
    class_names: list[str],
) -> None:
    s.execute(
        update(school_events)
        .where(school_events.c.id == id, school_events.c.school_id == school_id)
        .values(
            title=title,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            class_names="\n".join(class_names),
        )
    )


def delete_school_event(s: Session, school_id: str, event_id: str) -> bool:
    """Remove the event (parents' lists read this table: it is gone for them at once); False when the
    school has no such event."""
    result = s.execute(
        delete(school_events).where(school_events.c.id == event_id, school_events.c.school_id == school_id)
    )
    return cast(CursorResult, result).rowcount == 1


# -- contact book and preferences ---------------------------------------------------------------


def upsert_contact(
    s: Session,
    *,
    account_id: str,
    school_id: str,
    email: str,
    display_name: str,
    language: str,
    students: dict[str, str],
    now: datetime,
) -> None:
    """Record (or refresh) a parent and the students they are responsible for."""
    values = dict(
        school_id=school_id, email=email, display_name=display_name, language=language, updated_at=now
    )
    s.execute(
        _insert(s, contacts)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=[contacts.c.account_id], set_=values)
    )
    s.execute(delete(contact_students).where(contact_students.c.account_id == account_id))
    if students:
        s.execute(
            contact_students.insert(),
            [
                {"account_id": account_id, "student_id": sid, "student_name": name}
                for sid, name in students.items()
            ],
        )


def remove_contact(s: Session, account_id: str) -> None:
    """A parent the school disabled leaves the contact book (their students' mails, their bookings'
    mails): nothing is addressed to them any more. Their mail preferences stay for when the school
    enables them again (auth then announces them as they are, students included)."""
    s.execute(delete(contact_students).where(contact_students.c.account_id == account_id))
    s.execute(delete(contacts).where(contacts.c.account_id == account_id))


def _preferences(row) -> Preferences:
    if row is None or row.p_account_id is None:
        return Preferences()
    return Preferences(**{f: getattr(row, f"p_{f}") for f in PREFERENCE_FIELDS})


_PREF_COLUMNS = (
    mail_preferences.c.account_id.label("p_account_id"),
    *(mail_preferences.c[f].label(f"p_{f}") for f in PREFERENCE_FIELDS),
)


@dataclass(frozen=True)
class Contact:
    account_id: str
    email: str
    display_name: str
    language: str
    student_name: str
    preferences: Preferences


def student_known_elsewhere(s: Session, school_id: str, student_id: str) -> bool:
    """Whether the contact book (auth's announcements of parents and their children, each with its
    school) puts the student in another school and never in ``school_id``."""
    schools = set(
        s.execute(
            select(contacts.c.school_id)
            .join(contact_students, contact_students.c.account_id == contacts.c.account_id)
            .where(contact_students.c.student_id == student_id)
            .distinct()
        ).scalars()
    )
    return bool(schools) and school_id not in schools


def parents_of_student(s: Session, school_id: str, student_id: str) -> list[Contact]:
    """The parents of a student in the contact book, with their mail preferences."""
    rows = s.execute(
        select(
            contacts.c.account_id,
            contacts.c.email,
            contacts.c.display_name,
            contacts.c.language,
            contact_students.c.student_name,
            *_PREF_COLUMNS,
        )
        .join(contact_students, contact_students.c.account_id == contacts.c.account_id)
        .outerjoin(mail_preferences, mail_preferences.c.account_id == contacts.c.account_id)
        .where(contacts.c.school_id == school_id, contact_students.c.student_id == student_id)
        .order_by(contacts.c.account_id)
    ).all()
    return [
        Contact(r.account_id, r.email, r.display_name, r.language, r.student_name, _preferences(r))
        for r in rows
    ]


def contact_of(s: Session, account_id: str) -> tuple[dict | None, Preferences]:
    """A parent's contact row (or None) and their preferences (the defaults until they choose)."""
    contact = s.execute(select(contacts).where(contacts.c.account_id == account_id)).mappings().first()
    prefs_row = s.execute(select(*_PREF_COLUMNS).where(mail_preferences.c.account_id == account_id)).first()
    return (dict(contact) if contact else None), _preferences(prefs_row)


def save_preferences(s: Session, account_id: str, school_id: str, p: Preferences, now: datetime) -> None:
    values = dict(school_id=school_id, updated_at=now, **asdict(p))
    s.execute(
        _insert(s, mail_preferences)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=[mail_preferences.c.account_id], set_=values)
    )


# -- managers' contact book ---------------------------------------------------------------------


def upsert_manager(s: Session, *, account_id: str, now: datetime, **values) -> None:
    """Record (or refresh) a staff account: ``school_id``, ``email``, ``display_name``, ``language``,
    ``disabled``."""
    values["updated_at"] = now
    s.execute(
        _insert(s, managers)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=[managers.c.account_id], set_=values)
    )


def active_managers(s: Session, school_id: str) -> list:
    """The school's managers who are not disabled, in a stable order."""
    q = select(managers).where(managers.c.school_id == school_id, managers.c.disabled.is_(False))
    return list(s.execute(q.order_by(managers.c.account_id)).all())


def manager_name(s: Session, school_id: str, account_id: str) -> str:
    """A manager's display name as the book has it ("" when the school's book does not know them)."""
    q = select(managers.c.display_name).where(
        managers.c.account_id == account_id, managers.c.school_id == school_id
    )
    return s.execute(q).scalar_one_or_none() or ""


# -- outgoing mails -----------------------------------------------------------------------------


def queue_mail(s: Session, **values) -> bool:
    """Insert a pending mail; False when this event already made this mail for this address."""
    result = s.execute(
        _insert(s, outgoing_mails)
        .values(status="pending", attempts=0, **values)
        .on_conflict_do_nothing(index_elements=["event_id", "kind", "recipient"])
        .returning(outgoing_mails.c.id)  # psycopg answers rowcount -1 for this statement
    )
    return result.first() is not None


def claim_due_mail(s: Session, now: datetime, lease_until: datetime):
    """Take the oldest due pending mail: count the attempt and hide it until ``lease_until``.

    On PostgreSQL the row is locked with SKIP LOCKED so that several mailers never take the same
    mail; SQLite's BEGIN IMMEDIATE already makes the whole transaction exclusive."""
    m = outgoing_mails
    q = (
        select(m)
        .where(m.c.status == "pending", m.c.next_attempt_at <= now)
        .order_by(m.c.next_attempt_at, m.c.created_at)
        .limit(1)
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = s.execute(q).mappings().first()
    if row is None:
        return None
    s.execute(
        update(m).where(m.c.id == row["id"]).values(attempts=m.c.attempts + 1, next_attempt_at=lease_until)
    )
    return {**row, "attempts": row["attempts"] + 1}


def mark_sent(s: Session, mail_id: str, now: datetime, scrub: bool) -> None:
    values: dict = dict(status="sent", sent_at=now, last_error=None)
    if scrub:
        values.update(text_body="", html_body="")
    s.execute(update(outgoing_mails).where(outgoing_mails.c.id == mail_id).values(**values))


def mark_retry(s: Session, mail_id: str, next_attempt_at: datetime, error: str) -> None:
    s.execute(
        update(outgoing_mails)
        .where(outgoing_mails.c.id == mail_id)
        .values(next_attempt_at=next_attempt_at, last_error=error)
    )


def mark_failed(s: Session, mail_id: str, now: datetime, error: str, scrub: bool) -> None:
    values: dict = dict(status="failed", failed_at=now, last_error=error)
    if scrub:
        values.update(text_body="", html_body="")
    s.execute(update(outgoing_mails).where(outgoing_mails.c.id == mail_id).values(**values))


def failed_mails(s: Session, school_id: str, limit: int, after: tuple[datetime, str] | None) -> list:
    """A school's failed mails, newest failure first, after a (failed_at, id) keyset cursor."""
    m = outgoing_mails
    q = select(m).where(m.c.school_id == school_id, m.c.status == "failed")
    if after is not None:
        at, mail_id = after
        q = q.where(or_(m.c.failed_at < at, and_(m.c.failed_at == at, m.c.id < mail_id)))
    return list(s.execute(q.order_by(m.c.failed_at.desc(), m.c.id.desc()).limit(limit)).mappings().all())


def mail_state(s: Session, school_id: str, mail_id: str):
    """(status, kind, sensitive) of one of the school's mails, or None."""
    m = outgoing_mails
    return s.execute(
        select(m.c.status, m.c.kind, m.c.sensitive).where(m.c.id == mail_id, m.c.school_id == school_id)
    ).first()


def requeue_failed_mail(s: Session, mail_id: str, now: datetime) -> None:
    """A failed mail becomes pending again, due now, with its attempts counted afresh."""
    m = outgoing_mails
    s.execute(
        update(m)
        .where(m.c.id == mail_id, m.c.status == "failed")
        .values(status="pending", attempts=0, failed_at=None, next_attempt_at=now)
    )
