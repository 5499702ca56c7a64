"""Periodic statements' PDFs (issue #19): rendered on demand for staff (the download and the preview
of /gestion/decomptes), filed in a student's documents from finance.periodic_statement.issued.v1, and
listed for the staff's "what was sent".

A statement is filed once per (student, period): its ``source_ref`` is
``periodic_statement:<student>:<from>:<to>``, so sending the same period again (another key, the event
delivered twice) files nothing more and announces nothing more. Only a statement newly filed makes
``documents.periodic_statement.filed.v1``, which notifications mails to the parents (a statement is not
announced as an ordinary deposit: it has its own mail, with the period and what remains to pay)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cartable.documents.v1 import statements_pb2 as pb
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from kit.identity import Identity
from kit.service import Runtime
from services.documents import db, statement_pdf
from services.documents.blobstore import BlobStore
from services.documents.domain.files import PDF
from services.documents.use_cases.common import new_blob_key
from services.documents.views import instant

SOURCE = "periodic_statement"
FILED = "documents.periodic_statement.filed.v1"


def source_ref(student_id: str, first: str, last: str) -> str:
    return f"{SOURCE}:{student_id}:{first}:{last}"


class StatementDocuments:
    def __init__(self, rt: Runtime, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs

    def render_periodic_statement(
        self, who: Identity, req: pb.RenderPeriodicStatementRequest
    ) -> pb.RenderPeriodicStatementResponse:
        """The statement's PDF, as filed when sent (staff only: finance computed it for their school)."""
        who.require_staff()
        lang = statement_pdf.language(req.language)
        return pb.RenderPeriodicStatementResponse(
            content=statement_pdf.render_statement(req.statement, lang),
            filename=statement_pdf.filename(req.statement, lang),
        )

    def list_statement_documents(
        self, who: Identity, req: pb.ListStatementDocumentsRequest
    ) -> pb.ListStatementDocumentsResponse:
        """The statements filed in the school's students' documents, newest first."""
        who.require_staff()
        limit = req.limit if 0 < req.limit <= 200 else 50
        offset = int(req.cursor) if req.cursor.isdigit() else 0
        d = db.documents
        mine = (d.c.school_id == who.school_id) & (d.c.source == SOURCE)
        with self.rt.db.unit_of_work() as s:
            total = s.execute(select(func.count()).select_from(d).where(mine)).scalar_one()
            rows = s.execute(
                select(d).where(mine).order_by(d.c.deposited_at.desc(), d.c.id).limit(limit).offset(offset)
            ).all()
        out = pb.ListStatementDocumentsResponse(
            next_cursor=str(offset + limit) if offset + limit < total else ""
        )
        for r in rows:
            _, _, first, last = (r.source_ref or "::::").split(":", 3)
            out.documents.append(
                pb.StatementDocument(
                    document_id=r.id,
                    student_id=r.student_id,
                    title=r.title,
                    from_date=first,
                    to_date=last,
                    deposited_at=instant(r.deposited_at),
                )
            )
        return out

    def file_statement(self, s: Session, school_id: str, ev: fpb.PeriodicStatementIssued) -> str | None:
        """File the statement's PDF in the student's documents, once per period and student; in the
        event handler's transaction. The new document's id, None when it was there already."""
        st = ev.statement
        ref = source_ref(st.student_id, st.from_date, st.to_date)
        if db.document_id_for_ref(s, ref):
            return None
        lang = statement_pdf.language(ev.language)
        content = statement_pdf.render_statement(st, lang)
        key = new_blob_key(PDF.extension)
        self.blobs.put(key, content, PDF.content_type)
        title = statement_pdf.document_title(st, lang)
        doc_id = db.insert_document(
            s,
            school_id=school_id,
            student_id=st.student_id,
            title=title,
            filename=statement_pdf.filename(st, lang),
            content_type=PDF.content_type,
            size_bytes=len(content),
            blob_key=key,
            source=SOURCE,
            source_ref=ref,
            deposited_at=self.rt.clock(),
        )
        self.rt.record(
            s,
            FILED,
            pb.PeriodicStatementFiled(
                document_id=doc_id,
                student_id=st.student_id,
                title=title,
                from_date=st.from_date,
                to_date=st.to_date,
                total_cents=st.total_cents,
                paid_cents=st.paid_cents,
                open_cents=st.open_cents,
                student_name=st.student_name,
            ),
            school_id,
        )
        return doc_id
