"""A childcare tax certificate (281.86) from finance becomes a PDF in the child's documents, under the id
finance chose, once even if the event comes twice; the PDF read back names the school and its
enterprise number, the payer, the child with their national numbers, each period and the totals; a
correction says which certificate it replaces; fr, nl, en."""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pypdf import PdfReader
from sqlalchemy import select

from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.bus import make_envelope
from kit.errors import NotFound
from kit.identity import Identity
from kit.privacy import find_text
from kit.secretbox import SecretBox, national_number_box
from kit.service import make_consumer
from kit.settings import SettingsError
from services.documents.app import use_cases
from services.documents.db import documents

EMMA = "8a1c3f0e-4b7d-4c55-9e21-6d0f2b9a7c11"
MUM = "3b2a1c0d-4b7d-4c55-9e21-6d0f2b9a7c22"
CERT = "0f6e2d1c-9b8a-4e7d-8c6b-5a4f3e2d1c0b"
DOC = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"


def issued(**kw) -> tpb.TaxCertificateIssued:
    cert = tpb.TaxCertificate(
        id=kw.pop("cert_id", CERT),
        year=2024,
        student_id=EMMA,
        parent_id=MUM,
        days=15,
        amount_cents=25000,
        capped_amount_cents=23600,
        document_id=kw.pop("document_id", DOC),
        version=kw.pop("version", 1),
        number="2024-00007",
        daily_cap_cents=1640,
        issued_at="2025-02-10T09:00:00Z",
        periods=[
            tpb.TaxCertificatePeriod(
                start="2024-01-08", end="2024-03-04", days=10, daily_rate_cents=2000, amount_cents=20000
            ),
            tpb.TaxCertificatePeriod(
                start="2024-09-02", end="2024-09-30", days=5, daily_rate_cents=1000, amount_cents=5000
            ),
        ],
        child=tpb.TaxChild(
            student_id=EMMA,
            first_name="Emma",
            last_name="Dupont",
            birth_date="2015-05-10",
            national_number="15051012345",
        ),
        parent=tpb.TaxPerson(id=MUM, first_name="Marie", last_name="Dupont", national_number="85010112345"),
    )
    values: dict[str, Any] = dict(
        certificate=cert, school_name="École Sainte-Marie ASBL", enterprise_number="0203201340", language="fr"
    )
    values.update(kw)
    return tpb.TaxCertificateIssued(**values)


def sealed(ev: tpb.TaxCertificateIssued, box: SecretBox) -> tpb.TaxCertificateIssued:
    """``ev`` as finance publishes it: the national numbers sealed with the deployment's key."""
    out = tpb.TaxCertificateIssued()
    out.CopyFrom(ev)
    for person in (out.certificate.child, out.certificate.parent):
        person.national_number = box.seal(person.national_number)
    return out


def body(rt, ev, school: str = "sch-1") -> bytes:
    ev = sealed(ev, national_number_box(rt.settings))  # the key of the run, shared with finance
    return make_envelope("finance.tax_certificate.issued.v1", ev, school).SerializeToString()


def text_of(rt, document_id: str) -> str:
    parent = Identity(account_id=MUM, role="parent", school_id="sch-1", students={EMMA: "1A"})
    data = use_cases(rt).documents.open_document(parent, document_id).content
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def rows(rt) -> list:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(documents).order_by(documents.c.deposited_at)).all())


def test_the_certificate_is_filed_once_in_the_childs_documents_with_its_figures(documents_rt):
    consumer = make_consumer(documents_rt)
    assert consumer.handle(body(documents_rt, issued())) == "handled"
    assert consumer.handle(body(documents_rt, issued())) == "handled"  # announced again: no second copy
    (row,) = rows(documents_rt)
    assert (row.id, row.student_id, row.school_id, row.source) == (DOC, EMMA, "sch-1", "tax_certificate")
    assert row.title == "Attestation fiscale frais de garde 2024 – Emma Dupont"
    assert row.filename == "attestation-281-86-2024-2024-00007.pdf"
    text = text_of(documents_rt, DOC)
    for expected in (
        "Attestation de frais de garde d'enfants",
        "281.86",
        "année des revenus 2024",
        "École Sainte-Marie ASBL",
        "0203.201.340",
        "Marie Dupont",
        "85.01.01-123.45",
        "Emma Dupont",
        "10 mai 2015",
        "15.05.10-123.45",
        "8 janvier 2024",
        "20,00 €",
        "200,00 €",
        "50,00 €",
        "250,00 €",
        "16,40 €",
        "236,00 €",
        "Certifié sincère et exact",
    ):
        assert expected in text, expected
    assert "remplace" not in text


def test_a_correction_is_a_new_document_saying_what_it_replaces(documents_rt):
    consumer = make_consumer(documents_rt)
    consumer.handle(body(documents_rt, issued()))
    other = "1e6e2d1c-9b8a-4e7d-8c6b-5a4f3e2d1c0c"
    new_doc = "2d3c2b1a-0f9e-4d8c-b7a6-958473625141"
    consumer.handle(
        body(
            documents_rt,
            issued(
                cert_id=other,
                document_id=new_doc,
                version=2,
                replaces_version=1,
                replaces_number="2024-00007",
            ),
        )
    )
    assert [r.id for r in rows(documents_rt)] == [DOC, new_doc]
    assert "remplace l'attestation n° 2024-00007 (version 1)" in text_of(documents_rt, new_doc)


def test_dutch_and_english_certificates(documents_rt):
    consumer = make_consumer(documents_rt)
    consumer.handle(body(documents_rt, issued(language="nl")))
    nl = text_of(documents_rt, DOC)
    assert "Attest kinderopvang" in nl and "Rijksregisternummer" in nl and "inkomstenjaar 2024" in nl
    other, doc2 = "1e6e2d1c-9b8a-4e7d-8c6b-5a4f3e2d1c0d", "2d3c2b1a-0f9e-4d8c-b7a6-958473625142"
    consumer.handle(body(documents_rt, issued(language="en", cert_id=other, document_id=doc2)))
    en = text_of(documents_rt, doc2)
    assert "Childcare tax certificate" in en and "National register number" in en and "€250.00" in en


def test_the_certificate_is_the_paying_parents_own_the_other_parent_does_not_see_it(documents_rt):
    make_consumer(documents_rt).handle(body(documents_rt, issued()))
    docs = use_cases(documents_rt).documents
    mum = Identity(account_id=MUM, role="parent", school_id="sch-1", students={EMMA: "1A"})
    dad = Identity(account_id="acc-dad", role="parent", school_id="sch-1", students={EMMA: "1A"})
    staff = Identity(account_id="acc-staff", role="staff", school_id="sch-1")
    assert [d.id for d in docs.list_documents(mum, EMMA).documents] == [DOC]
    assert list(docs.list_documents(dad, EMMA).documents) == []
    assert docs.list_documents(dad, EMMA).unread_count == 0
    with pytest.raises(NotFound):
        docs.open_document(dad, DOC)
    assert [d.id for d in docs.list_documents(staff, EMMA).documents] == [DOC]
    assert docs.open_document(staff, DOC).content.startswith(b"%PDF")


NUMBERS = ["15051012345", "85010112345"]


def test_the_numbers_come_sealed_are_opened_for_the_pdf_alone_and_kept_nowhere_in_clear(documents_rt):
    ev = sealed(issued(), national_number_box(documents_rt.settings))
    assert not any(n in ev.SerializeToString().decode("latin-1") for n in NUMBERS)
    make_consumer(documents_rt).handle(body(documents_rt, issued()))
    assert {"85.01.01-123.45", "15.05.10-123.45"} <= set(text_of(documents_rt, DOC).split())
    with documents_rt.db.engine.connect() as conn:  # the inbox, the outbox, the documents' rows
        assert find_text(conn, documents_rt.spec.metadata.sorted_tables, NUMBERS) == []


def test_a_number_sealed_with_another_key_fails_loudly_and_files_nothing(documents_rt):
    ev = sealed(issued(), SecretBox([Fernet.generate_key()]))
    raw = make_envelope("finance.tax_certificate.issued.v1", ev, "sch-1").SerializeToString()
    with pytest.raises(ValueError, match="unknown key") as err:
        make_consumer(documents_rt).handle(raw)
    assert not any(n in str(err.value) for n in NUMBERS)
    assert rows(documents_rt) == []
    # once the right key seals it, the same certificate is filed
    assert make_consumer(documents_rt).handle(body(documents_rt, issued())) == "handled"
    assert [r.id for r in rows(documents_rt)] == [DOC]


def test_an_event_published_before_the_numbers_were_sealed_still_renders(documents_rt):
    raw = make_envelope("finance.tax_certificate.issued.v1", issued(), "sch-1").SerializeToString()
    assert make_consumer(documents_rt).handle(raw) == "handled"
    assert "85.01.01-123.45" in text_of(documents_rt, DOC)


def test_outside_a_local_run_no_consumer_without_the_key(documents_rt):
    documents_rt.settings = dataclasses.replace(
        documents_rt.settings, env="production", national_number_key=""
    )
    with pytest.raises(SettingsError, match="NATIONAL_NUMBER_KEY"):
        make_consumer(documents_rt)
    key = Fernet.generate_key().decode()
    documents_rt.settings = dataclasses.replace(documents_rt.settings, national_number_key=key)
    ev = sealed(issued(), SecretBox([key.encode()]))
    raw = make_envelope("finance.tax_certificate.issued.v1", ev, "sch-1").SerializeToString()
    assert make_consumer(documents_rt).handle(raw) == "handled"


def test_no_national_number_is_logged(documents_rt, caplog):
    caplog.set_level(logging.DEBUG)
    consumer = make_consumer(documents_rt)
    consumer.handle(body(documents_rt, issued()))
    consumer.handle(body(documents_rt, issued()))  # a duplicate
    other = sealed(issued(cert_id="1e6e2d1c-9b8a-4e7d-8c6b-5a4f3e2d1c0e"), SecretBox([Fernet.generate_key()]))
    with pytest.raises(ValueError, match="unknown key"):
        consumer.handle(
            make_envelope("finance.tax_certificate.issued.v1", other, "sch-1").SerializeToString()
        )
    assert caplog.records and not any(n in caplog.text for n in NUMBERS)
