"""Use cases of the notifications service, one unit of work each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select

from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.notifications.db import school_events


@dataclass(frozen=True)
class SchoolEvent:
    id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    class_names: tuple[str, ...]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _parse_instant(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequest("invalid date", fields={field: "expected an RFC 3339 instant"}) from None
    if dt.tzinfo is None:
        raise InvalidRequest("invalid date", fields={field: "the instant needs an offset"})
    return dt.astimezone(UTC)


class NotificationsService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_events(self, who: Identity, student_id: str, limit: int = 20) -> list[SchoolEvent]:
        """Upcoming events of the caller's school; for a student, those of the whole school or their class."""
        class_name = None
        if student_id:
            who.require_student(student_id)
            class_name = who.students.get(student_id, "")
        limit = max(1, min(limit or 20, 200))
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            q = (
                select(school_events)
                .where(school_events.c.school_id == who.school_id, school_events.c.ends_at >= now)
                .order_by(school_events.c.starts_at)
            )
            if class_name is not None:
                q = q.where(
                    or_(
                        school_events.c.class_names == "",
                        school_events.c.class_names.contains(class_name),
                    )
                )
            rows = s.execute(q.limit(limit * 4)).all()
        out = []
        for r in rows:
            classes = tuple(c for c in r.class_names.split("\n") if c)
            if class_name is not None and classes and class_name not in classes:
                continue  # substring match above was only a pre-filter
            out.append(
                SchoolEvent(r.id, r.title, r.description, _aware(r.starts_at), _aware(r.ends_at), classes)
            )
        return out[:limit]

    def create_event(
        self, who: Identity, title: str, description: str, starts_at: str, ends_at: str, class_names: list[str]
    ) -> str:
        """The school publishes an event for the whole school (no classes) or some classes."""
        who.require_staff()
        fields = {}
        title = (title or "").strip()
        if not title or len(title) > 200:
            fields["title"] = "required, at most 200 characters"
        start = end = None
        try:
            start = _parse_instant(starts_at, "starts_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        try:
            end = _parse_instant(ends_at or starts_at, "ends_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        if start and end and end < start:
            fields["ends_at"] = "must not be before starts_at"
        if fields:
            raise InvalidRequest("the event is not valid", fields=fields)
        classes = sorted({c.strip() for c in class_names if c.strip()})
        event_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            s.execute(
                school_events.insert().values(
                    id=event_id,
                    school_id=who.school_id,
                    title=title,
                    description=(description or "").strip(),
                    starts_at=start,
                    ends_at=end,
                    class_names="\n".join(classes),
                    created_at=self.rt.clock(),
                )
            )
        return event_id
