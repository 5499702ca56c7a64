"""Use cases of the orders service, one unit of work each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from kit.identity import Identity
from kit.service import Runtime
from services.orders.db import order_periods


@dataclass(frozen=True)
class Period:
    id: str
    title: str
    notes: str
    opens_at: datetime
    closes_at: datetime
    class_names: tuple[str, ...]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class OrdersService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_open_periods(self, who: Identity, student_id: str) -> list[Period]:
        """The periods open now for the student's class (or for every class)."""
        who.require_student(student_id)
        class_name = who.students.get(student_id)
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(order_periods)
                .where(
                    order_periods.c.school_id == who.school_id,
                    order_periods.c.opens_at <= now,
                    order_periods.c.closes_at > now,
                )
                .order_by(order_periods.c.closes_at)
            ).all()
        out = []
        for r in rows:
            classes = tuple(c for c in r.class_names.split("\n") if c)
            if classes and class_name is not None and class_name not in classes:
                continue
            out.append(Period(r.id, r.title, r.notes, _aware(r.opens_at), _aware(r.closes_at), classes))
        return out
