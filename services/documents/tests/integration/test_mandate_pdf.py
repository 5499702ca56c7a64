"""A signed SEPA mandate becomes a PDF copy in the documents of each student it covers, once per mandate
and student even when the event comes twice, in the language the parent signed in."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select

from cartable.finance.v1 import events_pb2 as fin
from kit.bus import make_envelope
from kit.identity import Identity
from kit.service import make_consumer
from services.documents.app import use_cases
from services.documents.db import documents

EMMA = "8a1c3f0e-4b7d-4c55-9e21-6d0f2b9a7c11"  # ids as auth and finance make them: UUIDs
LUCAS = "0f6e2d1c-9b8a-4e7d-8c6b-5a4f3e2d1c0b"
MANDATE = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"

TEXT_FR = (
    "En signant ce formulaire de mandat, vous autorisez École Sainte-Marie ASBL à envoyer des "
    "instructions à votre banque pour débiter votre compte, et votre banque à débiter votre compte "
    "conformément aux instructions de École Sainte-Marie ASBL."
)


def mandate_event(**kw) -> fin.MandateSigned:
    values: dict[str, Any] = dict(
        mandate_id=MANDATE,
        reference="CART-2026-000123",
        parent_account_id="acc-marie",
        student_ids=[EMMA, LUCAS],
        holder_name="Marie Dupont",
        iban_masked="BE68 **** **** 7034",
        bic="GKCCBEBB",
        signed_at="2026-12-01T20:32:00Z",
        signed_from="203.0.113.7",
        school_name="École Sainte-Marie ASBL",
        creditor_id="BE69ZZZ0123456789",
        mandate_text=TEXT_FR,
        language="fr",
    )
    values.update(kw)
    return fin.MandateSigned(**values)


def body(ev: fin.MandateSigned, school: str = "sch-1") -> bytes:
    return make_envelope("finance.mandate.signed.v1", ev, school).SerializeToString()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def rows(rt) -> list:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(documents).order_by(documents.c.student_id)).all())


def opened(rt, row) -> bytes:
    parent = Identity(
        account_id="acc-marie", role="parent", school_id="sch-1", students={EMMA: "1A", LUCAS: "3B"}
    )
    return use_cases(rt).documents.open_document(parent, row.id).content


def test_the_mandate_copy_is_filed_once_for_each_covered_student_even_if_the_event_comes_twice(documents_rt):
    consumer = make_consumer(documents_rt)
    first = body(mandate_event())
    assert consumer.handle(first) == "handled"
    assert consumer.handle(first) == "duplicate"  # the inbox: the same delivery again
    # the same mandate announced again (a retried use case publishes a second event): no second copy
    assert consumer.handle(body(mandate_event())) == "handled"

    got = rows(documents_rt)
    assert sorted(r.student_id for r in got) == sorted([EMMA, LUCAS])
    assert {r.source_ref for r in got} == {f"mandate:{MANDATE}:{EMMA}", f"mandate:{MANDATE}:{LUCAS}"}
    for r in got:
        assert r.school_id == "sch-1"
        assert r.source == "mandate"
        assert r.title == "Mandat de domiciliation SEPA CART-2026-000123"
        assert r.filename == "mandat-sepa-CART-2026-000123.pdf"
        assert r.content_type == "application/pdf"

    text = pdf_text(opened(documents_rt, got[0]))
    for expected in (
        "Mandat de domiciliation européenne SEPA",
        "Référence du mandat",
        "CART-2026-000123",
        "Créancier",
        "École Sainte-Marie ASBL",
        "Identifiant du créancier",
        "BE69ZZZ0123456789",
        "Débiteur",
        "Marie Dupont",
        "BE68 **** **** 7034",
        "GKCCBEBB",
        "vous autorisez",
        "Paiement récurrent",
        # 20:32 UTC is 21:32 in Brussels in December
        "Signé électroniquement le 1 décembre 2026 à 21:32 (heure de Bruxelles)",
        "203.0.113.7",
    ):
        assert expected in " ".join(text.split()), expected
    assert "7034" in text and "BE68539007547034" not in text  # only the masked IBAN is known here
    assert opened(documents_rt, got[0]) == opened(documents_rt, got[1])  # one mandate, one copy each


def test_a_dutch_mandate_gets_a_dutch_copy_and_title(documents_rt):
    consumer = make_consumer(documents_rt)
    ev = mandate_event(
        language="nl",
        student_ids=[EMMA],
        mandate_text="Door dit mandaatformulier te ondertekenen, geeft u toestemming aan de schuldeiser.",
        reference="CART/2026 77",
    )
    consumer.handle(body(ev))
    [row] = rows(documents_rt)
    assert row.title == "SEPA-domiciliëringsmandaat CART/2026 77"
    assert row.filename == "sepa-mandaat-CART-2026-77.pdf"  # no slash or space in a download name
    text = " ".join(pdf_text(opened(documents_rt, row)).split())
    for expected in (
        "SEPA-domiciliëringsmandaat",
        "Mandaatreferentie",
        "Schuldeiser",
        "Identificatienummer van de schuldeiser BE69ZZZ0123456789",
        "Rekeninghouder",
        "Terugkerende betaling",
        "Elektronisch ondertekend op 1 december 2026 om 21:32 (Brusselse tijd)",
    ):
        assert expected in text, expected


def test_the_copy_tells_the_parents_as_any_new_document_does(documents_rt):
    consumer = make_consumer(documents_rt)
    consumer.handle(body(mandate_event(language="en", student_ids=[EMMA, EMMA, ""])))
    [row] = rows(documents_rt)  # a repeated or empty id files nothing more
    assert row.title == "SEPA Direct Debit Mandate CART-2026-000123"
    text = " ".join(pdf_text(opened(documents_rt, row)).split())
    assert "SEPA Direct Debit Mandate" in text and "Creditor identifier BE69ZZZ0123456789" in text
    assert "Recurrent payment" in text and "Signed electronically on 1 December 2026 at 21:32" in text
    from services.documents.db import outbox

    with documents_rt.db.unit_of_work() as s:
        names = [r.event_name for r in s.execute(select(outbox))]
    assert names == ["documents.document.deposited.v1"]
