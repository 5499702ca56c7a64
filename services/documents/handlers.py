"""Reactions to other services' events: invoices and credit notes become PDF documents."""

from __future__ import annotations

from cartable.finance.v1 import events_pb2 as finance_events
from kit.bus import Binding
from services.documents import pdf
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

    return {
        "finance.invoice.issued.v1": Binding(finance_events.InvoiceIssued, invoice_issued),
        "finance.invoice.cancelled.v1": Binding(finance_events.InvoiceCancelled, invoice_cancelled),
    }
