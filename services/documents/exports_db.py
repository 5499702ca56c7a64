"""The queries of ``data_exports`` (the table is in db.py with the service's others): a family's data
as one ZIP, requested, leased to a builder, ready for 7 days, then expired."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from services.documents.db import data_exports as t


def find(s: Session, school_id: str, export_id: str, *, lock: bool = False) -> Row | None:
    q = select(t).where(t.c.id == export_id, t.c.school_id == school_id)
    return s.execute(q.with_for_update() if lock else q).first()


def pending_for(s: Session, school_id: str, parent_id: str) -> Row | None:
    return s.execute(
        select(t).where(t.c.school_id == school_id, t.c.parent_id == parent_id, t.c.status == "pending")
    ).first()


def requested_since(s: Session, school_id: str, parent_id: str, since: datetime) -> list[datetime]:
    """When the parent's exports requested after ``since`` were asked for, oldest first."""
    return list(
        s.execute(
            select(t.c.requested_at)
            .where(t.c.school_id == school_id, t.c.parent_id == parent_id, t.c.requested_at > since)
            .order_by(t.c.requested_at)
        ).scalars()
    )


def insert(s: Session, school_id: str, parent_id: str, requested_by: str, at: datetime) -> str:
    """A new pending export; its id. Raises IntegrityError when the parent has one pending already."""
    export_id = str(uuid.uuid4())
    s.execute(
        t.insert().values(
            id=export_id,
            school_id=school_id,
            parent_id=parent_id,
            requested_by=requested_by,
            status="pending",
            requested_at=at,
            size_bytes=0,
        )
    )
    return export_id


def claim(s: Session, export_id: str, now: datetime, until: datetime) -> bool:
    """Take the lease of a pending export no builder holds (none, or run out by ``now``): one
    statement, so of two builders at once only one gets it."""
    result = s.execute(
        update(t)
        .where(
            t.c.id == export_id,
            t.c.status == "pending",
            or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
        )
        .values(lease_until=until)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def mark_ready(
    s: Session, export_id: str, blob_key: str, size_bytes: int, ready_at: datetime, expires_at: datetime
) -> None:
    s.execute(
        update(t)
        .where(t.c.id == export_id)
        .values(
            status="ready",
            blob_key=blob_key,
            size_bytes=size_bytes,
            ready_at=ready_at,
            expires_at=expires_at,
            lease_until=None,
        )
    )


def of_parent(s: Session, school_id: str, parent_id: str) -> Sequence[Row]:
    """The parent's exports, newest first."""
    return s.execute(
        select(t)
        .where(t.c.school_id == school_id, t.c.parent_id == parent_id)
        .order_by(t.c.requested_at.desc(), t.c.id.desc())
    ).all()


def to_expire(s: Session, now: datetime, abandoned_before: datetime) -> Sequence[Row]:
    """Every school's exports to expire: ready ones past their expiry, and pending ones requested
    before ``abandoned_before`` that no builder holds (their builder gave up: a new request may start)."""
    return s.execute(
        select(t).where(
            or_(
                and_(t.c.status == "ready", t.c.expires_at <= now),
                and_(
                    t.c.status == "pending",
                    t.c.requested_at < abandoned_before,
                    or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
                ),
            )
        )
    ).all()


def mark_expired(s: Session, export_id: str) -> None:
    s.execute(update(t).where(t.c.id == export_id).values(status="expired", blob_key=None, lease_until=None))


def of_parents(s: Session, school_id: str, parent_ids: list[str]) -> Sequence[Row]:
    return s.execute(select(t).where(t.c.school_id == school_id, t.c.parent_id.in_(parent_ids))).all()


def delete_of_parents(s: Session, school_id: str, parent_ids: list[str]) -> None:
    s.execute(delete(t).where(t.c.school_id == school_id, t.c.parent_id.in_(parent_ids)))
