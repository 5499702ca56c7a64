"""finance.tax_certificate.issued.v1 becomes a PDF in the paying parent's documents: filed under the
child, for that parent only (``for_account_id``: the child's other parent does not see it; staff do),
one document per certificate version, under the id finance chose for it (``certificate.document_id``,
so finance's list names it), once even if the event comes twice."""

from __future__ import annotations

from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.bus import Binding
from services.documents import db, events, tax_certificate_pdf
from services.documents.domain.files import PDF
from services.documents.use_cases.common import new_blob_key
from services.documents.use_cases.documents import Documents

ROUTING_KEY = "finance.tax_certificate.issued.v1"
SOURCE = "tax_certificate"


def store_certificate(
    documents: Documents, session, school_id: str, ev: tpb.TaxCertificateIssued
) -> str | None:
    """The certificate's PDF filed for the child; its document id, None when it was already there."""
    c = ev.certificate
    ref = f"{SOURCE}:{c.id}"
    if db.document_id_for_ref(session, ref):
        return None
    content = tax_certificate_pdf.render_certificate(ev)
    key = new_blob_key(PDF.extension)
    documents.blobs.put(key, content, PDF.content_type)
    title = tax_certificate_pdf.document_title(ev)
    session.execute(
        db.documents.insert().values(
            id=c.document_id,
            school_id=school_id,
            student_id=c.student_id,
            title=title,
            filename=tax_certificate_pdf.filename(ev),
            content_type=PDF.content_type,
            size_bytes=len(content),
            blob_key=key,
            source=SOURCE,
            source_ref=ref,
            deposited_at=documents.rt.clock(),
            for_account_id=c.parent_id,  # the payer's own: the child's other parent does not see it
        )
    )
    events.document_deposited(documents.rt, session, school_id, c.document_id, c.student_id, title)
    return c.document_id


def bindings(documents: Documents) -> dict[str, Binding]:
    def issued(session, env, ev: tpb.TaxCertificateIssued) -> None:
        store_certificate(documents, session, env.school_id, ev)

    return {ROUTING_KEY: Binding(tpb.TaxCertificateIssued, issued)}
