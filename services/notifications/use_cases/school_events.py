"""The school's calendar: staff publish events for the whole school or some classes; parents read
the upcoming ones of their child."""

from __future__ import annotations

import uuid

from cartable.notifications.v1 import notifications_pb2 as pb
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.instants import parse_instant
from kit.service import Runtime
from services.notifications import db, views


class SchoolEvents:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_events(self, who: Identity, student_id: str, limit: int = 20) -> pb.ListEventsResponse:
        """Upcoming events of the caller's school; for a student, those of the whole school or their class.
        Staff naming a student the contact book knows only in another school: not_found (a staff token
        names no student; a parent's names their children)."""
        class_name = None
        if student_id:
            who.require_student(student_id)
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

    def create_event(self, who: Identity, req: pb.CreateEventRequest) -> pb.CreateEventResponse:
        """The school publishes an event for the whole school (no classes) or some classes."""
        who.require_staff()
        fields = {}
        title = (req.title or "").strip()
        if not title or len(title) > 200:
            fields["title"] = "required, at most 200 characters"
        start = end = None
        try:
            start = parse_instant(req.starts_at, "starts_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        try:
            end = parse_instant(req.ends_at or req.starts_at, "ends_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        if start and end and end < start:
            fields["ends_at"] = "must not be before starts_at"
        if fields:
            raise InvalidRequest("the event is not valid", fields=fields)
        assert start and end
        event_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            db.insert_school_event(
                s,
                id=event_id,
                school_id=who.school_id,
                title=title,
                description=(req.description or "").strip(),
                starts_at=start,
                ends_at=end,
                class_names=sorted({c.strip() for c in req.class_names if c.strip()}),
                now=self.rt.clock(),
            )
        return pb.CreateEventResponse(id=event_id)
