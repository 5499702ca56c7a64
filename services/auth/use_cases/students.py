"""Students as the school's manager finds and keeps them through the year: the list (by class, by
name, active or left, a page at a time), one student with their parents, a change (names, class,
level, birth date, the school's own id, national number), a leaver, and the year's turn (a whole
class moved to its next one).

Everything is the caller's school only: another school's student is NOT_FOUND, checked here. Every
change is announced (auth.student.updated.v1, with the class and level before: finance gives new
wallet communications for a new level, the services that scope by class follow) and audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from services.auth import events, views
from services.auth.db import directory, roster
from services.auth.domain import people as rules
from services.auth.domain.paging import encode_cursor
from services.auth.use_cases.common import (
    Deps,
    log,
    page_of,
    school_today,
    seal_national_number,
    shown_national_number,
    unique,
)

STATUSES = ("active", "left")
# How far a leaving date may be from today (a leaver recorded late, or announced ahead).
LEAVE_WINDOW = (timedelta(days=2 * 365), timedelta(days=365))


def list_students(
    deps: Deps,
    who: Identity,
    student_ids: Iterable[str] = (),
    class_names: Iterable[str] = (),
    *,
    q: str = "",
    class_name: str = "",
    status: str = "",
    limit: int = 0,
    cursor: str = "",
) -> pb.ListStudentsResponse:
    """Staff: their school's students matching the filters (``q`` any part of a name, accents and
    case ignored; one ``class_name``; ``status`` active by default or left; ids; classes), by class,
    last name, first name, a page of ``limit`` (1-200; 50, or everything for a plain lookup by ids
    or classes) from ``cursor``. A parent: only their own active children (other ids are left out,
    as if they did not exist), without parent ids nor national numbers."""
    if who.role == "parent":
        parent_id: str | None = who.account_id
    elif who.is_staff:
        parent_id = None
    else:
        raise Forbidden("not for this account")
    status = (status or "").strip().lower()
    if status and status not in STATUSES:
        raise InvalidRequest("unknown status", fields={"status": "active or left"})
    term = rules.search_term(q)
    klass = rules.tidy(class_name)
    size, after = page_of(limit, cursor, paged=bool(term or cursor or klass or status), values=4)
    with deps.db.unit_of_work() as s:
        rows = roster.search_students(
            s,
            who.school_id,
            active=status != "left" or parent_id is not None,
            term=term,
            class_name=klass,
            ids=unique(student_ids),
            classes=unique(class_names),
            parent_id=parent_id,
            after=after,
            limit=size + 1 if size is not None else None,
        )
        more = size is not None and len(rows) > size
        rows = rows[:size] if size is not None else rows
        if parent_id is not None:
            students = [views.student(r) for r in rows]
        else:
            links = roster.parent_ids_by_student(s, [r.id for r in rows])
            students = [_for_staff(deps, r, links.get(r.id, [])) for r in rows]
    return pb.ListStudentsResponse(
        students=students, next_cursor=encode_cursor(roster.sort_values(rows[-1])) if more else ""
    )


def get_student(deps: Deps, who: Identity, student_id: str) -> pb.GetStudentResponse:
    """Staff: one student of the school (active or left) with their parents, the national number
    in full."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        row = _student(s, who, student_id)
        parents = roster.parents_of_student(s, row.id)
        children = directory.children_ids_by_parent(s, [p.id for p in parents])
        return pb.GetStudentResponse(
            student=_for_staff(deps, row, [p.id for p in parents], full=True),
            parents=[
                views.parent_contact(
                    p, children.get(p.id, []), shown_national_number(deps, p.national_number)
                )
                for p in parents
            ],
        )


def update_student(deps: Deps, who: Identity, req: pb.UpdateStudentRequest) -> pb.UpdateStudentResponse:
    """Staff: change the fields the request sets (names, class, level, birth date, external id,
    national number; "" clears the last three). Bad values: InvalidRequest with fields; another
    student's external id: Conflict ``external_id_taken``. A real change is announced and audited;
    none changes nothing."""
    who.require_staff()
    wanted = _checked_changes(req, school_today(deps))
    try:
        with deps.db.unit_of_work() as s:
            row = _student(s, who, req.student_id, lock=True)
            changes = _differences(deps, row, wanted)
            if "external_id" in changes and changes["external_id"] is not None:
                owner = roster.external_id_owner(s, who.school_id, str(changes["external_id"]))
                if owner is not None and owner != row.id:
                    raise _external_id_taken()
            if changes:
                _apply(deps, s, who, row, changes)
                row = _student(s, who, row.id)
            links = roster.parent_ids_by_student(s, [row.id])
            answer = pb.UpdateStudentResponse(student=_for_staff(deps, row, links.get(row.id, [])))
    except IntegrityError:  # the same external id given to another student at the same moment
        raise _external_id_taken() from None
    if changes:
        log.info("student updated", extra={"student_id": row.id, "fields": sorted(changes)})
    return answer


def leave_student(deps: Deps, who: Identity, student_id: str, left_on: str = "") -> pb.LeaveStudentResponse:
    """Staff: the student leaves the school on ``left_on`` (YYYY-MM-DD, today when empty, within two
    years before and one after): status ``left``. Leaving again on the same day changes nothing;
    another day corrects the date."""
    who.require_staff()
    today = school_today(deps)
    day = _leaving_day(left_on, today)
    with deps.db.unit_of_work() as s:
        row = _student(s, who, student_id, lock=True)
        if row.active or row.left_on != day:
            roster.update_student(s, row.id, {"active": False, "left_on": day})
            after = _student(s, who, row.id)
            deps.emit(s, events.student_updated(after, row.class_name, row.level))
            audit.record(
                deps,
                s,
                who,
                "auth.student.left",
                "student",
                row.id,
                f"{row.first_name} {row.last_name}, {row.class_name}, left on {day.isoformat()}",
            )
            log.info("student left", extra={"student_id": row.id})
            row = after
        links = roster.parent_ids_by_student(s, [row.id])
        return pb.LeaveStudentResponse(student=_for_staff(deps, row, links.get(row.id, [])))


def move_class(deps: Deps, who: Identity, from_class: str, to_class: str) -> pb.MoveClassResponse:
    """Staff, when the year turns: every active student of ``from_class`` moves to ``to_class`` at
    once (one transaction, one auth.student.updated.v1 each, one audit entry); how many moved."""
    who.require_staff()
    errors: dict[str, str] = {}
    source = rules.tidy(from_class)
    if not source:
        errors["from_class"] = "required"
    try:
        target = rules.clean_class(to_class)
    except rules.BadValue as bad:
        errors["to_class"], target = bad.message, ""
    if source and target and source == target:
        errors["to_class"] = "another class than from_class"
    if errors:
        raise InvalidRequest("the class move is not valid", fields=errors)
    with deps.db.unit_of_work() as s:
        roster.lock_school(s, who.school_id)
        rows = roster.active_in_class(s, who.school_id, source)
        if rows:
            roster.move_students(s, [r.id for r in rows], target)
            deps.emit_many(
                s,
                [
                    events.student_updated(
                        SimpleNamespace(**{**r._mapping, "class_name": target}), r.class_name, r.level
                    )
                    for r in rows
                ],
            )
            audit.record(
                deps,
                s,
                who,
                "auth.class.moved",
                "class",
                source,
                f"{source} → {target}, {len(rows)} students",
            )
    log.info("class moved", extra={"moved": len(rows)})
    return pb.MoveClassResponse(moved=len(rows))


# -- steps ------------------------------------------------------------------------------------------


def _student(s: Session, who: Identity, student_id: str, *, lock: bool = False):
    row = roster.student_of_school(s, student_id or "", who.school_id, lock=lock) if student_id else None
    if row is None:
        raise NotFound("no such student")
    return row


def _for_staff(deps: Deps, row, parent_ids: list[str], *, full: bool = False) -> pb.Student:
    return views.student(
        row, parent_ids, shown_national_number(deps, row.national_number, full=full), staff=True
    )


def _external_id_taken() -> Conflict:
    return Conflict("another student of the school has this id", code="external_id_taken")


def _checked_changes(req: pb.UpdateStudentRequest, today: date) -> dict[str, object]:
    """The fields the request sets, checked and tidied (None: cleared); InvalidRequest with every
    bad field."""
    errors: dict[str, str] = {}
    out: dict[str, object] = {}
    checks: dict[str, Callable[[str], object]] = {
        "first_name": rules.clean_name,
        "last_name": rules.clean_name,
        "class_name": rules.clean_class,
        "level": rules.parse_level,
        "birth_date": lambda v: rules.parse_birth_date(v, today) if v.strip() else None,
        "external_id": lambda v: rules.clean_external_id(v) if v.strip() else None,
        "national_number": lambda v: rules.clean_national_number(v) if v.strip() else None,
    }
    for name, check in checks.items():
        if req.HasField(name):
            try:
                out[name] = check(getattr(req, name))
            except rules.BadValue as bad:
                errors[name] = bad.message
    if req.HasField("severe_disability"):
        out["severe_disability"] = req.severe_disability
    if errors:
        raise InvalidRequest("the student is not valid", fields=errors)
    return out


def _differences(deps: Deps, row, wanted: dict[str, object]) -> dict[str, object]:
    """What would really change (a national number compared in clear)."""
    changes = {}
    for name, value in wanted.items():
        if name == "national_number":
            if (shown_national_number(deps, row.national_number, full=True) or None) != value:
                changes[name] = value
        elif getattr(row, name) != value:
            changes[name] = value
    return changes


def _apply(deps: Deps, s: Session, who: Identity, row, changes: dict[str, object]) -> None:
    """Write the changes, announce the student as they are now, audit which fields changed."""
    values = dict(changes)
    if "national_number" in values:
        values["national_number"] = seal_national_number(deps, str(values["national_number"] or ""))
    if "first_name" in values or "last_name" in values:
        values["search_name"] = rules.search_key(
            str(values.get("first_name", row.first_name)), str(values.get("last_name", row.last_name))
        )
    roster.update_student(s, row.id, values)
    after = roster.student_of_school(s, row.id, row.school_id)
    deps.emit(s, events.student_updated(after, row.class_name, row.level))
    said = [
        f"{name} {getattr(row, name)} → {changes[name]}" if name in ("class_name", "level") else name
        for name in sorted(changes)
    ]
    audit.record(
        deps,
        s,
        who,
        "auth.student.updated",
        "student",
        row.id,
        f"{row.first_name} {row.last_name}: {', '.join(said)}",
    )


def _leaving_day(text: str, today: date) -> date:
    text = (text or "").strip()
    if not text:
        return today
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidRequest("left_on is a date", fields={"left_on": "YYYY-MM-DD"})
    before, ahead = LEAVE_WINDOW
    if not today - before <= day <= today + ahead:
        raise InvalidRequest("left_on is too far from today", fields={"left_on": "within two years"})
    return day
