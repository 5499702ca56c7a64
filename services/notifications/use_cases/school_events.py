"""The school's calendar: staff publish, list, change and delete events for the whole school or some
classes; parents read the upcoming ones of their child.

Every staff call acts on the caller's school only: another school's event id is not_found, as an id
that never existed, and nothing is written. A change or a deletion is what parents read at once (their
ListEvents reads the same table); nobody is mailed about it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from cartable.notifications.v1 import notifications_pb2 as pb
from kit import audit
from kit.dates import BRUSSELS
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.instants import parse_instant
from kit.service import Runtime
from services.notifications import db, views
from services.notifications.db import aware
from services.notifications.domain.school_events import clean_class_names, day_range, parse_day, problems

# What one staff listing answers at most (a school year holds a few hundred events).
MAX_LISTED = 1000
# The fields UpdateEventRequest may set, as the audit entry names those a change set.
_FIELDS = ("title", "description", "starts_at", "ends_at", "class_names")


def _event_values(
    title: str,
    description: str,
    starts_at: str | datetime,
    ends_at: str | datetime,
    class_names: Iterable[str],
) -> dict:
    """The event as stored, or InvalidRequest naming every wrong field at once. Instants come as the
    caller's RFC 3339 text or, for fields an update leaves alone, as stored; an empty ``ends_at``
    is the start."""
    fields: dict[str, str] = {}

    def instant(value: str | datetime, name: str) -> datetime | None:
        if isinstance(value, datetime):
            return aware(value)
        try:
            return parse_instant(value, name)
        except InvalidRequest as e:
            fields.update(e.fields)
            return None

    title, description = (title or "").strip(), (description or "").strip()
    classes = clean_class_names(class_names)
    start, end = instant(starts_at, "starts_at"), instant(ends_at or starts_at, "ends_at")
    fields.update(problems(title, description, start, end, classes))
    if fields:
        raise InvalidRequest("the event is not valid", fields=fields)
    return dict(title=title, description=description, starts_at=start, ends_at=end, class_names=classes)


def _event_here(s, who: Identity, event_id: str):
    """The caller's school's event, or not_found (another school's id is answered as a made-up one)."""
    row = db.school_event(s, who.school_id, event_id) if event_id else None
    if row is None:
        raise NotFound("no such event")
    return row


class SchoolEvents:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_events(self, who: Identity, student_id: str, limit: int = 20) -> pb.ListEventsResponse:
        """Upcoming events of the caller's school; for a student, those of the whole school or their class
        (the class the parent's token carries on every call: a class change shows at the next call, no
        copy of it is kept here); none for a child who left the school. Staff naming a student the
        contact book knows only in another school: not_found (a staff token names no student; a
        parent's names their children)."""
        class_name = None
        if student_id:
            who.require_student(student_id)
            if who.is_left(student_id):  # the school's life goes on without them
                return pb.ListEventsResponse()
            class_name = who.students.get(student_id, "")
        limit = max(1, min(limit or 20, 200))
        with self.rt.db.unit_of_work() as s:
            if (
                student_id
                and who.role != "parent"
                and db.student_known_elsewhere(s, who.school_id, student_id)
            ):
                raise NotFound("no such student")
            rows = db.upcoming_school_events(s, who.school_id, self.rt.clock(), class_name, limit)
        return pb.ListEventsResponse(events=[views.school_event(r) for r in rows])

    def list_school_events(
        self, who: Identity, req: pb.ListSchoolEventsRequest
    ) -> pb.ListSchoolEventsResponse:
        """Staff: the school's events starting from ``from_date`` to ``to_date`` (days of the school's
        time zone, both included; either may be empty), soonest first, at most MAX_LISTED."""
        who.require_staff()
        fields: dict[str, str] = {}
        days = {}
        for name, text in (("from", req.from_date), ("to", req.to_date)):
            try:
                days[name] = parse_day(text)
            except ValueError as e:
                fields[name] = str(e)
        if fields:
            raise InvalidRequest("the dates are not valid", fields=fields)
        try:
            start, end = day_range(days["from"], days["to"], BRUSSELS)
        except ValueError as e:
            raise InvalidRequest("the dates are not valid", fields={"to": str(e)}) from None
        with self.rt.db.unit_of_work() as s:
            rows = db.school_events_between(s, who.school_id, start, end, MAX_LISTED)
        return pb.ListSchoolEventsResponse(events=[views.school_event(r) for r in rows])

    def get_event(self, who: Identity, event_id: str) -> pb.GetEventResponse:
        """Staff: one of the school's events (another school's: not_found)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = _event_here(s, who, event_id)
        return pb.GetEventResponse(event=views.school_event(row))

    def create_event(self, who: Identity, req: pb.CreateEventRequest) -> pb.CreateEventResponse:
        """The school publishes an event for the whole school (no classes) or some classes."""
        who.require_staff()
        values = _event_values(req.title, req.description, req.starts_at, req.ends_at, req.class_names)
        event_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            db.insert_school_event(s, id=event_id, school_id=who.school_id, now=self.rt.clock(), **values)
            audit.record(
                self.rt,
                s,
                who,
                "notifications.event.created",
                "school_event",
                event_id,
                f"{values['title']}, {req.starts_at}",
            )
        return pb.CreateEventResponse(id=event_id)

    def update_event(self, who: Identity, req: pb.UpdateEventRequest) -> pb.UpdateEventResponse:
        """Staff change any of an event's fields (those set in the request); the event as it then is
        must pass the same checks as a new one, or nothing changes."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = _event_here(s, who, req.event_id)

            def given(name: str, stored):
                return getattr(req, name) if req.HasField(name) else stored

            values = _event_values(
                given("title", row.title),
                given("description", row.description),
                given("starts_at", row.starts_at),
                given("ends_at", row.ends_at),
                req.class_names.names if req.HasField("class_names") else db.class_names_of(row),
            )
            db.update_school_event(s, id=row.id, school_id=who.school_id, **values)
            audit.record(
                self.rt,
                s,
                who,
                "notifications.event.updated",
                "school_event",
                row.id,
                "changed: " + ", ".join(f for f in _FIELDS if req.HasField(f)),
            )
            row = db.school_event(s, who.school_id, row.id)
        return pb.UpdateEventResponse(event=views.school_event(row))

    def delete_event(self, who: Identity, event_id: str) -> pb.DeleteEventResponse:
        """Staff delete an event: parents no longer see it, from the next read on."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            if not db.delete_school_event(s, who.school_id, event_id):
                raise NotFound("no such event")
            audit.record(self.rt, s, who, "notifications.event.deleted", "school_event", event_id)
        return pb.DeleteEventResponse()
