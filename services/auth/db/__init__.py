"""Tables of the auth service: schools, accounts, students, guardianships, connection tokens, sessions
and failed sign-ins, plus the outbox/inbox of the event bus.

Secrets are never stored as such: passwords as argon2id hashes, connection tokens and session ids as
SHA-256 hashes (both are uniformly random, see ``domain/tokens.py``); what must be read back (TOTP
secrets, national register numbers) sealed with Fernet (``secretbox.py``). Every row that belongs to a
school carries its ``school_id``; usernames are unique across the deployment, since a parent signs in
with a username alone.

The queries are beside: ``directory.py`` (schools, accounts, students, guardianships), ``roster.py``
(the back office: finding and changing students, the People CSV import's bulk steps), ``access.py``
(connection tokens, sessions, failed sign-ins), ``factors.py`` (second factors, recovery codes,
the school's requirement) and ``audit.py`` (the audit log).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    false,
)
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.db import aware as aware  # re-exported: this service's modules read it from here
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)

schools = Table(
    "schools",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # every staff account must sign in with a second factor (off for a new school, and the demo's)
    Column("require_second_factor", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_schools_name", "name"),
)

# Parents and staff. The password hash stays null until the account's first connection. Status, as the
# school sees it (views.status): invited (no password yet), active, or disabled (wins).
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), ForeignKey("schools.id"), nullable=False),
    Column("role", String(10), nullable=False),  # parent | staff
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=False),  # stored lower-case, trimmed
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("language", String(2), nullable=False, default="fr"),  # fr | nl | en
    Column("password_hash", String(255), nullable=True),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # set while the school has disabled the account (no sign-in, no session), with who did it
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("disabled_by", String(36), nullable=True),
    # sealed (secretbox.py, the TOTP secrets' key): the 11 digits never in clear at rest
    Column("national_number", String(500), nullable=True),
    # domain/people.search_key: names both ways and the e-mail, folded (no accents, lower case)
    Column("search_name", String(800), nullable=False, server_default=""),
    Index("ix_accounts_email", "email"),
    Index("ix_accounts_school_role", "school_id", "role"),
)

students = Table(
    "students",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), ForeignKey("schools.id"), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("class_name", String(50), nullable=False),
    Column("level", String(10), nullable=False),  # nursery | primary | secondary
    Column("active", Boolean, nullable=False, default=True),  # false once left (status left)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("external_id", String(64), nullable=True),  # the school's own id (the People CSV's student_id)
    Column("birth_date", Date, nullable=True),
    Column("national_number", String(500), nullable=True),  # sealed, as accounts.national_number
    Column("left_on", Date, nullable=True),
    # a severe disability: the tax certificate 281.86 counts childcare until 21 (staff only; issue #19)
    Column("severe_disability", Boolean, nullable=False, default=False, server_default=false()),
    Column("search_name", String(420), nullable=False, server_default=""),  # as accounts.search_name
    Index("ix_students_school_class", "school_id", "class_name"),
    # unique per school; several students without one (NULLs are distinct on both databases)
    Index("uq_students_school_external_id", "school_id", "external_id", unique=True),
)

# parent <-> student, many-to-many: a parent may have several children, a child several parents.
guardianships = Table(
    "guardianships",
    metadata,
    Column("parent_id", String(36), ForeignKey("accounts.id"), primary_key=True),
    Column("student_id", String(36), ForeignKey("students.id"), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_guardianships_student", "student_id"),
)

connection_tokens = Table(
    "connection_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("reason", String(20), nullable=False),  # created | reissued | password_reset
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_connection_tokens_account_issued", "account_id", "issued_at"),
)

# ``id`` is the SHA-256 of the opaque session token the browser holds: a leaked table opens no session.
# ``expires_at`` slides with use (idle limit) but never past the absolute limit from ``created_at``.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("active_child_id", String(36), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Index("ix_sessions_account", "account_id"),
    Index("ix_sessions_expires", "expires_at"),
)

# An account's TOTP second factor (domain/second_factor.py). ``secret`` is set (sealed with
# secretbox.py, never in clear) once a set-up was confirmed with a code; ``pending_secret`` while a
# set-up waits for its first code. ``last_used_step``: the step of the last code accepted (no replay).
second_factors = Table(
    "second_factors",
    metadata,
    Column("account_id", String(36), ForeignKey("accounts.id"), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("secret", String(500), nullable=True),
    Column("enabled_at", DateTime(timezone=True), nullable=True),
    Column("last_used_step", BigInteger, nullable=True),
    Column("pending_secret", String(500), nullable=True),
    Column("pending_since", DateTime(timezone=True), nullable=True),
)

# Single-use recovery codes of a second factor, as SHA-256 of the normalised code.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_recovery_codes_account_hash", "account_id", "code_hash"),
)

# Failed sign-ins (and password-reset requests) per throttling key, see domain/throttle.py. Not scoped
# by school: the username typed may exist nowhere, and an address is the same for every school.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_kind", String(16), nullable=False),  # account | address | reset_address
    Column("key_value", String(320), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_sign_in_failures_key", "key_kind", "key_value", "at"),
    Index("ix_sign_in_failures_at", "at"),
)


# The school's audit log (kit/audit.py): every staff action of every service that moved money or
# changed settings, people or permissions, as its ``<svc>.audit.recorded.v1`` event said, with the
# actor's name as auth knew it then. Append-only: no code updates or deletes a row (and a trigger
# refuses it, migration c2e7b9d4f610). ``id`` is the event's id: delivered twice, kept once. ``seq``
# orders the entries of one instant as they were kept (a service's own, as it recorded them).
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("school_id", String(36), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(36), nullable=False),
    Column("actor_role", String(10), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),  # when auth kept it
    # set when a family's erasure replaced their names in actor_name and detail (use_cases/erasure.py):
    # the one change the trigger lets through (migration b7d2e4f9a013), nothing else of the row
    Column("redacted_at", DateTime(timezone=True), nullable=True),
    Index("ix_audit_entries_school_at", "school_id", "at", "seq"),
)

# A school's retention policy (issue #21; no row: the defaults, domain/retention.py).
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("school_id", String(36), ForeignKey("schools.id"), primary_key=True),
    Column("personal_years", Integer, nullable=False),
    Column("financial_years", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(36), nullable=False),
)

# Who was erased (issue #21), ids only: a parent's account or a student, when, why (request |
# retention) and until when finance keeps their pseudonymised records. The account or student row
# stays as a tombstone (names replaced by kit.privacy.pseudonym); this row says it is one.
erasures = Table(
    "erasures",
    metadata,
    Column("subject_type", String(10), primary_key=True),  # parent | student
    Column("subject_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    Column("keep_financial_until", Date, nullable=False),
    Index("ix_erasures_school", "school_id"),
)


def locked(s: Session, q, **of):
    """``q`` locking its rows on PostgreSQL (SQLite locks the whole database on write anyway)."""
    return q.with_for_update(**of) if s.get_bind().dialect.name == "postgresql" else q


def like_escaped(text: str) -> str:
    """``text`` with LIKE's own characters escaped (with ``\\``, the ``escape=`` of every LIKE here)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(term: str) -> str:
    """``%term%``: ``term`` anywhere."""
    return f"%{like_escaped(term)}%"
