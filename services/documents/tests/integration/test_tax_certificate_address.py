"""The school's postal address on the tax certificate's PDF (281.86, issue #19): printed as finance
sends it; "non communiqué" while the school's settings hold none."""

from __future__ import annotations

from kit.service import make_consumer
from services.documents.tests.integration.test_tax_certificate_pdf import DOC, body, issued, text_of


def test_the_schools_address_is_on_the_pdf(documents_rt):
    consumer = make_consumer(documents_rt)
    ev = issued(school_address="Rue de l'École 1, 1000 Bruxelles")
    assert consumer.handle(body(documents_rt, ev)) == "handled"
    text = text_of(documents_rt, DOC)
    assert "Rue de l'École 1, 1000 Bruxelles" in text
    assert "non communiqué" not in text


def test_without_an_address_the_pdf_says_it_was_not_given(documents_rt):
    consumer = make_consumer(documents_rt)
    assert consumer.handle(body(documents_rt, issued())) == "handled"
    assert "Adresse non communiqué" in text_of(documents_rt, DOC)
