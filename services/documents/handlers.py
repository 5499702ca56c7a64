"""Reactions to other services' events: invoices, credit notes and SEPA mandates become PDF documents.

A revoked mandate (finance.mandate.revoked.v1) is not consumed: its copy stays in the students'
documents as the evidence of what was signed, and there is nothing else to change here."""

from __future__ import annotations

from cartable.finance.v1 import events_pb2 as finance_events
from kit.bus import Binding
from services.documents import mandate_pdf, pdf
from services.documents.use_cases.documents import Documents


def bindings(documents: Documents) -> dict[str, Binding]:
    def invoice_issued(session, env, ev: finance_events.InvoiceIssued) -> None:
        documents.store_rendered(
            session,
            env.school_id,
            ev.student_id,
            f"Facture – {ev.title}",
            f"facture-{ev.number}.pdf",
            pdf.render_invoice(ev),
            "invoice",
            f"invoice:{ev.invoice_id}",
        )

    def invoice_cancelled(session, env, ev: finance_events.InvoiceCancelled) -> None:
        documents.store_rendered(
            session,
            env.school_id,
            ev.student_id,
            f"Note de crédit – {ev.title}",
            f"note-de-credit-{ev.number}.pdf",
            pdf.render_credit_note(ev),
            "credit_note",
            f"credit_note:{ev.invoice_id}",
        )

    def mandate_signed(session, env, ev: finance_events.MandateSigned) -> None:
        # One copy in the documents of each student the mandate covers, once per mandate and student
        # (the ref), even if finance publishes the event twice.
        content = mandate_pdf.render_mandate(ev)
        for student_id in dict.fromkeys(sid for sid in ev.student_ids if sid):
            documents.store_rendered(
                session,
                env.school_id,
                student_id,
                mandate_pdf.document_title(ev),
                mandate_pdf.filename(ev),
                content,
                "mandate",
                f"mandate:{ev.mandate_id}:{student_id}",
            )

    return {
        "finance.invoice.issued.v1": Binding(finance_events.InvoiceIssued, invoice_issued),
        "finance.invoice.cancelled.v1": Binding(finance_events.InvoiceCancelled, invoice_cancelled),
        "finance.mandate.signed.v1": Binding(finance_events.MandateSigned, mandate_signed),
    }
