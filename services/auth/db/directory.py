"""Queries about who is who: schools, accounts (parents and staff), students and who is whose parent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, and_, select, tuple_, update
from sqlalchemy.orm import Session

from services.auth.db import accounts, guardianships, like_pattern, locked, schools, students
from services.auth.domain.people import search_key
from services.auth.domain.usernames import make_username

# -- schools --------------------------------------------------------------------------------------


def insert_school(s: Session, school_id: str, name: str, now: datetime) -> None:
    s.execute(schools.insert().values(id=school_id, name=name, created_at=now))


def school_exists(s: Session, school_id: str) -> bool:
    return s.execute(select(schools.c.id).where(schools.c.id == school_id)).first() is not None


def school_name(s: Session, school_id: str) -> str:
    return s.execute(select(schools.c.name).where(schools.c.id == school_id)).scalar_one_or_none() or ""


def first_school_named(s: Session, name: str) -> str | None:
    """The oldest school of that name, by id."""
    q = select(schools.c.id).where(schools.c.name == name).order_by(schools.c.created_at)
    return s.execute(q).scalars().first()


# -- accounts -------------------------------------------------------------------------------------


def account(s: Session, account_id: str) -> Row | None:
    return s.execute(select(accounts).where(accounts.c.id == account_id)).first()


def account_for_update(s: Session, account_id: str) -> Row | None:
    return s.execute(locked(s, select(accounts).where(accounts.c.id == account_id))).first()


def account_by_username(s: Session, username: str) -> Row | None:
    return s.execute(select(accounts).where(accounts.c.username == username)).first()


def username_taken(s: Session, username: str) -> bool:
    return s.execute(select(accounts.c.id).where(accounts.c.username == username)).first() is not None


def accounts_by_email(s: Session, email: str) -> Sequence[Row]:
    return s.execute(select(accounts).where(accounts.c.email == email).order_by(accounts.c.id)).all()


def account_of_school(s: Session, account_id: str, school_id: str, *, lock: bool = False) -> Row | None:
    """A parent or staff account of the school (None for another school's, or none)."""
    q = select(accounts).where(accounts.c.id == account_id, accounts.c.school_id == school_id)
    return s.execute(locked(s, q) if lock else q).first()


def set_disabled(s: Session, account_id: str, now: datetime | None, by: str | None) -> None:
    """Disable the account (``now`` and who), or enable it again (``None, None``)."""
    s.execute(update(accounts).where(accounts.c.id == account_id).values(disabled_at=now, disabled_by=by))


def parent_of_school(s: Session, parent_id: str, school_id: str, *, lock: bool = False) -> Row | None:
    a = accounts
    q = select(a).where(a.c.id == parent_id, a.c.school_id == school_id, a.c.role == "parent")
    return s.execute(q.with_for_update() if lock else q).first()


def first_account_of(s: Session, school_id: str, role: str) -> Row | None:
    """The school's oldest account with that role."""
    a = accounts
    q = select(a).where(a.c.school_id == school_id, a.c.role == role).order_by(a.c.created_at, a.c.id)
    return s.execute(q).first()


def insert_account(
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
) -> Row:
    """A new parent or staff account, its username made from the names unless given; the new row."""
    if username is None:
        username = make_username(first, last, lambda candidate: username_taken(s, candidate))
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
            search_name=search_key(first, last, email),
        )
    )
    return s.execute(select(accounts).where(accounts.c.id == account_id)).one()


def rehash_password(s: Session, account_id: str, password_hash: str) -> None:
    """The same password hashed with today's parameters (it did not change)."""
    s.execute(update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash))


def set_password(s: Session, account_id: str, password_hash: str, now: datetime) -> None:
    s.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(password_hash=password_hash, password_changed_at=now)
    )


# -- students and guardianships -------------------------------------------------------------------


def insert_student(
    s: Session, school_id: str, first: str, last: str, klass: str, level: str, now: datetime
) -> Row:
    """A new active student; the new row."""
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
            search_name=search_key(first, last),
        )
    )
    return s.execute(select(students).where(students.c.id == student_id)).one()


def active_student_names(s: Session, school_id: str, student_ids: Iterable[str]) -> dict[str, str]:
    """The first names of those of ``student_ids`` that are active students of the school, by id."""
    st = students
    rows = s.execute(
        select(st.c.id, st.c.first_name).where(
            st.c.school_id == school_id, st.c.id.in_(list(student_ids)), st.c.active.is_(True)
        )
    ).all()
    return {r.id: r.first_name for r in rows}


def children_of(s: Session, parent) -> Sequence[Row]:
    """A parent's active children (student rows) in their school, by first name."""
    st, g = students, guardianships
    return s.execute(
        select(st)
        .join(g, and_(g.c.student_id == st.c.id, g.c.parent_id == parent.id))
        .where(st.c.active.is_(True), st.c.school_id == parent.school_id)
        .order_by(st.c.first_name, st.c.last_name, st.c.id)
    ).all()


def linked_student_ids(s: Session, parent_id: str) -> set[str]:
    q = select(guardianships.c.student_id).where(guardianships.c.parent_id == parent_id)
    return set(s.execute(q).scalars())


def insert_guardianships(
    s: Session, parent_id: str, student_ids: list[str], school_id: str, now: datetime
) -> None:
    s.execute(
        guardianships.insert(),
        [
            {"parent_id": parent_id, "student_id": sid, "school_id": school_id, "created_at": now}
            for sid in student_ids
        ],
    )


def update_account(s: Session, account_id: str, values: dict) -> None:
    s.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


def other_account_with_email(s: Session, email: str, account_id: str) -> bool:
    """Does an account other than ``account_id`` (of any school) use this (lower-case) e-mail?"""
    a = accounts
    q = select(a.c.id).where(a.c.email == email, a.c.id != account_id).limit(1)
    return s.execute(q).first() is not None


# the parents' list order, the id last so that the order is total
PARENT_ORDER = (accounts.c.last_name, accounts.c.first_name, accounts.c.id)


def parent_sort_values(row) -> list[str]:
    """A parent row's PARENT_ORDER values (what a cursor carries)."""
    return [row.last_name, row.first_name, row.id]


def find_parents(
    s: Session,
    school_id: str,
    student_ids: list[str],
    status: str = "",
    *,
    term: str = "",
    after: list[str] | None = None,
    limit: int | None = None,
) -> Sequence[Row]:
    """The school's parents, all or those of ``student_ids``, all or those with ``status`` (invited,
    active, disabled: domain/accounts.py), all or those whose names or e-mail hold ``term`` (folded,
    domain/people.search_term), in PARENT_ORDER from after the sort values ``after``, at most
    ``limit`` (None: all)."""
    a, g = accounts, guardianships
    q = select(a).where(a.c.school_id == school_id, a.c.role == "parent")
    if term:
        q = q.where(a.c.search_name.like(like_pattern(term), escape="\\"))
    if after is not None:
        q = q.where(tuple_(*PARENT_ORDER) > tuple_(*after))
    if student_ids:
        q = q.where(a.c.id.in_(select(g.c.parent_id).where(g.c.student_id.in_(student_ids))))
    if status == "disabled":
        q = q.where(a.c.disabled_at.is_not(None))
    elif status in ("invited", "active"):
        has_password = a.c.password_hash.is_not(None) if status == "active" else a.c.password_hash.is_(None)
        q = q.where(a.c.disabled_at.is_(None), has_password)
    q = q.order_by(*PARENT_ORDER)
    return s.execute(q.limit(limit) if limit is not None else q).all()


def find_staff(s: Session, school_id: str) -> Sequence[Row]:
    """The school's staff accounts, by name."""
    a = accounts
    q = select(a).where(a.c.school_id == school_id, a.c.role == "staff")
    return s.execute(q.order_by(a.c.last_name, a.c.first_name, a.c.id)).all()


def children_ids_by_parent(s: Session, parent_ids: list[str]) -> dict[str, list[str]]:
    """Each parent's student ids, in the order they were linked."""
    g = guardianships
    links: dict[str, list[str]] = {}
    if parent_ids:
        for parent_id, student_id in s.execute(
            select(g.c.parent_id, g.c.student_id)
            .where(g.c.parent_id.in_(parent_ids))
            .order_by(g.c.created_at, g.c.student_id)
        ).all():
            links.setdefault(parent_id, []).append(student_id)
    return links
