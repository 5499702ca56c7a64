"""Queries of the audit log: keeping an entry (once) and reading a school's, newest first. There is no
update nor delete here, on purpose: the log is append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.auth.db import audit_entries


def keep_entry(s: Session, **values) -> bool:
    """Insert an entry; False when one with this id (the event's) is kept already."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    q = (
        insert(audit_entries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[audit_entries.c.id])
        .returning(audit_entries.c.seq)  # no row back when nothing was inserted (rowcount is not told)
    )
    return s.execute(q).first() is not None


def entries(s: Session, school_id: str, limit: int, after: tuple[datetime, int] | None) -> list[Row]:
    """Up to ``limit`` entries of the school, newest first (by when the action was done, then as
    they were kept), those after the ``(at, seq)`` of the previous page's last one."""
    t = audit_entries
    q = select(t).where(t.c.school_id == school_id)
    if after is not None:
        at, seq = after
        q = q.where(or_(t.c.at < at, and_(t.c.at == at, t.c.seq < seq)))
    return list(s.execute(q.order_by(t.c.at.desc(), t.c.seq.desc()).limit(limit)).all())
