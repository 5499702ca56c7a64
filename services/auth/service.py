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

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.auth.db import (
    accounts,
    directory,
    guardianships,
    schools,
    students,
)
from services.auth.domain.passwords import (
    WeakPassword,
    check_password_policy,
)
from services.auth.domain.usernames import make_username, normalize_username
from services.auth.use_cases import tokens

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

    # -- staff: students and parents --------------------------------------------------------------

    def create_student(
        self, who: Identity, first_name: str, last_name: str, class_name: str, level: str
    ) -> StudentView:
        """The school registers a student (auth.student.created.v1: finance opens the wallets)."""
        who.require_staff()
        errors: dict[str, str] = {}
        first = _text(first_name, "first_name", errors, max_len=100)
        last = _text(last_name, "last_name", errors, max_len=100)
        klass = _text(class_name, "class_name", errors, max_len=50)
        level = (level or "").strip().lower()
        if level not in LEVELS:
            errors["level"] = "primary or secondary"
        if errors:
            raise InvalidRequest("the student is not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            self._require_school(s, who.school_id)
            view = self._insert_student(s, who.school_id, first, last, klass, level, self._now())
        log.info("student created", extra={"student_id": view.id})
        return view

    def _insert_student(
        self, s: Session, school_id: str, first: str, last: str, klass: str, level: str, now: datetime
    ) -> StudentView:
        student_id = str(uuid.uuid4())
        s.execute(
            students.insert().values(
                id=student_id,
                school_id=school_id,
                first_name=first,
                last_name=last,
                class_name=klass,
                level=level,
                active=True,
                created_at=now,
            )
        )
        self.rt.record(
            s,
            STUDENT_CREATED,
            events_pb2.StudentCreated(student_id=student_id, class_name=klass, level=level),
            school_id,
        )
        return StudentView(student_id, school_id, first, last, klass, level)

    def list_students(
        self, who: Identity, student_ids: Iterable[str] = (), class_names: Iterable[str] = ()
    ) -> list[StudentView]:
        """Staff: their school's active students, all or those named by id and/or class. A parent:
        only their own children (other ids are left out, as if they did not exist)."""
        ids, classes = _unique(student_ids), _unique(class_names)
        st = students
        q = select(st).where(st.c.school_id == who.school_id, st.c.active.is_(True))
        if who.role == "parent":
            q = q.join(
                guardianships,
                and_(guardianships.c.student_id == st.c.id, guardianships.c.parent_id == who.account_id),
            )
        elif not who.is_staff:
            raise Forbidden("not for this account")
        if ids:
            q = q.where(st.c.id.in_(ids))
        if classes:
            q = q.where(st.c.class_name.in_(classes))
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(q.order_by(st.c.class_name, st.c.last_name, st.c.first_name, st.c.id)).all()
        return [
            StudentView(r.id, r.school_id, r.first_name, r.last_name, r.class_name, r.level) for r in rows
        ]

    def create_parent(
        self,
        who: Identity,
        first_name: str,
        last_name: str,
        email: str,
        student_ids: Iterable[str],
        language: str = "fr",
    ) -> CreatedParent:
        """The school creates a parent account for one or more of its students. The username comes
        from the names; a connection token valid 14 days is mailed (auth.parent.created.v1, then
        auth.token.issued.v1 with reason ``created``)."""
        who.require_staff()
        errors: dict[str, str] = {}
        first = _text(first_name, "first_name", errors, max_len=100)
        last = _text(last_name, "last_name", errors, max_len=100)
        address = _email(email, errors)
        lang = _language(language, errors)
        ids = _unique(student_ids)
        if not ids:
            errors["student_ids"] = "at least one student"
        if errors:
            raise InvalidRequest("the parent is not valid", fields=errors)
        now = self._now()

        def create(s: Session) -> CreatedParent:
            self._require_school(s, who.school_id)
            acc = self._insert_parent(s, who.school_id, first, last, address, lang, ids, now)
            tokens.issue_token(self.deps, s, acc, "created", now)
            return CreatedParent(acc.id, acc.username)

        created = self._retrying(create)
        log.info("parent created", extra={"account_id": created.id})
        return created

    def _insert_account(
        self,
        s: Session,
        *,
        school_id: str,
        role: str,
        first: str,
        last: str,
        email: str,
        language: str,
        now: datetime,
        username: str | None = None,
        password_hash: str | None = None,
    ):
        if username is None:
            username = make_username(
                first,
                last,
                lambda candidate: (
                    s.execute(select(accounts.c.id).where(accounts.c.username == candidate)).first()
                    is not None
                ),
            )
        account_id = str(uuid.uuid4())
        s.execute(
            accounts.insert().values(
                id=account_id,
                school_id=school_id,
                role=role,
                username=username,
                email=email,
                first_name=first,
                last_name=last,
                language=language,
                password_hash=password_hash,
                password_changed_at=now if password_hash else None,
                created_at=now,
            )
        )
        return s.execute(select(accounts).where(accounts.c.id == account_id)).first()

    def _insert_parent(
        self,
        s: Session,
        school_id: str,
        first: str,
        last: str,
        email: str,
        language: str,
        student_ids: list[str],
        now: datetime,
        password_hash: str | None = None,
    ):
        found = s.execute(
            select(students.c.id, students.c.first_name).where(
                students.c.school_id == school_id, students.c.id.in_(student_ids), students.c.active.is_(True)
            )
        ).all()
        names = {r.id: r.first_name for r in found}
        unknown = [sid for sid in student_ids if sid not in names]
        if unknown:
            raise InvalidRequest(
                "unknown students", fields={"student_ids": "unknown: " + ", ".join(unknown[:10])}
            )
        acc = self._insert_account(
            s,
            school_id=school_id,
            role="parent",
            first=first,
            last=last,
            email=email,
            language=language,
            now=now,
            password_hash=password_hash,
        )
        s.execute(
            guardianships.insert(),
            [
                {"parent_id": acc.id, "student_id": sid, "school_id": school_id, "created_at": now}
                for sid in student_ids
            ],
        )
        self.rt.record(
            s,
            PARENT_CREATED,
            events_pb2.ParentCreated(
                account_id=acc.id,
                email=email,
                display_name=display_name(first, last),
                language=language,
                student_ids=student_ids,
                student_names=names,
            ),
            school_id,
        )
        return acc

    def link_children(self, who: Identity, parent_id: str, student_ids: Iterable[str]) -> list[str]:
        """Staff: make an existing parent responsible for more students of the school (a brother or
        sister enrolled later), without a second account. Linking a child already linked changes
        nothing. All the parent's children now, by id; auth.parent.updated.v1 tells the others."""
        who.require_staff()
        ids = _unique(student_ids)
        if not ids:
            raise InvalidRequest("student_ids must list children", fields={"student_ids": "at least one id"})
        now = self._now()
        with self.rt.db.unit_of_work() as s:
            acc = s.execute(
                select(accounts)
                .where(
                    accounts.c.id == (parent_id or ""),
                    accounts.c.school_id == who.school_id,
                    accounts.c.role == "parent",
                )
                .with_for_update()
            ).first()
            if acc is None:
                raise NotFound("no such parent")
            found = set(
                s.execute(
                    select(students.c.id).where(
                        students.c.school_id == who.school_id,
                        students.c.id.in_(ids),
                        students.c.active.is_(True),
                    )
                ).scalars()
            )
            unknown = [sid for sid in ids if sid not in found]
            if unknown:
                raise InvalidRequest(
                    "unknown students", fields={"student_ids": "unknown: " + ", ".join(unknown[:10])}
                )
            linked = set(
                s.execute(
                    select(guardianships.c.student_id).where(guardianships.c.parent_id == acc.id)
                ).scalars()
            )
            new = [sid for sid in ids if sid not in linked]
            if new:
                s.execute(
                    guardianships.insert(),
                    [
                        {
                            "parent_id": acc.id,
                            "student_id": sid,
                            "school_id": who.school_id,
                            "created_at": now,
                        }
                        for sid in new
                    ],
                )
                children = directory.children_of(s, acc)
                self.rt.record(
                    s,
                    PARENT_UPDATED,
                    events_pb2.ParentCreated(
                        account_id=acc.id,
                        email=acc.email,
                        display_name=display_name(acc.first_name, acc.last_name),
                        language=acc.language,
                        student_ids=[c.id for c in children],
                        student_names={c.id: c.first_name for c in children},
                    ),
                    who.school_id,
                )
            all_ids = sorted(linked | set(new))
        log.info("children linked", extra={"account_id": acc.id, "new": len(new)})
        return all_ids

    def list_parents(self, who: Identity, student_ids: Iterable[str] = ()) -> list[ParentContactView]:
        """Staff: their school's parents, all or those of the given students, with their children."""
        who.require_staff()
        ids = _unique(student_ids)
        a, g = accounts, guardianships
        with self.rt.db.unit_of_work() as s:
            q = select(a).where(a.c.school_id == who.school_id, a.c.role == "parent")
            if ids:
                q = q.where(a.c.id.in_(select(g.c.parent_id).where(g.c.student_id.in_(ids))))
            parents = s.execute(q.order_by(a.c.last_name, a.c.first_name, a.c.id)).all()
            links: dict[str, list[str]] = {}
            if parents:
                for parent_id, student_id in s.execute(
                    select(g.c.parent_id, g.c.student_id)
                    .where(g.c.parent_id.in_([p.id for p in parents]))
                    .order_by(g.c.created_at, g.c.student_id)
                ).all():
                    links.setdefault(parent_id, []).append(student_id)
        return [
            ParentContactView(
                p.id, display_name(p.first_name, p.last_name), p.email, p.language, tuple(links.get(p.id, ()))
            )
            for p in parents
        ]

    @staticmethod
    def _require_school(s: Session, school_id: str) -> None:
        if not school_id or s.execute(select(schools.c.id).where(schools.c.id == school_id)).first() is None:
            raise NotFound("unknown school")

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
            self._require_school(s, school_id)
            if wanted and s.execute(select(accounts.c.id).where(accounts.c.username == wanted)).first():
                raise Conflict("this username is taken", code="username_taken")
            acc = self._insert_account(
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
            staff = self._insert_account(
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
                self._insert_student(s, school_id, "Lucas", "Dupont", "3A", "primary", now),
                self._insert_student(s, school_id, "Emma", "Dupont", "1S2", "secondary", now),
            ]
            parent = self._insert_parent(
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
