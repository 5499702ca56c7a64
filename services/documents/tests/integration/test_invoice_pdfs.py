"""Invoices and credit notes become PDF documents, once each, even when the event comes twice."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from cartable.finance.v1 import events_pb2 as fin
from kit.bus import make_envelope
from kit.service import make_consumer
from services.documents.app import use_cases
from services.documents.db import documents


def invoice_event() -> fin.InvoiceIssued:
    return fin.InvoiceIssued(
        invoice_id="inv-1",
        student_id="emma",
        number="2026-0042",
        title="Visite à Bruges",
        total_cents=2350,
        due_on="2026-12-15",
        issued_on="2026-11-28",
        structured_communication="010806817183",
        lines=[
            fin.InvoiceLine(label="Car", quantity=1, unit_price_cents=1500, amount_cents=1500),
            fin.InvoiceLine(label="Entrée musée", quantity=1, unit_price_cents=850, amount_cents=850),
        ],
        school_name="École Sainte-Marie",
        beneficiary="École Sainte-Marie ASBL",
        iban="BE68539007547034",
        bic="GKCCBEBB",
        student_name="Emma Dupont",
        class_name="1A",
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_invoice_pdf_is_rendered_once_per_issued_invoice(documents_rt, keys):
    consumer = make_consumer(documents_rt)
    body = make_envelope("finance.invoice.issued.v1", invoice_event(), "sch-1").SerializeToString()
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    # a second event about the same invoice (published twice by a retried use case) makes no second PDF
    again = make_envelope("finance.invoice.issued.v1", invoice_event(), "sch-1").SerializeToString()
    assert consumer.handle(again) == "handled"
    with documents_rt.db.unit_of_work() as s:
        rows = s.execute(select(documents)).all()
    assert len(rows) == 1
    assert rows[0].title == "Facture – Visite à Bruges"
    assert rows[0].content_type == "application/pdf"

    from kit.identity import Identity

    parent = Identity(account_id="mum", role="parent", school_id="sch-1", students={"emma": "1A"})
    data = use_cases(documents_rt).documents.open_document(parent, rows[0].id).content
    text = pdf_text(data)
    for expected in (
        "École Sainte-Marie",
        "Emma Dupont",
        "Car",
        "Entrée musée",
        "23,50 €",
        "15/12/2026",
        "+++010/8068/17183+++",
        "BE68539007547034",
    ):
        assert expected in text, expected
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1  # the EPC QR code


def test_credit_note_pdf_is_rendered_for_a_cancelled_invoice(documents_rt):
    consumer = make_consumer(documents_rt)
    ev = fin.InvoiceCancelled(
        invoice_id="inv-1",
        student_id="emma",
        credit_note_id="cn-1",
        reason="Visite annulée",
        number="2026-0042",
        title="Visite à Bruges",
        credited_cents=2350,
        school_name="École Sainte-Marie",
        student_name="Emma Dupont",
        credit_note_number="NC-2026-0003",
    )
    body = make_envelope("finance.invoice.cancelled.v1", ev, "sch-1").SerializeToString()
    consumer.handle(body)
    consumer.handle(body)
    with documents_rt.db.unit_of_work() as s:
        rows = s.execute(select(documents)).all()
    assert [r.title for r in rows] == ["Note de crédit – Visite à Bruges"]
    from kit.identity import Identity

    staff = Identity(account_id="boss", role="staff", school_id="sch-1")
    data = use_cases(documents_rt).documents.open_document(staff, rows[0].id).content
    text = pdf_text(data)
    assert "NC-2026-0003" in text and "2026-0042" in text and "23,50 €" in text and "Visite annulée" in text
