"""Periodic statements' PDFs (issue #19), on SQLite and PostgreSQL: finance's statement becomes a PDF in
the student's documents once per (period, student) even when sent twice, announced once; the PDF read
back says the school, the child and class, the period, each fee obligatoire or facultatif, paid and open,
the totals and the FWB's mentions, in the parents' language; staff render and list them, parents cannot."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cartable.documents.v1 import statements_pb2 as pb
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from kit.bus import make_envelope
from kit.errors import Forbidden
from kit.identity import Identity
from kit.service import make_consumer
from services.documents.app import use_cases
from services.documents.db import documents, outbox

SCHOOL = "5c0e1a7e-0000-4000-8000-000000000001"
EMMA = "8a1c3f0e-4b7d-4c55-9e21-6d0f2b9a7c11"
STAFF = Identity(account_id="acc-staff", role="staff", school_id=SCHOOL)
PARENT = Identity(account_id="acc-marie", role="parent", school_id=SCHOOL, students={EMMA: "1A"})


def statement(**kw) -> fpb.PeriodicStatement:
    values: dict[str, Any] = dict(
        school_name="École Sainte-Marie",
        student_id=EMMA,
        student_name="Emma Dupont",
        class_name="1A",
        from_date="2026-09-01",
        to_date="2026-10-31",
        issued_on="2026-11-02",
        total_cents=7200,
        paid_cents=4500,
        open_cents=2700,
        mandatory_cents=5000,
        optional_cents=2500,
        credit_cents=300,
        invoices=[
            fpb.StatementInvoice(
                number="2026-0007",
                title="Septembre",
                issued_on="2026-09-01",
                due_on="2026-10-01",
                status="paid",
                total_cents=4500,
                paid_cents=4500,
                lines=[
                    fpb.StatementLine(label="Piscine", quantity=1, unit_price_cents=3000, amount_cents=3000),
                    fpb.StatementLine(
                        label="Excursion à Bruges",
                        quantity=1,
                        unit_price_cents=1500,
                        amount_cents=1500,
                        optional=True,
                    ),
                ],
            ),
            fpb.StatementInvoice(
                number="2026-0019",
                title="Octobre",
                issued_on="2026-10-15",
                due_on="2026-11-14",
                status="unpaid",
                total_cents=2700,
                open_cents=2700,
                credit_cents=300,
                lines=[
                    fpb.StatementLine(label="Théâtre", quantity=1, unit_price_cents=2000, amount_cents=2000),
                    fpb.StatementLine(
                        label="Photo de classe",
                        quantity=2,
                        unit_price_cents=500,
                        amount_cents=1000,
                        optional=True,
                    ),
                ],
            ),
        ],
    )
    values.update(kw)
    return fpb.PeriodicStatement(**values)


def body(st: fpb.PeriodicStatement, lang: str = "fr") -> bytes:
    ev = fpb.PeriodicStatementIssued(statement=st, language=lang)
    return make_envelope("finance.periodic_statement.issued.v1", ev, SCHOOL).SerializeToString()


def text_of(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def filed(rt) -> list:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(documents).where(documents.c.source == "periodic_statement")).all())


def announced(rt) -> list[str]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(outbox.c.event_name).order_by(outbox.c.id)).scalars())


def test_a_statement_is_filed_once_per_period_and_student_and_announced_once(documents_rt):
    consumer = make_consumer(documents_rt)
    assert consumer.handle(body(statement())) == "handled"
    assert consumer.handle(body(statement())) == "handled"  # sent again: another event, same period
    (row,) = filed(documents_rt)
    assert row.student_id == EMMA
    assert row.source_ref == f"periodic_statement:{EMMA}:2026-09-01:2026-10-31"
    assert announced(documents_rt) == ["documents.periodic_statement.filed.v1"]  # no generic deposit mail
    content = use_cases(documents_rt).documents.open_document(PARENT, row.id).content
    text = text_of(content)
    assert "Emma Dupont" in text and "1A" in text and "École Sainte-Marie" in text
    # another period is another statement
    assert consumer.handle(body(statement(from_date="2026-11-01", to_date="2026-12-31"))) == "handled"
    assert len(filed(documents_rt)) == 2


def test_the_pdf_says_every_fee_obligatoire_or_facultatif_paid_open_totals_and_the_fwb_mentions(documents_rt):
    pdf = use_cases(documents_rt).statements.render_periodic_statement(
        STAFF, pb.RenderPeriodicStatementRequest(statement=statement(), language="")
    )
    assert pdf.filename == "decompte-periodique-2026-09-01-2026-10-31.pdf"
    text = text_of(pdf.content)
    for expected in (
        "Décompte périodique",
        "École Sainte-Marie",
        "Élève : Emma Dupont",
        "Classe : 1A",
        "du 1 septembre 2026 au 31 octobre 2026",
        "Facture n° 2026-0007",
        "Piscine obligatoire 30,00 €",
        "Excursion à Bruges facultatif 15,00 €",
        "Théâtre obligatoire 20,00 €",
        "facultatif 10,00 €",
        "Réduction accordée -3,00 €",
        "Frais obligatoires 50,00 €",
        "Frais facultatifs 25,00 €",
        "Total facturé 72,00 €",
        "Payé 45,00 €",
        "Reste à payer 27,00 €",
        "ne figure pas sur un décompte périodique ne peut pas être réclamé",
        "ne peut entraîner aucune sanction pour l’élève",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "nl",
            (
                "Periodieke afrekening",
                "verplicht",
                "facultatief",
                "Nog te betalen € 27,00",
                "geen enkele sanctie",
            ),
        ),
        (
            "en",
            (
                "Periodic statement",
                "mandatory",
                "optional",
                "Left to pay €27.00",
                "never lead to any sanction",
            ),
        ),
    ],
)
def test_the_pdf_is_in_the_parents_language(documents_rt, lang, expected):
    pdf = use_cases(documents_rt).statements.render_periodic_statement(
        STAFF, pb.RenderPeriodicStatementRequest(statement=statement(), language=lang)
    )
    text = text_of(pdf.content)
    for part in expected:
        assert part in text, part


def test_staff_list_what_was_sent_and_parents_may_neither_render_nor_list(documents_rt):
    consumer = make_consumer(documents_rt)
    consumer.handle(body(statement(), "nl"))
    listed = use_cases(documents_rt).statements.list_statement_documents(
        STAFF, pb.ListStatementDocumentsRequest()
    )
    (doc,) = listed.documents
    assert (doc.student_id, doc.from_date, doc.to_date) == (EMMA, "2026-09-01", "2026-10-31")
    assert doc.title.startswith("Periodieke afrekening van 1 september 2026 tot 31 oktober 2026")
    other = Identity(account_id="acc-x", role="staff", school_id="another-school")
    assert (
        not use_cases(documents_rt)
        .statements.list_statement_documents(other, pb.ListStatementDocumentsRequest())
        .documents
    )
    with pytest.raises(Forbidden):
        use_cases(documents_rt).statements.list_statement_documents(
            PARENT, pb.ListStatementDocumentsRequest()
        )
    with pytest.raises(Forbidden):
        use_cases(documents_rt).statements.render_periodic_statement(
            PARENT, pb.RenderPeriodicStatementRequest(statement=statement())
        )
