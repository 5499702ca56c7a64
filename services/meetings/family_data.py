"""Meetings' part of a family's data (issue #21): the export of the bookings of a parent and their
children, and the erasure when auth erases the family.

A booking holds the parent's and the child's names and nothing that must outlive the family (no
money, no record the school is bound to keep): an erased family's bookings go, cancelled ones too,
with the stored answers to the parent's booking requests and the outbox rows already published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.privacy.v1 import privacy_pb2 as privacy_pb
from kit.db import Database
from kit.family_data import Export, json_file, purge_published
from kit.identity import Identity
from services.meetings import db
from services.meetings.use_cases.booking import idempotency_scope
from services.meetings.views import at


def _booking(r: Any, parent_id: str) -> dict[str, Any]:
    """One booking as the family reads it: times in the evening's zone. A booking another guardian
    made for the child shows the child's side only (not that guardian's name or account)."""
    tz = r.timezone
    own = r.account_id == parent_id
    return {
        "id": r.id,
        "booked_by_you": own,
        "parent_account_id": r.account_id if own else None,
        "parent_name": r.parent_name if own else None,
        "student_id": r.student_id,
        "child_name": r.child_name,
        "class_name": r.class_name,
        "evening_id": r.evening_id,
        "evening_title": r.evening_title,
        "evening_date": r.evening_date,
        "teacher_id": r.teacher_id,
        "teacher_name": r.teacher_name,
        "room": r.room,
        "slot_id": r.slot_id,
        "starts_at": at(r.starts_at, tz),
        "ends_at": at(r.ends_at, tz),
        "timezone": tz,
        "booked_at": at(r.booked_at, tz),
        "cancelled_at": at(r.cancelled_at, tz) if r.cancelled_at else None,
        "reminded_at": at(r.reminded_at, tz) if r.reminded_at else None,
    }


def exporter(database: Database) -> Export:
    """The service's ``export(identity, parent_id, student_ids)`` (the caller already checked by
    ``kit.family_data``): ``meetings/bookings.json``, the bookings of the caller's school made by the
    parent or for their children, cancelled ones included."""

    def export(ident: Identity, parent_id: str, student_ids: list[str]) -> list[privacy_pb.ExportFile]:
        with database.unit_of_work() as s:
            found = db.family_bookings(s, ident.school_id, parent_id, student_ids)
        return [json_file("meetings/bookings.json", [_booking(r, parent_id) for r in found])]

    return export


def erase(s: Session, event: auth_events.FamilyErased) -> None:
    """The family erased by auth, in its school: every booking made by its parents or for its erased
    children is deleted (standing ones free their slot), the parents' stored booking answers go and
    published outbox rows are purged. Running it again changes nothing."""
    parent_ids, student_ids = list(event.parent_ids), list(event.student_ids)
    db.delete_family_bookings(s, event.school_id, parent_ids, student_ids)
    if parent_ids:
        scopes = [idempotency_scope(p) for p in parent_ids]
        s.execute(delete(db.idempotency_keys).where(db.idempotency_keys.c.scope.in_(scopes)))
    purge_published(s, db.outbox)
