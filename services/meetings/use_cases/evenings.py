"""Staff set up a meeting evening (its teachers, their classes and slots) and read its schedule."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cartable.meetings.v1 import meetings_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.meetings import db, views
from services.meetings.domain.evening import EveningPlan, PlanError, plan_evening
from services.meetings.use_cases.common import Config, now, utc


def _evening(s: Session, who: Identity, evening_id: str):
    row = db.evening_of_school(s, who.school_id, evening_id)
    if row is None:
        raise NotFound("no such meeting evening")
    return row


def _rows(plan: EveningPlan, evening_id: str) -> tuple[list[dict], list[dict], list[dict]]:
    """The plan as rows of the teachers, teacher_classes and slots tables."""
    times = plan.slot_times()
    teacher_rows, class_rows, slot_rows = [], [], []
    for t in plan.teachers:
        tid = str(uuid.uuid4())
        teacher_rows.append(
            {
                "id": tid,
                "evening_id": evening_id,
                "name": t.name,
                "room": t.room,
                "account_id": t.account_id or None,
            }
        )
        class_rows += [{"teacher_id": tid, "class_name": c} for c in t.class_names]
        slot_rows += [
            {
                "id": str(uuid.uuid4()),
                "evening_id": evening_id,
                "teacher_id": tid,
                "starts_at": utc(a),
                "ends_at": utc(b),
            }
            for a, b in times
        ]
    return teacher_rows, class_rows, slot_rows


class Evenings:
    def __init__(self, rt: Runtime, config: Config) -> None:
        self.rt = rt
        self.config = config

    def create_evening(self, who: Identity, req: pb.CreateEveningRequest) -> pb.CreateEveningResponse:
        """A meeting evening: its teachers with their classes, and every teacher's slots."""
        who.require_staff()
        try:
            plan = plan_evening(
                title=req.title,
                day=req.date,
                start_time=req.start_time,
                end_time=req.end_time,
                slot_minutes=req.slot_minutes,
                opens_at=req.opens_at,
                closes_at=req.closes_at,
                teachers=[(t.name, t.room, list(t.class_names), t.account_id) for t in req.teachers],
                timezone=self.config.timezone,
            )
        except PlanError as e:
            raise InvalidRequest("the meeting evening is not valid", fields=e.fields) from None
        evening_id = str(uuid.uuid4())
        teacher_rows, class_rows, slot_rows = _rows(plan, evening_id)
        with self.rt.db.unit_of_work() as s:
            db.insert_evening(
                s,
                {
                    "id": evening_id,
                    "school_id": who.school_id,
                    "title": plan.title,
                    "date": plan.day,
                    "timezone": plan.timezone,
                    "starts_at": utc(plan.starts_at),
                    "ends_at": utc(plan.ends_at),
                    "slot_minutes": plan.slot_minutes,
                    "opens_at": utc(plan.opens_at),
                    "closes_at": utc(plan.closes_at),
                    "created_by": who.account_id,
                    "created_at": now(self.rt),
                },
                teacher_rows,
                class_rows,
                slot_rows,
            )
            evening = _evening(s, who, evening_id)
            audit.record(
                self.rt,
                s,
                who,
                "meetings.evening.created",
                "evening",
                evening_id,
                f"{plan.title}, {plan.day}",
            )
        teachers = [
            views.teacher(r["id"], t, t.class_names) for r, t in zip(teacher_rows, plan.teachers, strict=True)
        ]
        teachers.sort(key=lambda t: t.name.casefold())
        return pb.CreateEveningResponse(
            evening=views.evening(evening),
            teachers=teachers,
            slot_count=len(slot_rows),
        )

    def list_evenings(self, who: Identity) -> pb.ListEveningsResponse:
        """Every evening of the school, latest first, with how full it is."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = db.evenings_of_school(s, who.school_id)
            teachers, slot_counts, booked = db.evening_counts(s, [r.id for r in rows])
        return pb.ListEveningsResponse(
            evenings=[
                pb.EveningSummary(
                    evening=views.evening(r),
                    teacher_count=teachers.get(r.id, 0),
                    slot_count=slot_counts.get(r.id, 0),
                    booked_count=booked.get(r.id, 0),
                )
                for r in rows
            ]
        )

    def schedule(self, who: Identity, evening_id: str, teacher_id: str = "") -> pb.GetScheduleResponse:
        """Each teacher's slots, free or with the child, class and parent who booked them."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            evening = _evening(s, who, evening_id)
            teachers = db.teachers_of_evening(s, evening_id, teacher_id)
            if teacher_id and not teachers:
                raise NotFound("no such teacher at this evening")
            tids = [t.id for t in teachers]
            classes = db.classes_of(s, tids)
            slot_rows = db.slots_of(s, tids)
            taken = db.standing_bookings_by_slot(s, tids)
        tz = evening.timezone
        by_teacher: dict[str, list[pb.ScheduleSlot]] = {t: [] for t in tids}
        for sl in slot_rows:
            entry = pb.ScheduleSlot(slot=views.slot_of(sl, tz))
            b = taken.get(sl.id)
            if b is not None:
                entry.booking.CopyFrom(views.scheduled_booking(b, tz))
            by_teacher[sl.teacher_id].append(entry)
        return pb.GetScheduleResponse(
            evening=views.evening(evening),
            teachers=[
                pb.TeacherSchedule(teacher=views.teacher(t.id, t, classes[t.id]), slots=by_teacher[t.id])
                for t in teachers
            ],
        )
