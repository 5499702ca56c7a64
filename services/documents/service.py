"""Use cases of the documents service, one unit of work each."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cartable.documents.v1 import events_pb2
from kit.errors import InvalidRequest, NotFound, TooLarge
from kit.identity import Identity
from kit.service import Runtime
from services.documents.blobstore import BlobStore, open_blob_store
from services.documents.db import document_reads, documents
from services.documents.domain.files import PDF, RejectedFile, check_upload, clean_filename

log = logging.getLogger("documents")


@dataclass(frozen=True)
class DocumentView:
    id: str
    student_id: str
    title: str
    deposited_at: datetime
    read_at: datetime | None
    content_type: str
    size_bytes: int
    filename: str
    source: str


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC)


def _view(row, read_at=None) -> DocumentView:
    return DocumentView(
        row.id,
        row.student_id,
        row.title,
        _aware(row.deposited_at),
        _aware(read_at),
        row.content_type,
        row.size_bytes,
        row.filename,
        row.source,
    )


def new_blob_key(extension: str) -> str:
    u = str(uuid.uuid4())
    return f"{u[:2]}/{u}.{extension}"


class DocumentsService:
    def __init__(self, rt: Runtime, blobs: BlobStore | None = None) -> None:
        self.rt = rt
        self.blobs = blobs or open_blob_store(rt.settings.blob_store_url)
        self.max_bytes = rt.settings.max_upload_bytes

    def list_documents(
        self, who: Identity, student_id: str, state: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[list[DocumentView], int, int]:
        """The student's documents with the caller's own read state; (page, total, unread_count)."""
        who.require_student(student_id)
        if state not in ("", "unread", "read"):
            raise InvalidRequest("state must be unread or read", fields={"state": "unread | read"})
        d, r = documents, document_reads
        joined = d.outerjoin(r, and_(r.c.document_id == d.c.id, r.c.account_id == who.account_id))
        mine = and_(d.c.student_id == student_id, d.c.school_id == who.school_id)
        with self.rt.db.unit_of_work() as s:
            unread = s.execute(
                select(func.count()).select_from(joined).where(mine, r.c.read_at.is_(None))
            ).scalar_one()
            q = select(d, r.c.read_at).select_from(joined).where(mine)
            if state == "unread":
                q = q.where(r.c.read_at.is_(None))
            elif state == "read":
                q = q.where(r.c.read_at.is_not(None))
            total = s.execute(select(func.count()).select_from(q.subquery())).scalar_one()
            rows = s.execute(q.order_by(d.c.deposited_at.desc(), d.c.id).limit(limit).offset(offset)).all()
        return [_view(row, row.read_at) for row in rows], total, unread

    def open_document(self, who: Identity, document_id: str) -> tuple[DocumentView, bytes]:
        """The file; the first opening marks it read for this account only (other parents keep it unread)."""
        with self.rt.db.unit_of_work() as s:
            row = s.execute(
                select(documents).where(documents.c.id == document_id, documents.c.school_id == who.school_id)
            ).first()
            if row is None:
                raise NotFound("no such document")
            who.require_owner(row.student_id)  # another family's document does not exist for this caller
            read_at = s.execute(
                select(document_reads.c.read_at).where(
                    document_reads.c.document_id == document_id, document_reads.c.account_id == who.account_id
                )
            ).scalar_one_or_none()
            if read_at is None and who.role == "parent":
                read_at = self.rt.clock()
                s.execute(
                    document_reads.insert().values(
                        document_id=document_id, account_id=who.account_id, read_at=read_at
                    )
                )
        try:
            content = self.blobs.get(row.blob_key)
        except FileNotFoundError:
            log.error("blob missing", extra={"document_id": document_id})
            raise NotFound("the file is missing; the school has been told") from None
        return _view(row, read_at), content

    def deposit(
        self, who: Identity, title: str, filename: str, content: bytes, student_ids: list[str]
    ) -> list[tuple[str, str]]:
        """Staff deposit one file for several students: one document each, one stored file."""
        who.require_staff()
        title = (title or "").strip()
        fields = {}
        if not title or len(title) > 300:
            fields["title"] = "required, at most 300 characters"
        ids = list(dict.fromkeys(sid.strip() for sid in student_ids if sid.strip()))
        if not ids:
            fields["student_ids"] = "at least one student"
        if len(ids) > 2000:
            fields["student_ids"] = "at most 2000 students at once"
        try:
            kind = check_upload(content, self.max_bytes)
        except RejectedFile as e:
            if e.code == "too_large":
                raise TooLarge(e.message) from None
            fields["file"] = e.message
            kind = None
        if fields:
            raise InvalidRequest("the document cannot be deposited", fields=fields)
        assert kind is not None
        key = new_blob_key(kind.extension)
        self.blobs.put(key, content, kind.content_type)
        now = self.rt.clock()
        out = []
        try:
            with self.rt.db.unit_of_work() as s:
                for sid in ids:
                    doc_id = str(uuid.uuid4())
                    s.execute(
                        documents.insert().values(
                            id=doc_id,
                            school_id=who.school_id,
                            student_id=sid,
                            title=title,
                            filename=clean_filename(filename, kind),
                            content_type=kind.content_type,
                            size_bytes=len(content),
                            blob_key=key,
                            source="deposit",
                            source_ref=None,
                            deposited_at=now,
                        )
                    )
                    self.rt.record(
                        s,
                        "documents.document.deposited.v1",
                        events_pb2.DocumentDeposited(document_id=doc_id, student_id=sid, title=title),
                        who.school_id,
                    )
                    out.append((doc_id, sid))
        except Exception:
            self.blobs.delete(key)  # nothing refers to it
            raise
        return out

    def store_rendered(
        self,
        s: Session,
        school_id: str,
        student_id: str,
        title: str,
        filename: str,
        pdf: bytes,
        source: str,
        ref: str,
    ) -> str | None:
        """A platform-made PDF (invoice, credit note), once per ``ref`` even if the event comes twice."""
        existing = s.execute(select(documents.c.id).where(documents.c.source_ref == ref)).scalar_one_or_none()
        if existing:
            return None
        key = new_blob_key(PDF.extension)
        self.blobs.put(key, pdf, PDF.content_type)
        doc_id = str(uuid.uuid4())
        s.execute(
            documents.insert().values(
                id=doc_id,
                school_id=school_id,
                student_id=student_id,
                title=title,
                filename=filename,
                content_type=PDF.content_type,
                size_bytes=len(pdf),
                blob_key=key,
                source=source,
                source_ref=ref,
                deposited_at=self.rt.clock(),
            )
        )
        self.rt.record(
            s,
            "documents.document.deposited.v1",
            events_pb2.DocumentDeposited(document_id=doc_id, student_id=student_id, title=title),
            school_id,
        )
        return doc_id
