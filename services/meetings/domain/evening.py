"""Parent-meeting evenings: the plan a school submits, the slots it makes, and the booking rules.

Pure rules and values: no Flask, gRPC, SQLAlchemy or pika. Instants are timezone-aware; an evening's
date and clock times are the school's local wall-clock (Europe/Brussels by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 60
MAX_TEACHERS = 100
MAX_EVENING_HOURS = 12


class PlanError(ValueError):
    """The evening's plan is not valid; ``fields`` says what to fix (field name -> message)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class TeacherPlan:
    name: str
    room: str
    class_names: tuple[str, ...]
    account_id: str = ""


@dataclass(frozen=True)
class EveningPlan:
    """A validated evening: every instant is aware; ``starts_at``/``ends_at`` bound the slots."""

    title: str
    day: date
    start_time: time
    end_time: time
    slot_minutes: int
    opens_at: datetime
    closes_at: datetime
    timezone: str
    teachers: tuple[TeacherPlan, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, self.start_time, self.tz)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.day, self.end_time, self.tz)

    def slot_times(self) -> list[tuple[datetime, datetime]]:
        """Back-to-back slots of ``slot_minutes`` from the start; a last partial slot is dropped."""
        return slot_times(self.starts_at, self.ends_at, self.slot_minutes)


def slot_times(starts_at: datetime, ends_at: datetime, minutes: int) -> list[tuple[datetime, datetime]]:
    step = timedelta(minutes=minutes)
    out = []
    t = starts_at
    while t + step <= ends_at:
        out.append((t, t + step))
        t += step
    return out


def _clean_classes(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({n.strip() for n in names if n and n.strip()}))


def plan_evening(
    *,
    title: str,
    day: str,
    start_time: str,
    end_time: str,
    slot_minutes: int,
    opens_at: str,
    closes_at: str,
    teachers: Iterable[tuple[str, str, Iterable[str], str]],
    timezone: str,
) -> EveningPlan:
    """Check what staff typed and build the evening (raises PlanError with every problem at once).

    ``teachers``: (name, room, class names, staff account id or "").
    """
    fields: dict[str, str] = {}
    title = (title or "").strip()
    if not title or len(title) > 200:
        fields["title"] = "required, at most 200 characters"
    the_day = start = end = opens = closes = None
    try:
        the_day = date.fromisoformat((day or "").strip())
    except ValueError:
        fields["date"] = "expected YYYY-MM-DD"
    for name, value in (("start_time", start_time), ("end_time", end_time)):
        try:
            parsed = time.fromisoformat((value or "").strip())
            if parsed.second or parsed.microsecond or parsed.tzinfo:
                raise ValueError
        except ValueError:
            fields[name] = "expected HH:MM"
            continue
        if name == "start_time":
            start = parsed
        else:
            end = parsed
    if start and end and end <= start:
        fields["end_time"] = "must be after start_time"
    elif (
        start
        and end
        and (
            datetime.combine(date.min, end) - datetime.combine(date.min, start)
            > timedelta(hours=MAX_EVENING_HOURS)
        )
    ):
        fields["end_time"] = f"an evening lasts at most {MAX_EVENING_HOURS} hours"
    if not isinstance(slot_minutes, int) or not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        fields["slot_minutes"] = f"{MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES}"
    for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        try:
            dt = datetime.fromisoformat((value or "").strip())
            if dt.tzinfo is None:
                fields[name] = "the instant needs an offset"
                continue
        except ValueError:
            fields[name] = "expected an RFC 3339 instant"
            continue
        if name == "opens_at":
            opens = dt
        else:
            closes = dt
    if opens and closes and closes <= opens:
        fields["closes_at"] = "must be after opens_at"
    tz = ZoneInfo(timezone)
    if closes and the_day and start and closes > datetime.combine(the_day, start, tz):
        fields["closes_at"] = "at the latest when the evening starts"
    people: list[TeacherPlan] = []
    seen: set[str] = set()
    for i, (name, room, classes, account_id) in enumerate(teachers):
        name, room = (name or "").strip(), (room or "").strip()
        cls = _clean_classes(classes)
        if not name or len(name) > 120:
            fields[f"teachers[{i}].name"] = "required, at most 120 characters"
        elif name.casefold() in seen:
            fields[f"teachers[{i}].name"] = "this teacher is already listed"
        if len(room) > 60:
            fields[f"teachers[{i}].room"] = "at most 60 characters"
        if not cls:
            fields[f"teachers[{i}].class_names"] = "at least one class"
        elif len(cls) > 50 or any(len(c) > 40 for c in cls):
            fields[f"teachers[{i}].class_names"] = "at most 50 classes of at most 40 characters"
        if len((account_id or "").strip()) > 36:
            fields[f"teachers[{i}].account_id"] = "an account id"
        seen.add(name.casefold())
        people.append(TeacherPlan(name, room, cls, (account_id or "").strip()))
    if not people:
        fields["teachers"] = "at least one teacher"
    elif len(people) > MAX_TEACHERS:
        fields["teachers"] = f"at most {MAX_TEACHERS} teachers"
    if (
        not fields
        and the_day
        and start
        and end
        and slot_minutes
        and not slot_times(
            datetime.combine(the_day, start, tz), datetime.combine(the_day, end, tz), slot_minutes
        )
    ):
        fields["slot_minutes"] = "no slot fits between start_time and end_time"
    if fields:
        raise PlanError(fields)
    assert the_day and start and end and opens and closes
    return EveningPlan(title, the_day, start, end, slot_minutes, opens, closes, timezone, tuple(people))


# -- booking rules -------------------------------------------------------------------------------


def booking_open(opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    """Booking (and cancelling) is possible from the open instant until, not including, the close."""
    return opens_at <= now < closes_at


def may_cancel(closes_at: datetime, now: datetime) -> bool:
    return now < closes_at


def teaches(class_names: Iterable[str], class_name: str | None) -> bool:
    """A teacher is "of the child" when they teach the child's class."""
    return bool(class_name) and class_name in set(class_names)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def reminder_due_at(slot_start: datetime, timezone: str, hour: int) -> datetime:
    """The reminder goes the day before the meeting, from ``hour`` o'clock (school's local time)."""
    tz = ZoneInfo(timezone)
    local_day = slot_start.astimezone(tz).date()
    return datetime.combine(local_day - timedelta(days=1), time(hour), tz)


def reminder_due(slot_start: datetime, booked_at: datetime, timezone: str, hour: int, now: datetime) -> bool:
    """Due once its moment has come and the meeting has not started. A booking made after that
    moment has just had its confirmation: no reminder on top of it."""
    due = reminder_due_at(slot_start, timezone, hour)
    return due <= now < slot_start and booked_at < due
