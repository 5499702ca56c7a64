"""The Flemish maximum bill (issue #19): the caps a school sets per school year and level, a
student's counters, and the check an invoice passes (``check`` and ``record_override``, called by
``invoices.issue_invoice`` for single and bulk invoices). Rules: ``domain/max_bill.py``.

What counts: the lines marked ``strict`` / ``less_strict`` of the student's invoices issued in the
school year (by issue date, 1 September to 31 August) that are not cancelled (a credit note frees
their room). The level: finance's copy of the student's (nursery -> kleuter, primary -> lager,
secondary: no cap). A year and level without caps set: no cap (the school sets the amounts).
Concurrency: the student's row is locked before the year is summed (``db/max_bill_queries.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from cartable.finance.v1 import max_bill_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.money import MAX_CENTS, format_eur
from kit.service import Runtime
from services.finance import views
from services.finance.db import max_bill_queries as q
from services.finance.domain import max_bill as rules
from services.finance.use_cases import common

EXCEEDED = "max_bill_exceeded"


def _year(text: str, field: str = "school_year") -> tuple[date, date]:
    bounds = rules.parse_school_year(text)
    if bounds is None:
        raise InvalidRequest("a school year such as 2026-2027", fields={field: "YYYY-YYYY (e.g. 2026-2027)"})
    return bounds


def _caps_message(r) -> pb.MaxBillCaps:
    return pb.MaxBillCaps(
        school_year=r.school_year,
        level=r.level,
        strict_cents=r.strict_cents,
        less_strict_cents=r.less_strict_cents,
        updated_at=views.rfc3339(r.updated_at),
    )


def adding(parsed: Sequence[tuple], attributes: Sequence) -> dict[str, int]:
    """Cents per cap the lines add (``parsed``: common.parse_lines' tuples, amount last)."""
    out: dict[str, int] = {}
    for line, a in zip(parsed, attributes, strict=False):
        if a.max_bill:
            out[a.max_bill] = out.get(a.max_bill, 0) + line[-1]
    return out


def lock_students(s: Session, who: Identity, student_ids: Sequence[str], attributes: Sequence) -> None:
    """A batch whose lines count towards a cap locks its students first, in id order."""
    if any(a.max_bill for a in attributes):
        q.lock_students(s, who.school_id, student_ids)


def check(
    rt: Runtime,
    s: Session,
    who: Identity,
    student,
    issued_on: date,
    parsed: Sequence[tuple],
    attributes: Sequence,
    override: bool,
) -> list[rules.Counter]:
    """Refuse (409 ``max_bill_exceeded``, its fields naming the cap, the cap, what counts and what is
    left, the student and the year) lines that would take ``student`` past a cap of the year of
    ``issued_on``; with ``override`` answer the counters passed instead (to audit)."""
    add = adding(parsed, attributes)
    level = rules.level_of(student.level)
    if not add or not level:
        return []
    q.lock_students(s, who.school_id, [student.id])
    year = rules.school_year_of(issued_on)
    caps = q.cap_row(s, who.school_id, year, level)
    if caps is None:
        return []
    start, end = _year(year)
    now = rules.counters(
        caps.strict_cents, caps.less_strict_cents, q.used_by_cap(s, who.school_id, student.id, start, end)
    )
    passed = rules.exceeded(now, add)
    if passed and not override:
        c = passed[0]
        raise Conflict(
            f"this invoice would pass the {c.cap.replace('_', ' ')} maximum bill of {year}:"
            f" {format_eur(c.left_cents)} left of {format_eur(c.cap_cents)}",
            code=EXCEEDED,
            fields={
                "cap": c.cap,
                "cap_cents": str(c.cap_cents),
                "used_cents": str(c.used_cents),
                "left_cents": str(c.left_cents),
                "adding_cents": str(add[c.cap]),
                "student_id": student.id,
                "school_year": year,
                "level": level,
            },
        )
    return passed


def record_override(
    rt: Runtime, s: Session, who: Identity, invoice_id: str, number: str, student_id: str, passed: Sequence
) -> None:
    """The audit entry of an invoice issued past a cap knowingly."""
    if passed:
        said = "; ".join(
            f"{c.cap} cap {format_eur(c.cap_cents)}, {format_eur(c.used_cents)} before" for c in passed
        )
        audit.record(
            rt,
            s,
            who,
            "finance.max_bill.overridden",
            "invoice",
            invoice_id,
            f"{number}, student {student_id}: {said}",
        )


class MaxBill:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_caps(self, who: Identity, req: pb.ListMaxBillCapsRequest) -> pb.ListMaxBillCapsResponse:
        who.require_staff()
        if req.school_year:
            _year(req.school_year)
        with self.rt.db.unit_of_work() as s:
            rows = q.caps_of(s, who.school_id, req.school_year)
            return pb.ListMaxBillCapsResponse(caps=[_caps_message(r) for r in rows])

    def set_caps(self, who: Identity, req: pb.SetMaxBillCapsRequest) -> pb.SetMaxBillCapsResponse:
        """Staff: the caps of one school year and level, replacing what was set (audited)."""
        who.require_staff()
        c = req.caps
        errors: dict[str, str] = {}
        if rules.parse_school_year(c.school_year) is None:
            errors["school_year"] = "YYYY-YYYY (e.g. 2026-2027)"
        if c.level not in rules.LEVELS:
            errors["level"] = " | ".join(rules.LEVELS)
        for name in ("strict_cents", "less_strict_cents"):
            if not 0 <= getattr(c, name) <= MAX_CENTS:
                errors[name] = f"0 to {MAX_CENTS}"
        if errors:
            raise InvalidRequest("the caps are not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            q.save_caps(
                s,
                who.school_id,
                c.school_year,
                c.level,
                strict_cents=c.strict_cents,
                less_strict_cents=c.less_strict_cents,
                by=who.account_id,
                now=common.now(self.rt),
            )
            audit.record(
                self.rt,
                s,
                who,
                "finance.max_bill.caps_set",
                "max_bill_caps",
                f"{c.school_year}:{c.level}",
                f"{c.school_year} {c.level}: strict {format_eur(c.strict_cents)},"
                f" less strict {format_eur(c.less_strict_cents)}",
            )
            row = q.cap_row(s, who.school_id, c.school_year, c.level)
            return pb.SetMaxBillCapsResponse(caps=_caps_message(row))

    def get_max_bill(self, who: Identity, req: pb.GetMaxBillRequest) -> pb.GetMaxBillResponse:
        """Staff: the student's counters for the school year (today's when not given)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            student = common.student(s, who, req.student_id)
            year = req.school_year or rules.school_year_of(common.today(self.rt))
            start, end = _year(year)
            level = rules.level_of(student.level)
            out = pb.GetMaxBillResponse(student_id=student.id, school_year=year, level=level)
            caps = q.cap_row(s, who.school_id, year, level) if level else None
            if caps is not None:
                out.capped = True
                used = q.used_by_cap(s, who.school_id, student.id, start, end)
                for c in rules.counters(caps.strict_cents, caps.less_strict_cents, used):
                    out.counters.add(
                        cap=c.cap, cap_cents=c.cap_cents, used_cents=c.used_cents, left_cents=c.left_cents
                    )
            return out
