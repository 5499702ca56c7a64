"""Queries of the school's back office about students: finding them (a search, a page), changing
them one by one or a whole class at once, and the bulk steps of the People CSV import."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Row, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.orm import Session

from kit.db import bulk_insert
from services.auth.db import (
    accounts,
    connection_tokens,
    guardianships,
    like_escaped,
    like_pattern,
    locked,
    schools,
    students,
)

# ids per IN (...): far below SQLite's and PostgreSQL's limits on bound parameters
CHUNK = 500

# the list's order (API.md: by class, then last name), the id last so that the order is total
STUDENT_ORDER = (students.c.class_name, students.c.last_name, students.c.first_name, students.c.id)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def search_students(
    s: Session,
    school_id: str,
    *,
    active: bool,
    term: str = "",
    class_name: str = "",
    ids: Iterable[str] = (),
    classes: Iterable[str] = (),
    parent_id: str | None = None,
    after: list[str] | None = None,
    limit: int | None = None,
) -> Sequence[Row]:
    """The school's students, active or left, matching every filter given (``term``: a folded part
    of the names, domain/people.search_term), in STUDENT_ORDER, from after the sort values ``after``,
    at most ``limit`` (None: all)."""
    st = students
    q = select(st).where(st.c.school_id == school_id, st.c.active.is_(active))
    if parent_id is not None:
        g = guardianships
        q = q.join(g, and_(g.c.student_id == st.c.id, g.c.parent_id == parent_id))
    if term:
        q = q.where(st.c.search_name.like(like_pattern(term), escape="\\"))
    if class_name:
        q = q.where(st.c.class_name == class_name)
    if ids := list(ids):
        q = q.where(st.c.id.in_(ids))
    if classes := list(classes):
        q = q.where(st.c.class_name.in_(classes))
    if after is not None:
        q = q.where(tuple_(*STUDENT_ORDER) > tuple_(*after))
    q = q.order_by(*STUDENT_ORDER)
    if limit is not None:
        q = q.limit(limit)
    return s.execute(q).all()


def sort_values(row) -> list[str]:
    """A student row's STUDENT_ORDER values (what a cursor carries)."""
    return [row.class_name, row.last_name, row.first_name, row.id]


def student_of_school(s: Session, student_id: str, school_id: str, *, lock: bool = False) -> Row | None:
    """One student of the school, active or left (None for another school's, or none)."""
    q = select(students).where(students.c.id == student_id, students.c.school_id == school_id)
    return s.execute(locked(s, q) if lock else q).first()


def external_id_owner(s: Session, school_id: str, external_id: str) -> str | None:
    """The id of the school's student with that external id, if any."""
    st = students
    q = select(st.c.id).where(st.c.school_id == school_id, st.c.external_id == external_id)
    return s.execute(q).scalar_one_or_none()


def update_student(s: Session, student_id: str, values: dict[str, Any]) -> None:
    s.execute(update(students).where(students.c.id == student_id).values(**values))


def active_in_class(s: Session, school_id: str, class_name: str) -> Sequence[Row]:
    """The active students of one class, locked (a class moved at once), in STUDENT_ORDER."""
    st = students
    q = select(st).where(st.c.school_id == school_id, st.c.class_name == class_name, st.c.active.is_(True))
    return s.execute(locked(s, q.order_by(*STUDENT_ORDER))).all()


def move_students(s: Session, student_ids: Sequence[str], class_name: str) -> None:
    for chunk in chunks(student_ids):
        s.execute(update(students).where(students.c.id.in_(list(chunk))).values(class_name=class_name))


def parent_ids_by_student(s: Session, student_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each student's parents' ids, in the order they were linked."""
    g = guardianships
    out: dict[str, list[str]] = {}
    for chunk in chunks(list(student_ids)):
        for r in s.execute(
            select(g.c.student_id, g.c.parent_id)
            .where(g.c.student_id.in_(list(chunk)))
            .order_by(g.c.created_at, g.c.parent_id)
        ).all():
            out.setdefault(r.student_id, []).append(r.parent_id)
    return out


def parents_of_student(s: Session, student_id: str) -> Sequence[Row]:
    """A student's parent accounts, by name."""
    a, g = accounts, guardianships
    return s.execute(
        select(a)
        .join(g, and_(g.c.parent_id == a.c.id, g.c.student_id == student_id))
        .order_by(a.c.last_name, a.c.first_name, a.c.id)
    ).all()


def all_children_of(s: Session, parent) -> Sequence[Row]:
    """A parent's children in their school, active and left, by first name."""
    st, g = students, guardianships
    return s.execute(
        select(st)
        .join(g, and_(g.c.student_id == st.c.id, g.c.parent_id == parent.id))
        .where(st.c.school_id == parent.school_id)
        .order_by(st.c.first_name, st.c.last_name, st.c.id)
    ).all()


# -- the People CSV import: a few statements whatever the file's size -------------------------------


def lock_school(s: Session, school_id: str) -> None:
    """One import (or class move) at a time per school: the school's row, locked until the commit
    (SQLite locks the whole database on write anyway)."""
    s.execute(locked(s, select(schools.c.id).where(schools.c.id == school_id)))


def students_by_external_id(s: Session, school_id: str, external_ids: Sequence[str]) -> dict[str, Row]:
    st = students
    out: dict[str, Row] = {}
    for chunk in chunks(list(external_ids)):
        q = select(st).where(st.c.school_id == school_id, st.c.external_id.in_(list(chunk)))
        out.update({r.external_id: r for r in s.execute(q).all()})
    return out


def accounts_by_emails(s: Session, emails: Sequence[str]) -> dict[str, list[Row]]:
    """Every account (any school, any role) with one of these e-mails, by e-mail."""
    a = accounts
    out: dict[str, list[Row]] = {}
    for chunk in chunks(list(emails)):
        for r in s.execute(select(a).where(a.c.email.in_(list(chunk))).order_by(a.c.id)).all():
            out.setdefault(r.email, []).append(r)
    return out


def links_between(s: Session, parent_ids: Sequence[str]) -> set[tuple[str, str]]:
    """The (parent id, student id) guardianships of these parents."""
    g = guardianships
    out: set[tuple[str, str]] = set()
    for chunk in chunks(list(parent_ids)):
        q = select(g.c.parent_id, g.c.student_id).where(g.c.parent_id.in_(list(chunk)))
        out.update((r.parent_id, r.student_id) for r in s.execute(q).all())
    return out


def usernames_taken(s: Session, usernames: Sequence[str]) -> set[str]:
    """Those of ``usernames`` an account has."""
    a = accounts
    out: set[str] = set()
    for chunk in chunks(sorted(set(usernames))):
        out.update(s.execute(select(a.c.username).where(a.c.username.in_(list(chunk)))).scalars())
    return out


def usernames_like(s: Session, bases: Sequence[str]) -> set[str]:
    """Every username that starts with one of ``bases`` (a superset of what a new one could clash
    with), in a few queries."""
    a = accounts
    out: set[str] = set()
    for chunk in chunks(sorted(set(bases)), 100):
        starts = [a.c.username.like(like_escaped(b) + "%", escape="\\") for b in chunk]
        out.update(s.execute(select(a.c.username).where(or_(*starts))).scalars())
    return out


def children_by_parent(s: Session, parent_ids: Sequence[str]) -> dict[str, list[Row]]:
    """Each parent's children, active and left (id, first_name), by first name: what the parent events
    say (a child who left stays its parents', read-only, and their open invoices still get mailed)."""
    st, g = students, guardianships
    out: dict[str, list[Row]] = {}
    for chunk in chunks(list(parent_ids)):
        q = (
            select(g.c.parent_id, st.c.id, st.c.first_name)
            .join(st, st.c.id == g.c.student_id)
            .where(g.c.parent_id.in_(list(chunk)))
            .order_by(g.c.parent_id, st.c.first_name, st.c.last_name, st.c.id)
        )
        for r in s.execute(q).all():
            out.setdefault(r.parent_id, []).append(r)
    return out


def insert_tokens(s: Session, rows: list[dict[str, Any]]) -> None:
    """Connection tokens of new accounts (none to revoke)."""
    bulk_insert(s, connection_tokens, rows)


def insert_students(s: Session, rows: list[dict[str, Any]]) -> None:
    bulk_insert(s, students, rows)


def insert_accounts(s: Session, rows: list[dict[str, Any]]) -> None:
    bulk_insert(s, accounts, rows)


def insert_links(s: Session, rows: list[dict[str, Any]]) -> None:
    bulk_insert(s, guardianships, rows)


def update_many(s: Session, table_name: str, changes: list[dict[str, Any]]) -> None:
    """Each ``{"id": ..., <column>: value, ...}`` applied to its row, in one executemany per set of
    columns (the driver batches them)."""
    table = {"students": students, "accounts": accounts}[table_name]
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        by_columns.setdefault(tuple(sorted(k for k in change if k != "id")), []).append(change)
    for columns, rows in by_columns.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns})
        )
        s.execute(stmt, [{f"_{k}": v for k, v in row.items()} for row in rows])
