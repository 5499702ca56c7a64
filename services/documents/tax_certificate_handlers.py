"""finance.tax_certificate.issued.v1 becomes a PDF in the paying parent's documents: filed under the
child, for that parent only (``for_account_id``: the child's other parent does not see it; staff do),
one document per certificate version, under the id finance chose for it (``certificate.document_id``,
so finance's list names it), once even if the event comes twice.

The certificate's national numbers come sealed (``kit.secretbox``, key ``NATIONAL_NUMBER_KEY``, the
one finance seals with): they are opened for the PDF alone, kept nowhere else and never logged. A
number sealed with another key fails the event loudly (ValueError, naming no number): it is retried,
then dead-lettered, never filed with a wrong or missing number."""

from __future__ import annotations

from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.bus import Binding
from kit.secretbox import SecretBox, national_number_box
from services.documents import db, events, tax_certificate_pdf
from services.documents.domain.files import PDF
from services.documents.use_cases.common import new_blob_key
from services.documents.use_cases.documents import Documents

ROUTING_KEY = "finance.tax_certificate.issued.v1"
SOURCE = "tax_certificate"


def _open(box: SecretBox, value: str) -> str:
    if not value:
        return ""
    if value.isdigit():
        # published in clear before finance sealed them (issue #21), still in the queue at the upgrade;
        # a sealed text is url-safe base64, never digits alone
        return value
    return box.open(value)


def opened(ev: tpb.TaxCertificateIssued, box: SecretBox) -> tpb.TaxCertificateIssued:
    """A copy of ``ev`` with the certificate's national numbers opened: what the PDF is rendered from."""
    out = tpb.TaxCertificateIssued()
    out.CopyFrom(ev)
    for person in (out.certificate.child, out.certificate.parent):
        person.national_number = _open(box, person.national_number)
    return out


def store_certificate(
    documents: Documents, session, school_id: str, ev: tpb.TaxCertificateIssued, box: SecretBox
) -> str | None:
    """The certificate's PDF filed for the child; its document id, None when it was already there."""
    c = ev.certificate
    ref = f"{SOURCE}:{c.id}"
    if db.document_id_for_ref(session, ref):
        return None
    content = tax_certificate_pdf.render_certificate(opened(ev, box))
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
    # built with the consumer: outside a local run, no consumer without NATIONAL_NUMBER_KEY
    box = national_number_box(documents.rt.settings)

    def issued(session, env, ev: tpb.TaxCertificateIssued) -> None:
        store_certificate(documents, session, env.school_id, ev, box)

    return {ROUTING_KEY: Binding(tpb.TaxCertificateIssued, issued)}
