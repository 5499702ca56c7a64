"""The staff's tax-certificate page in-process against fake finance and auth (issue #19):
/gestion/attestations-fiscales lists a year's certificates with each one's PDF and the Belcotax CSV,
generates the year once per form key (CSRF), says a missing enterprise number in words with a link
to the settings (409) and a year whose legal maximum is unknown (400); in the staff navigation;
fr/nl/en, every French string translated."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.documents.v1 import documents_pb2
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from gateway.tests.conftest import form_fields
from gateway.tests.test_tax_certificates_api import CERT, serve_people
from kit.errors import Conflict, InvalidRequest

PAGE = "/gestion/attestations-fiscales"


def login(client, who) -> None:
    client.set_cookie("cartable_session", who.token)


def said(resp) -> str:
    text = htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@pytest.fixture
def school(client, fakes):
    staff = fakes.staff()
    login(client, staff)
    fakes.on(
        "tax_certificates",
        "ListTaxCertificates",
        tpb.ListTaxCertificatesResponse(
            certificates=[CERT], school_name="École", enterprise_number="0203201340"
        ),
    )
    serve_people(fakes)
    return staff


def test_the_page_lists_the_years_certificates_with_their_pdf_and_the_csv(client, fakes, school):
    resp = client.get(f"{PAGE}?annee=2024")
    assert resp.status_code == 200
    text = said(resp)
    assert "Attestations 2024" in text
    assert "Emma Dupont" in text and "=Marie Dupont" in text
    assert "100,00 €" in text and "82,00 €" in text and "(version 2)" in text
    body = resp.get_data(as_text=True)
    assert f'href="{PAGE}/document/d1"' in body
    assert f'href="{PAGE}/2024/belcotax.csv"' in body
    assert f'href="{PAGE}" aria-current="page"' in body  # in the staff navigation
    assert "Numéro d'entreprise manquant" not in text
    (req,) = fakes.requests("tax_certificates", "ListTaxCertificates")
    assert req.year == 2024


def test_generating_once_per_form_then_back_to_the_list(client, fakes, school):
    fakes.on(
        "tax_certificates",
        "GenerateTaxCertificates",
        tpb.GenerateTaxCertificatesResponse(count=1, total_cents=10000, created=1),
    )
    fields = form_fields(client.get(f"{PAGE}?annee=2024").get_data(as_text=True), PAGE)
    assert fields["annee"] == "2024" and fields["key"] and fields["csrf_token"]
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{PAGE}?annee=2024")
    (req,) = fakes.requests("tax_certificates", "GenerateTaxCertificates")
    assert (req.year, req.idempotency_key) == (2024, fields["key"])
    assert "Attestations 2024 à jour : 1 attestation(s), 100,00 € au total." in said(
        client.get(f"{PAGE}?annee=2024")
    )


def test_without_csrf_nothing_is_generated(client, fakes, school):
    fields = form_fields(client.get(f"{PAGE}?annee=2024").get_data(as_text=True), PAGE)
    fields.pop("csrf_token")
    assert client.post(PAGE, data=fields).status_code == 400
    assert fakes.requests("tax_certificates", "GenerateTaxCertificates") == []


def test_a_missing_enterprise_number_is_said_with_a_link_to_the_settings(client, fakes, school):
    def refuse(_req):
        raise Conflict("missing", code="enterprise_number_missing")

    fakes.on("tax_certificates", "GenerateTaxCertificates", refuse)
    fields = form_fields(client.get(f"{PAGE}?annee=2024").get_data(as_text=True), PAGE)
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 409
    assert "Numéro d'entreprise manquant" in said(resp)
    assert 'href="/gestion/reglages"' in resp.get_data(as_text=True)


def test_a_year_without_a_known_legal_maximum_is_said_in_words(client, fakes, school):
    def refuse(_req):
        raise InvalidRequest("unknown", fields={"year": "no legal maximum known"})

    fakes.on("tax_certificates", "GenerateTaxCertificates", refuse)
    fields = form_fields(client.get(f"{PAGE}?annee=2024").get_data(as_text=True), PAGE)
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 400
    assert "n'est pas encore connu de Cartable" in said(resp)


def test_the_csv_and_the_pdf_are_downloaded_from_the_page(client, fakes, school):
    resp = client.get(f"{PAGE}/2024/belcotax.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    fakes.on(
        "documents",
        "OpenDocument",
        documents_pb2.OpenDocumentResponse(
            document=documents_pb2.Document(
                id="d1", filename="attestation.pdf", content_type="application/pdf"
            ),
            content=b"%PDF-1.4",
        ),
    )
    pdf = client.get(f"{PAGE}/document/d1")
    assert pdf.status_code == 200 and pdf.data == b"%PDF-1.4"


def test_parents_are_refused(client, fakes):
    login(client, fakes.parent("Emma"))
    assert client.get(PAGE).status_code in (403, 404)


@pytest.mark.parametrize(
    ("lang", "title"), [("nl", "Fiscale attesten kinderopvang"), ("en", "Childcare tax certificates")]
)
def test_the_page_in_dutch_and_english(client, fakes, school, lang, title):
    text = said(client.get(f"{PAGE}?annee=2024&lang={lang}"))
    assert title in text


GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    GATEWAY / "pages" / "tax_certificates.py",
    GATEWAY / "templates" / "tax_certificates" / "index.html",
]


def _msgids() -> set[str]:
    found: set[str] = {"Attestations fiscales"}  # the navigation's line, in staff_base.html
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(
            method, str(path), keywords={"_": None, "gettext": None, "lazy_gettext": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_page_is_translated(lang):
    po = GATEWAY / "translations" / "tax_certificates" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string}
    assert len(_msgids()) > 25
    assert sorted(_msgids() - translated) == []
