"""Use cases of the auth service.

Every change a use case makes happens in one unit of work, with its events in the outbox of that same
transaction. The slow steps (argon2 hashing and verification, the throttling delay) run outside any
transaction so that they never hold a database lock: a use case that needs them reads in a short
first transaction, hashes or waits, then re-checks what it read and writes everything in one unit of
work.

Secrets: connection tokens leave this service only in the ``auth.token.issued.v1`` event (and from
there in the mail); they are never logged. Session tokens are returned to the caller once per
sign-in and stored only as their SHA-256.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.errors import Conflict, InvalidRequest
from kit.service import Runtime
from services.auth.db import (
    accounts,
    directory,
    schools,
)
from services.auth.domain.passwords import (
    WeakPassword,
    check_password_policy,
)
from services.auth.domain.usernames import normalize_username
from services.auth.use_cases import people, tokens
from services.auth.use_cases.common import require_school

log = logging.getLogger("auth.service")

T = TypeVar("T")

# Password-reset requests per client address: 10 within 15 minutes, then refused (429) for 15 minutes,
# whether or not the addresses asked for are known. No delay: nothing is being guessed.
# At most this many reset tokens per account per hour; more requests answer the same but mail nothing,
# so nobody can flood a parent's mailbox.
RESETS_PER_ACCOUNT_PER_HOUR = 3

LANGUAGES = ("fr", "nl", "en")
LEVELS = ("primary", "secondary")

DEMO_SCHOOL_NAME = "École Cartable Démo"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_MAX_TOKEN_INPUT = 200  # a typed token longer than this is not a token

TOKEN_ISSUED = "auth.token.issued.v1"
STUDENT_CREATED = "auth.student.created.v1"
PARENT_CREATED = "auth.parent.created.v1"
# the parent as they are now (same message as created), e.g. after a child was linked to them
PARENT_UPDATED = "auth.parent.updated.v1"


# -- views returned by the use cases ------------------------------------------------------------


@dataclass(frozen=True)
class StudentView:
    id: str
    school_id: str
    first_name: str
    last_name: str
    class_name: str
    level: str


@dataclass(frozen=True)
class ParentContactView:
    id: str
    display_name: str
    email: str
    language: str
    student_ids: tuple[str, ...]


@dataclass(frozen=True)
class CreatedParent:
    id: str
    username: str


@dataclass(frozen=True)
class CreatedStaff:
    account_id: str
    school_id: str
    username: str
    connection_token: str | None = None  # when no password was given: to hand over, mailed too
    token_expires_at: datetime | None = None


@dataclass
class DemoSeed:
    school_id: str
    created: bool
    staff: dict[str, Any] = field(default_factory=dict)
    parent: dict[str, Any] = field(default_factory=dict)
    students: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "school_id": self.school_id,
            "created": self.created,
            "staff": self.staff,
            "parent": self.parent,
            "students": self.students,
        }


# -- small pure helpers -------------------------------------------------------------------------


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def display_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


def _text(value: str, name: str, errors: dict[str, str], *, max_len: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[name] = "required"
    elif len(value) > max_len:
        errors[name] = f"at most {max_len} characters"
    return value


def _email(value: str, errors: dict[str, str], name: str = "email") -> str:
    email = normalize_email(value)
    if not email:
        errors[name] = "required"
    elif len(email) > 320 or not _EMAIL.match(email):
        errors[name] = "not an e-mail address"
    return email


def _language(value: str, errors: dict[str, str]) -> str:
    language = (value or "fr").strip().lower()
    if language not in LANGUAGES:
        errors["language"] = "one of fr, nl, en"
    return language


def _weak_password_error(err: WeakPassword, password_field: str, confirm_field: str) -> InvalidRequest:
    """A refused password as a 400: the field carries the machine code (``too_short``, ``common``,
    ``mismatch``...) that pages translate; the message is for a person and ends with the same code."""
    name = confirm_field if err.code == "mismatch" else password_field
    return InvalidRequest(f"{err.message} [{err.code}]", fields={name: err.code})


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


class AuthService:
    """The auth use cases. ``rt.extras`` may carry ``password_hasher`` (tests use cheaper, still
    OWASP-level, argon2 parameters), ``sleep`` (tests record the throttling delays instead of waiting)
    and caches the identity-token signer once built."""

    def __init__(self, rt: Runtime) -> None:
        from services.auth.app import use_case_deps  # transitional: app.py imports this module

        self.rt = rt
        self.deps = use_case_deps(rt)
        self.hasher = self.deps.hasher

    # -- collaborators ----------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self.deps.sleep(seconds)

    def _now(self) -> datetime:
        return self.rt.clock()

    def _retrying(self, fn: Callable[[Session], T], attempts: int = 3) -> T:
        """Run ``fn`` in a unit of work, again when a unique constraint refuses it (two staff creating
        the same username at once)."""
        for attempt in range(attempts):
            try:
                with self.rt.db.unit_of_work() as s:
                    return fn(s)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    # -- setting up a school (commands) -----------------------------------------------------------

    def create_school(self, name: str) -> str:
        """A new school; returns its id."""
        errors: dict[str, str] = {}
        name = _text(name, "name", errors, max_len=200)
        if errors:
            raise InvalidRequest("the school is not valid", fields=errors)
        school_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            s.execute(schools.insert().values(id=school_id, name=name, created_at=self._now()))
        log.info("school created", extra={"school_id": school_id})
        return school_id

    def create_staff(
        self,
        school_id: str,
        first_name: str,
        last_name: str,
        email: str,
        username: str = "",
        password: str | None = None,
        language: str = "fr",
    ) -> CreatedStaff:
        """A school's manager. With a password (checked like a parent's), ready to sign in; without,
        a connection token is issued (mailed, and returned for the one who runs the command)."""
        errors: dict[str, str] = {}
        first = _text(first_name, "first_name", errors, max_len=100)
        last = _text(last_name, "last_name", errors, max_len=100)
        address = _email(email, errors)
        lang = _language(language, errors)
        wanted = normalize_username(username or "") or None
        if wanted is not None and not _USERNAME.match(wanted):
            errors["username"] = "2 to 64 of a-z, 0-9, dot, dash, underscore"
        if errors:
            raise InvalidRequest("the staff account is not valid", fields=errors)
        password_hash = None
        if password is not None:
            try:
                check_password_policy(password, password, username=wanted or "", email=address)
            except WeakPassword as err:
                raise _weak_password_error(err, "password", "password") from None
            password_hash = self.hasher.hash(password)
        now = self._now()
        with self.rt.db.unit_of_work() as s:
            require_school(s, school_id)
            if wanted and s.execute(select(accounts.c.id).where(accounts.c.username == wanted)).first():
                raise Conflict("this username is taken", code="username_taken")
            acc = directory.insert_account(
                s,
                school_id=school_id,
                role="staff",
                first=first,
                last=last,
                email=address,
                language=lang,
                now=now,
                username=wanted,
                password_hash=password_hash,
            )
            token = expires = None
            if password_hash is None:
                token, expires = tokens.issue_token(self.deps, s, acc, "created", now)
        log.info("staff account created", extra={"account_id": acc.id, "school_id": school_id})
        return CreatedStaff(acc.id, school_id, acc.username, token, expires)

    def seed_demo(self) -> DemoSeed:
        """The local run's demo: "École Cartable Démo" with a manager and a parent of two children in
        different classes, passwords strong, random and set directly (no mail). When the demo school
        exists already, nothing changes and what exists is described (passwords ``None``: only their
        hashes are known)."""
        staff_password = secrets.token_urlsafe(18)
        parent_password = secrets.token_urlsafe(18)
        now = self._now()
        with self.rt.db.unit_of_work() as s:
            school_id = (
                s.execute(
                    select(schools.c.id)
                    .where(schools.c.name == DEMO_SCHOOL_NAME)
                    .order_by(schools.c.created_at)
                )
                .scalars()
                .first()
            )
            if school_id is not None:
                return self._describe_demo(s, school_id)
        hashes = self.hasher.hash(staff_password), self.hasher.hash(parent_password)
        with self.rt.db.unit_of_work() as s:
            school_id = str(uuid.uuid4())
            s.execute(schools.insert().values(id=school_id, name=DEMO_SCHOOL_NAME, created_at=now))
            staff = directory.insert_account(
                s,
                school_id=school_id,
                role="staff",
                first="Claire",
                last="Martin",
                email="direction@demo.cartable.local",
                language="fr",
                now=now,
                password_hash=hashes[0],
            )
            kids = [
                people.add_student(self.deps, s, school_id, "Lucas", "Dupont", "3A", "primary", now),
                people.add_student(self.deps, s, school_id, "Emma", "Dupont", "1S2", "secondary", now),
            ]
            parent = people.add_parent(
                self.deps,
                s,
                school_id,
                "Marie",
                "Dupont",
                "marie.dupont@demo.cartable.local",
                "fr",
                [k.id for k in kids],
                now,
                password_hash=hashes[1],
            )
        log.info("demo school created", extra={"school_id": school_id})
        return DemoSeed(
            school_id=school_id,
            created=True,
            staff={"username": staff.username, "password": staff_password, "account_id": staff.id},
            parent={"username": parent.username, "password": parent_password, "account_id": parent.id},
            students=[
                _demo_student(k) for k in sorted(kids, key=lambda k: (k.first_name, k.last_name, k.id))
            ],
        )

    def _describe_demo(self, s: Session, school_id: str) -> DemoSeed:
        a = accounts
        staff = s.execute(
            select(a).where(a.c.school_id == school_id, a.c.role == "staff").order_by(a.c.created_at, a.c.id)
        ).first()
        parent = s.execute(
            select(a).where(a.c.school_id == school_id, a.c.role == "parent").order_by(a.c.created_at, a.c.id)
        ).first()
        kids = []
        if parent is not None:
            kids = [
                _demo_student(StudentView(c.id, school_id, c.first_name, c.last_name, c.class_name, c.level))
                for c in directory.children_of(s, parent)
            ]
        return DemoSeed(
            school_id=school_id,
            created=False,
            staff={"username": staff.username, "password": None, "account_id": staff.id} if staff else {},
            parent={"username": parent.username, "password": None, "account_id": parent.id} if parent else {},
            students=kids,
        )


def _demo_student(k: StudentView) -> dict[str, str]:
    return {
        "id": k.id,
        "first_name": k.first_name,
        "last_name": k.last_name,
        "class_name": k.class_name,
        "level": k.level,
    }
