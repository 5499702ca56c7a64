"""Documents: staff deposit a file for students, parents list and open them (read state per parent),
and the platform stores the PDFs it renders (invoices, credit notes).

Documents keeps no copy of a student's class, so it has nothing to follow in auth.student.updated.v1:
a deposit names its students (a deposit "for a class" is turned into that class's students by the
gateway, asking auth at the moment of the deposit), and a parent's albums go by the class their
identity token carries on every call. A child who left the school keeps their documents, read-only
as everything else of theirs, and may still be sent one (a last report)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from cartable.documents.v1 import documents_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound, TooLarge
from kit.identity import Identity
from kit.service import Runtime
from services.documents import db, events, views
from services.documents.blobstore import BlobStore
from services.documents.domain.files import PDF, RejectedFile, check_upload, clean_filename
from services.documents.use_cases.common import new_blob_key, require_students_here

log = logging.getLogger("documents")

MAX_STUDENTS_PER_DEPOSIT = 2000


class Documents:
    def __init__(self, rt: Runtime, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs
        self.max_bytes = rt.settings.max_upload_bytes

    def list_documents(
        self, who: Identity, student_id: str, state: str = "", limit: int = 0, cursor: str = ""
    ) -> pb.ListDocumentsResponse:
        """The student's documents, newest first, with the caller's own read state and unread count;
        ``state`` "unread" or "read" keeps those only; pages of ``limit`` (1 to 200, else 50)."""
        who.require_student(student_id)
        if state not in ("", "unread", "read"):
            raise InvalidRequest("state must be unread or read", fields={"state": "unread | read"})
        limit = limit if 0 < limit <= 200 else 50
        offset = int(cursor) if cursor.isdigit() else 0
        with self.rt.db.unit_of_work() as s:
            require_students_here(s, who, [student_id])
            rows, total, unread = db.document_page(
                s,
                who.school_id,
                who.account_id,
                student_id,
                state,
                limit,
                offset,
                parent=who.role == "parent",
            )
        return pb.ListDocumentsResponse(
            documents=[views.document_pb(row, row.read_at) for row in rows],
            next_cursor=str(offset + limit) if offset + limit < total else "",
            unread_count=unread,
        )

    def open_document(self, who: Identity, document_id: str) -> pb.OpenDocumentResponse:
        """The file; the first opening marks it read for this account only (other parents keep it unread)."""
        with self.rt.db.unit_of_work() as s:
            row = db.find_document(s, who.school_id, document_id)
            if row is None:
                raise NotFound("no such document")
            who.require_owner(row.student_id)  # another family's document does not exist for this caller
            if who.role == "parent" and row.for_account_id not in (None, who.account_id):
                raise NotFound("no such document")  # the other parent's own (a tax certificate)
            read_at = db.read_at(s, document_id, who.account_id)
            if read_at is None and who.role == "parent":
                read_at = self.rt.clock()
                db.mark_read(s, document_id, who.account_id, read_at)
        try:
            content = self.blobs.get(row.blob_key)
        except FileNotFoundError:
            log.error("blob missing", extra={"document_id": document_id})
            raise NotFound("the file is missing; the school has been told") from None
        return pb.OpenDocumentResponse(document=views.document_pb(row, read_at), content=content)

    def deposit_document(
        self, who: Identity, title: str, filename: str, content: bytes, student_ids: list[str]
    ) -> pb.DepositDocumentResponse:
        """Staff deposit one file for several students: one document each, one stored file. Any student
        of another school (see ``require_students_here``) refuses the whole deposit: not_found."""
        who.require_staff()
        title = (title or "").strip()
        fields = {}
        if not title or len(title) > 300:
            fields["title"] = "required, at most 300 characters"
        ids = list(dict.fromkeys(sid.strip() for sid in student_ids if sid.strip()))
        if not ids:
            fields["student_ids"] = "at least one student"
        if len(ids) > MAX_STUDENTS_PER_DEPOSIT:
            fields["student_ids"] = f"at most {MAX_STUDENTS_PER_DEPOSIT} students at once"
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
        with self.rt.db.unit_of_work() as s:  # before the file is stored: a refusal writes nothing
            require_students_here(s, who, ids)
        key = new_blob_key(kind.extension)
        self.blobs.put(key, content, kind.content_type)
        now = self.rt.clock()
        made = []
        try:
            with self.rt.db.unit_of_work() as s:
                for sid in ids:
                    doc_id = db.insert_document(
                        s,
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
                    events.document_deposited(self.rt, s, who.school_id, doc_id, sid, title)
                    made.append(pb.DepositedDocument(id=doc_id, student_id=sid))
                audit.record(
                    self.rt,
                    s,
                    who,
                    "documents.document.deposited",
                    "document",
                    made[0].id,
                    f"{title}, {len(made)} students",
                )
        except Exception:
            self.blobs.delete(key)  # nothing refers to it
            raise
        return pb.DepositDocumentResponse(documents=made)

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
        """A platform-made PDF (invoice, credit note), once per ``ref`` even if the event comes twice;
        in the event handler's transaction. The new document's id, None when it was already there."""
        if db.document_id_for_ref(s, ref):
            return None
        key = new_blob_key(PDF.extension)
        self.blobs.put(key, pdf, PDF.content_type)
        doc_id = db.insert_document(
            s,
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
        events.document_deposited(self.rt, s, school_id, doc_id, student_id, title)
        return doc_id
