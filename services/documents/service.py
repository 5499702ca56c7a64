"""Use cases of the documents service, one unit of work each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select

from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.documents.db import document_reads, documents


@dataclass(frozen=True)
class DocumentView:
    id: str
    student_id: str
    title: str
    deposited_at: datetime
    read_at: datetime | None
    content_type: str
    size_bytes: int


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC)


class DocumentsService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_documents(
        self, who: Identity, student_id: str, state: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[list[DocumentView], int, int]:
        """The student's documents with the caller's own read state; (page, total, unread_count)."""
        who.require_student(student_id)
        if state not in ("", "unread", "read"):
            raise InvalidRequest("state must be unread or read", fields={"state": "unread | read"})
        d, r = documents, document_reads
        joined = d.outerjoin(r, and_(r.c.document_id == d.c.id, r.c.account_id == who.account_id))
        base = select(d, r.c.read_at).select_from(joined).where(
            d.c.student_id == student_id, d.c.school_id == who.school_id
        )
        with self.rt.db.unit_of_work() as s:
            unread = s.execute(
                select(func.count()).select_from(joined).where(
                    d.c.student_id == student_id, d.c.school_id == who.school_id, r.c.read_at.is_(None)
                )
            ).scalar_one()
            q = base
            if state == "unread":
                q = q.where(r.c.read_at.is_(None))
            elif state == "read":
                q = q.where(r.c.read_at.is_not(None))
            total = s.execute(select(func.count()).select_from(q.subquery())).scalar_one()
            rows = s.execute(q.order_by(d.c.deposited_at.desc(), d.c.id).limit(limit).offset(offset)).all()
        items = [
            DocumentView(
                row.id, row.student_id, row.title, _aware(row.deposited_at), _aware(row.read_at),
                row.content_type, row.size_bytes,
            )
            for row in rows
        ]
        return items, total, unread
