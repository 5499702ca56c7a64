"""People, as the school's staff register them: students, parents, and who is whose child (finding
and changing them: students.py, parents.py; a whole file of them: imports.py).

A parent account belongs to one school and is responsible for one or more of its active students (a
child may have several parents). Creating one mails a connection token (tokens.py); the events tell
finance (a student's wallets) and notifications (the contact book) what changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from services.auth import events, views
from services.auth.db import directory, roster
from services.auth.use_cases.common import (
    Deps,
    class_field,
    email_field,
    language_field,
    log,
    name_field,
    refuse_erased,
    require_school,
    retrying,
    unique,
)
from services.auth.use_cases.tokens import issue_token

LEVELS = ("nursery", "primary", "secondary")  # nursery: maternelle / kleuter (issue #19)


def create_student(
    deps: Deps, who: Identity, first_name: str, last_name: str, class_name: str, level: str
) -> pb.CreateStudentResponse:
    """The school registers a student (auth.student.created.v1: finance opens the wallets)."""
    who.require_staff()
    errors: dict[str, str] = {}
    first = name_field(first_name, "first_name", errors)
    last = name_field(last_name, "last_name", errors)
    klass = class_field(class_name, errors)
    level = (level or "").strip().lower()
    if level not in LEVELS:
        errors["level"] = "nursery, primary or secondary"
    if errors:
        raise InvalidRequest("the student is not valid", fields=errors)
    with deps.db.unit_of_work() as s:
        require_school(s, who.school_id)
        student = add_student(deps, s, who.school_id, first, last, klass, level, deps.clock())
        audit.record(deps, s, who, "auth.student.created", "student", student.id, f"{first} {last}, {klass}")
    log.info("student created", extra={"student_id": student.id})
    return pb.CreateStudentResponse(student=student)


def create_parent(
    deps: Deps,
    who: Identity,
    first_name: str,
    last_name: str,
    email: str,
    student_ids: Iterable[str],
    language: str = "fr",
) -> pb.CreateParentResponse:
    """The school creates a parent account for one or more of its students. The username comes
    from the names; a connection token valid 14 days is mailed (auth.parent.created.v1, then
    auth.token.issued.v1 with reason ``created``)."""
    who.require_staff()
    errors: dict[str, str] = {}
    first = name_field(first_name, "first_name", errors)
    last = name_field(last_name, "last_name", errors)
    address = email_field(email, errors)
    lang = language_field(language, errors)
    ids = unique(student_ids)
    if not ids:
        errors["student_ids"] = "at least one student"
    if errors:
        raise InvalidRequest("the parent is not valid", fields=errors)
    now = deps.clock()

    def create(s: Session) -> pb.CreateParentResponse:
        require_school(s, who.school_id)
        acc = add_parent(deps, s, who.school_id, first, last, address, lang, ids, now)
        issue_token(deps, s, acc, "created", now)
        audit.record(
            deps, s, who, "auth.parent.created", "account", acc.id, f"{first} {last}, children {len(ids)}"
        )
        return pb.CreateParentResponse(id=acc.id, username=acc.username)

    created = retrying(deps, create)
    log.info("parent created", extra={"account_id": created.id})
    return created


def link_children(
    deps: Deps, who: Identity, parent_id: str, student_ids: Iterable[str]
) -> pb.LinkChildrenResponse:
    """Staff: make an existing parent responsible for more students of the school (a brother or
    sister enrolled later), without a second account. Linking a child already linked changes
    nothing. All the parent's children now, by id; auth.parent.updated.v1 tells the others."""
    who.require_staff()
    ids = unique(student_ids)
    if not ids:
        raise InvalidRequest("student_ids must list children", fields={"student_ids": "at least one id"})
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = directory.parent_of_school(s, parent_id or "", who.school_id, lock=True)
        if acc is None:
            raise NotFound("no such parent")
        refuse_erased(s, acc.id)
        _require_students(directory.active_student_names(s, who.school_id, ids), ids)
        linked = directory.linked_student_ids(s, acc.id)
        new = [sid for sid in ids if sid not in linked]
        if new:
            directory.insert_guardianships(s, acc.id, new, who.school_id, now)
            deps.emit(s, events.parent_updated(acc, roster.all_children_of(s, acc)))
            audit.record(
                deps,
                s,
                who,
                "auth.parent.children_linked",
                "account",
                acc.id,
                f"students linked: {', '.join(new)}",
            )
        all_ids = sorted(linked | set(new))
    log.info("children linked", extra={"account_id": acc.id, "new": len(new)})
    return pb.LinkChildrenResponse(student_ids=all_ids)


# -- steps of the other use cases -----------------------------------------------------------------


def add_student(
    deps: Deps, s: Session, school_id: str, first: str, last: str, klass: str, level: str, now: datetime
) -> pb.Student:
    """A new student of the school, announced (auth.student.created.v1)."""
    row = directory.insert_student(s, school_id, first, last, klass, level, now)
    deps.emit(s, events.student_created(row.id, school_id, klass, level))
    return views.student(row)


def add_parent(
    deps: Deps,
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
    """A new parent account of these active students of the school, announced
    (auth.parent.created.v1); the account row. No token: the caller issues one or sets the password."""
    names = directory.active_student_names(s, school_id, student_ids)
    _require_students(names, student_ids)
    acc = directory.insert_account(
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
    directory.insert_guardianships(s, acc.id, student_ids, school_id, now)
    deps.emit(s, events.parent_created(acc, student_ids, names))
    return acc


def _require_students(found: dict[str, str], wanted: list[str]) -> None:
    unknown = [sid for sid in wanted if sid not in found]
    if unknown:
        raise InvalidRequest(
            "unknown students", fields={"student_ids": "unknown: " + ", ".join(unknown[:10])}
        )
