"""Queries of SEPA mandates and the students they cover (issue #18).

Locks: a mandate row is locked (``FOR UPDATE``) by its revocation and by a batch's creation, which
takes every active mandate of the school it collects on, before any invoice; a movement that may
trigger an automatic top-up reads the student's active mandate ``FOR SHARE`` (after its wallet lock),
so a revocation waits for it and then withdraws what it triggered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from services.finance.db.tables import mandate_students, mandates

ACTIVE = "active"
REVOKED = "revoked"


def insert_mandate(s: Session, student_ids: Iterable[str], **values: Any) -> None:
    """A mandate row and the students it covers."""
    s.execute(mandates.insert().values(**values))
    rows = [{"mandate_id": values["id"], "student_id": sid} for sid in sorted(set(student_ids))]
    if rows:
        s.execute(mandate_students.insert(), rows)


def mandate_row(s: Session, school_id: str, mandate_id: str, *, lock: bool = False) -> Row[Any] | None:
    """The school's mandate (locked until commit with ``lock``); None when it has none of this id."""
    q = select(mandates).where(mandates.c.id == mandate_id, mandates.c.school_id == school_id)
    return s.execute(q.with_for_update() if lock else q).first()


def mandate_by_reference(s: Session, reference: str) -> Row[Any] | None:
    return s.execute(select(mandates).where(mandates.c.reference == reference)).first()


def students_of_mandates(s: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    """The students each mandate covers, sorted, by mandate id."""
    ids = list(ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    ms = mandate_students
    for mandate_id, student_id in s.execute(
        select(ms.c.mandate_id, ms.c.student_id).where(ms.c.mandate_id.in_(ids)).order_by(ms.c.student_id)
    ):
        out[mandate_id].append(student_id)
    return out


def mandates_of(
    s: Session, school_id: str, *, parent_account_id: str = "", student_id: str = ""
) -> list[Row[Any]]:
    """The school's mandates, newest first: those a parent signed, those covering a student, or all."""
    q = select(mandates).where(mandates.c.school_id == school_id)
    if parent_account_id:
        q = q.where(mandates.c.parent_account_id == parent_account_id)
    if student_id:
        q = q.where(
            mandates.c.id.in_(
                select(mandate_students.c.mandate_id).where(mandate_students.c.student_id == student_id)
            )
        )
    return list(s.execute(q.order_by(mandates.c.signed_at.desc(), mandates.c.id.desc())).all())


def active_mandates(
    s: Session, school_id: str, student_ids: Iterable[str] | None = None, *, lock: str = ""
) -> dict[str, Row[Any]]:
    """The newest active mandate covering each student (of ``student_ids``, or every student of the
    school that has one), by student id. ``lock``: "update" (FOR UPDATE of the mandates, in id order)
    or "share" (FOR SHARE)."""
    ms = mandate_students
    q = (
        select(mandates, ms.c.student_id.label("covered_student_id"))
        .join(ms, ms.c.mandate_id == mandates.c.id)
        .where(mandates.c.school_id == school_id, mandates.c.status == ACTIVE)
    )
    if student_ids is not None:
        ids = sorted(set(student_ids))
        if not ids:
            return {}
        q = q.where(ms.c.student_id.in_(ids))
    if lock:
        q = q.order_by(mandates.c.id).with_for_update(of=mandates, read=lock == "share")
    out: dict[str, Row[Any]] = {}
    for r in s.execute(q).all():
        best = out.get(r.covered_student_id)
        if best is None or (r.signed_at, r.id) > (best.signed_at, best.id):
            out[r.covered_student_id] = r
    return out


def revoke(s: Session, mandate_id: str, *, at: datetime, reason: str, by: str | None) -> None:
    s.execute(
        update(mandates)
        .where(mandates.c.id == mandate_id)
        .values(status=REVOKED, revoked_at=at, revoked_reason=reason, revoked_by=by)
    )


def set_first_collected(s: Session, ids: Iterable[str], value: bool = True) -> None:
    ids = sorted(set(ids))
    if ids:
        s.execute(update(mandates).where(mandates.c.id.in_(ids)).values(first_collected=value))
