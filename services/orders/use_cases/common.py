"""Steps shared by the orders service's use cases: refusing a student of another school, loading a
period the caller may see, and one that is open for a student.

Orders keeps no copy of a student's class: a parent's identity token carries it on every call (auth
signs it afresh for each request, so a class change or a leaving reaches orders at the next call),
and staff name periods by class without naming students. Hence no consumer of auth.student.updated.v1
here (tests/e2e/test_student_leaves_and_moves.py proves a moved child sees the new class's periods).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kit.errors import Conflict, NotFound
from kit.identity import Identity
from services.orders import db
from services.orders.domain.periods import Period


def require_student_here(s: Session, who: Identity, student_id: str) -> None:
    """The caller may act for the student (a parent: their token names them) and, for staff, nothing
    this service trusts puts the student in another school; else not_found, like an unknown id. A staff
    token names no student: the id is the caller's word, checked against the orders finance invoiced
    (a student never invoiced here cannot be told apart from a new one of the caller's school)."""
    who.require_student(student_id)
    if who.role != "parent" and db.student_known_elsewhere(s, who.school_id, student_id):
        raise NotFound("no such student")


def load_period(s: Session, who: Identity, period_id: str) -> Period:
    """A period of the caller's school; else not_found."""
    period = db.find_period(s, who.school_id, period_id)
    if period is None:
        raise NotFound("no such ordering period")
    return period


def open_period_for(s: Session, who: Identity, period_id: str, student_id: str, now: datetime) -> Period:
    """The period if the caller acts for the student, it is for the student's class and open ``now``;
    another class's period answers not_found, a closed one 409 ``period_closed``. A child who left the
    school (the parent's token says so) orders nothing: 409 ``student_left``, whatever the period."""
    require_student_here(s, who, student_id)
    who.refuse_left(student_id)
    period = load_period(s, who, period_id)
    if not period.serves(who.students.get(student_id)):
        raise NotFound("no such ordering period")
    if not period.is_open(now):
        raise Conflict("this ordering period is closed", code="period_closed")
    return period
