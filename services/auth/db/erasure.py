"""Queries of a family's erasure and of retention (issue #21): the school's policy, who was erased,
tombstones, the sign-in material that goes, the audit entries to redact, and who retention may erase."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.orm import Session

from services.auth.db import (
    accounts,
    audit_entries,
    connection_tokens,
    erasures,
    guardianships,
    like_pattern,
    recovery_codes,
    retention_policies,
    schools,
    second_factors,
    sessions,
    sign_in_failures,
    students,
)
from services.auth.domain.retention import DEFAULT, Policy

# -- the policy -----------------------------------------------------------------------------------


def policy(s: Session, school_id: str) -> Policy:
    """The school's policy (the defaults while it set none)."""
    t = retention_policies
    row = s.execute(select(t).where(t.c.school_id == school_id)).first()
    return Policy(row.personal_years, row.financial_years) if row else DEFAULT


def save_policy(s: Session, school_id: str, p: Policy, now: datetime, by: str) -> None:
    t = retention_policies
    values = {
        "personal_years": p.personal_years,
        "financial_years": p.financial_years,
        "updated_at": now,
        "updated_by": by,
    }
    if s.execute(update(t).where(t.c.school_id == school_id).values(**values)).rowcount == 0:  # type: ignore[attr-defined]
        s.execute(t.insert().values(school_id=school_id, **values))


def school_ids(s: Session) -> list[str]:
    return list(s.execute(select(schools.c.id).order_by(schools.c.created_at, schools.c.id)).scalars())


# -- who was erased -------------------------------------------------------------------------------


def erased(s: Session, subject_type: str, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` (parents' or students') that were erased."""
    wanted = list(ids)
    if not wanted:
        return set()
    e = erasures
    q = select(e.c.subject_id).where(e.c.subject_type == subject_type, e.c.subject_id.in_(wanted))
    return set(s.execute(q).scalars())


def erasure(s: Session, subject_type: str, subject_id: str) -> Row | None:
    e = erasures
    q = select(e).where(e.c.subject_type == subject_type, e.c.subject_id == subject_id)
    return s.execute(q).first()


def erased_at(s: Session, ids: Iterable[str]) -> datetime | None:
    """When the first of ``ids`` that is an erased parent or student was erased (None: none is)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return None
    e = erasures
    return s.execute(select(func.min(e.c.erased_at)).where(e.c.subject_id.in_(wanted))).scalar_one_or_none()


def record_erasures(
    s: Session, school_id: str, subjects: list[tuple[str, str]], reason: str, now: datetime, until: date
) -> None:
    if subjects:
        s.execute(
            erasures.insert(),
            [
                {
                    "subject_type": kind,
                    "subject_id": sid,
                    "school_id": school_id,
                    "reason": reason,
                    "erased_at": now,
                    "keep_financial_until": until,
                }
                for kind, sid in subjects
            ],
        )


# -- tombstones and what goes with them -------------------------------------------------------------


def tombstone_account(s: Session, account_id: str, values: dict[str, Any]) -> None:
    s.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


def tombstone_student(s: Session, student_id: str, values: dict[str, Any]) -> None:
    s.execute(update(students).where(students.c.id == student_id).values(**values))


def other_first_names(s: Session, school_id: str, except_ids: Iterable[str]) -> set[str]:
    """The first names (case-folded) of the school's students but ``except_ids``."""
    rows = s.execute(
        select(students.c.first_name).where(
            students.c.school_id == school_id, students.c.id.not_in(list(except_ids))
        )
    )
    return {r.first_name.casefold() for r in rows}


def delete_sign_in_material(s: Session, account_id: str, username: str) -> None:
    """Sessions, connection tokens, second factor and recovery codes of the account, and the failed
    sign-ins counted against its username."""
    s.execute(delete(sessions).where(sessions.c.account_id == account_id))
    s.execute(delete(connection_tokens).where(connection_tokens.c.account_id == account_id))
    s.execute(delete(recovery_codes).where(recovery_codes.c.account_id == account_id))
    s.execute(delete(second_factors).where(second_factors.c.account_id == account_id))
    f = sign_in_failures
    s.execute(delete(f).where(f.c.key_kind == "account", f.c.key_value == username))


# -- the audit log ----------------------------------------------------------------------------------


def entries_naming(s: Session, school_id: str, ids: Sequence[str], needles: Sequence[str]) -> Sequence[Row]:
    """The school's entries about or by ``ids``, or whose actor name or detail holds one of
    ``needles`` (case-insensitive): those a redaction may change."""
    t = audit_entries
    found = [t.c.object_id.in_(list(ids)), t.c.actor_id.in_(list(ids))]
    for needle in needles:
        pattern = like_pattern(needle)
        found += [t.c.detail.ilike(pattern, escape="\\"), t.c.actor_name.ilike(pattern, escape="\\")]
    return s.execute(select(t).where(t.c.school_id == school_id, or_(*found)).order_by(t.c.seq)).all()


def redact_entry(s: Session, seq: int, actor_name: str, detail: str, now: datetime) -> None:
    """The one change the log allows (migration b7d2e4f9a013): names replaced, ``redacted_at`` set."""
    t = audit_entries
    s.execute(update(t).where(t.c.seq == seq).values(actor_name=actor_name, detail=detail, redacted_at=now))


# -- what retention looks at ------------------------------------------------------------------------


def families(s: Session, school_id: str) -> dict[str, list[Row]]:
    """The school's parents not erased who have children: their children's (id, active, left_on)."""
    a, g, st = accounts, guardianships, students
    erased_parents = select(erasures.c.subject_id).where(erasures.c.subject_type == "parent")
    q = (
        select(g.c.parent_id, st.c.id, st.c.active, st.c.left_on)
        .join(st, st.c.id == g.c.student_id)
        .join(a, a.c.id == g.c.parent_id)
        .where(a.c.school_id == school_id, a.c.role == "parent", a.c.id.not_in(erased_parents))
        .order_by(g.c.parent_id, st.c.id)
    )
    out: dict[str, list[Row]] = {}
    for r in s.execute(q).all():
        out.setdefault(r.parent_id, []).append(r)
    return out


def left_students_not_erased(s: Session, school_id: str) -> Sequence[Row]:
    """The school's students who left and were not erased, with their parents' ids (below)."""
    st = students
    erased_students = select(erasures.c.subject_id).where(erasures.c.subject_type == "student")
    q = select(st).where(st.c.school_id == school_id, st.c.active.is_(False), st.c.id.not_in(erased_students))
    return s.execute(q.order_by(st.c.id)).all()
