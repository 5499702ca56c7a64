"""Ordering periods: staff open one (title, notes, window, classes); parents see those open for their
child's class."""

from __future__ import annotations

from datetime import datetime

from cartable.orders.v1 import orders_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.instants import parse_instant
from kit.service import Runtime
from services.orders import db, db_staff, views
from services.orders.use_cases.common import load_period, require_student_here


def _instant(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    """An RFC 3339 instant with its offset, in UTC; else None, and why under ``field`` in ``errors``."""
    try:
        return parse_instant(value, field)
    except InvalidRequest as err:
        errors.update(err.fields)
        return None


def _checked(title: str, opens_at: str, closes_at: str) -> tuple[str, datetime, datetime]:
    """The title trimmed and the window, as a period needs them; else InvalidRequest with every field."""
    fields: dict[str, str] = {}
    title = (title or "").strip()
    if not title or len(title) > 200:
        fields["title"] = "required, at most 200 characters"
    opens, closes = _instant(opens_at, "opens_at", fields), _instant(closes_at, "closes_at", fields)
    if opens and closes and closes <= opens:
        fields["closes_at"] = "must be after opens_at"
    if fields:
        raise InvalidRequest("the ordering period is not valid", fields=fields)
    assert opens is not None and closes is not None
    return title, opens, closes


def _classes(class_names: list[str]) -> list[str]:
    return sorted({c.strip() for c in class_names if c.strip()})


class Periods:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_open_periods(self, who: Identity, student_id: str) -> pb.ListOpenPeriodsResponse:
        """The periods open now for the student's class (or for every class), the first to close first;
        none for a child who left the school (they order nothing more)."""
        class_name = who.students.get(student_id)
        with self.rt.db.unit_of_work() as s:
            require_student_here(s, who, student_id)
            if who.is_left(student_id):
                return pb.ListOpenPeriodsResponse()
            periods = db.periods_open_at(s, who.school_id, self.rt.clock())
        return pb.ListOpenPeriodsResponse(
            periods=[views.period_pb(p) for p in periods if p.serves(class_name)]
        )

    def list_periods(self, who: Identity) -> pb.ListPeriodsResponse:
        """Every period of the staff member's school, the latest to open first, each with the number
        of its placed orders."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            periods = db.school_periods(s, who.school_id)
            counts = db_staff.orders_counts(s, who.school_id)
        return pb.ListPeriodsResponse(
            periods=[views.period_pb(p, orders_count=counts.get(p.id, 0)) for p in periods]
        )

    def create_period(
        self, who: Identity, title: str, notes: str, opens_at: str, closes_at: str, class_names: list[str]
    ) -> pb.CreatePeriodResponse:
        """An ordering period: title, notes, start and end, the classes concerned (none: every class)."""
        who.require_staff()
        title, opens, closes = _checked(title, opens_at, closes_at)
        with self.rt.db.unit_of_work() as s:
            period_id = db.insert_period(
                s,
                school_id=who.school_id,
                title=title,
                notes=(notes or "").strip(),
                opens_at=opens,
                closes_at=closes,
                class_names=_classes(class_names),
                created_at=self.rt.clock(),
            )
            audit.record(self.rt, s, who, "orders.period.created", "order_period", period_id, title)
        return pb.CreatePeriodResponse(id=period_id)

    def update_period(self, who: Identity, req: pb.UpdatePeriodRequest) -> pb.UpdatePeriodResponse:
        """Staff: the fields set in the request changed, the period then checked as a new one is (a
        title, a window that ends after it starts); another school's period is not found. A change
        is audited; a request that changes nothing writes nothing."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            period = load_period(s, who, req.period_id)
            title, opens, closes = _checked(
                req.title if req.HasField("title") else period.title,
                req.opens_at if req.HasField("opens_at") else period.opens_at.isoformat(),
                req.closes_at if req.HasField("closes_at") else period.closes_at.isoformat(),
            )
            notes = req.notes.strip() if req.HasField("notes") else period.notes
            classes = _classes(list(req.class_names)) if req.set_class_names else list(period.class_names)
            values = {
                k: v
                for k, v, old in (
                    ("title", title, period.title),
                    ("notes", notes, period.notes),
                    ("opens_at", opens, period.opens_at),
                    ("closes_at", closes, period.closes_at),
                    ("class_names", classes, list(period.class_names)),
                )
                if v != old
            }
            if values:
                db_staff.update_period(s, who.school_id, period.id, values)
                audit.record(
                    self.rt,
                    s,
                    who,
                    "orders.period.updated",
                    "order_period",
                    period.id,
                    f"{title}: {', '.join(sorted(values))}",
                )
            changed = db.find_period(s, who.school_id, period.id)
        assert changed is not None
        return pb.UpdatePeriodResponse(period=views.period_pb(changed))
