"""The childcare tax certificates' routes in-process against fake finance and auth (issue #19): the
year generated from the children finance names and the people auth knows (national numbers in full,
parents' languages), 201 {count, total_cents}, finance's 409 enterprise_number_missing, the year's list
exactly as API.md says, the Belcotax CSV with a row per certificate; staff only; in the OpenAPI."""

from __future__ import annotations

import csv
import io

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from gateway.calls.tax_certificates import HEADER
from kit.errors import Conflict

PATH = "/api/v1/admin/tax-certificates"

CERT = tpb.TaxCertificate(
    id="c1",
    year=2024,
    student_id="s-emma",
    parent_id="p-mum",
    days=5,
    amount_cents=10000,
    capped_amount_cents=8200,
    document_id="d1",
    version=2,
    number="2024-00001",
    daily_cap_cents=1640,
    periods=[
        tpb.TaxCertificatePeriod(
            start="2024-03-01", end="2024-03-01", days=5, daily_rate_cents=2000, amount_cents=10000
        )
    ],
    child=tpb.TaxChild(
        student_id="s-emma",
        first_name="Emma",
        last_name="Dupont",
        birth_date="2015-05-10",
        national_number="15051012345",
    ),
    parent=tpb.TaxPerson(id="p-mum", first_name="=Marie", last_name="Dupont", national_number="85010112345"),
)


def serve_people(fakes):
    fakes.on(
        "tax_certificates", "ListChildcareStudents", tpb.ListChildcareStudentsResponse(student_ids=["s-emma"])
    )
    fakes.on(
        "auth",
        "GetStudent",
        auth_pb2.GetStudentResponse(
            student=auth_pb2.Student(
                id="s-emma",
                first_name="Emma",
                last_name="Dupont",
                birth_date="2015-05-10",
                national_number="15051012345",
                parent_ids=["p-mum", "p-dad"],
            )
        ),
    )
    parents = {
        "p-mum": auth_pb2.ParentContact(
            id="p-mum", first_name="Marie", national_number="85010112345", language="nl"
        ),
        "p-dad": auth_pb2.ParentContact(id="p-dad", first_name="Paul", national_number="84020212345"),
    }
    fakes.on("auth", "GetParent", lambda req: auth_pb2.GetParentResponse(parent=parents[req.parent_id]))


def test_generating_sends_finance_the_children_and_their_paying_parents(client, fakes):
    serve_people(fakes)
    fakes.on(
        "tax_certificates",
        "GenerateTaxCertificates",
        tpb.GenerateTaxCertificatesResponse(count=2, total_cents=15000, created=2),
    )
    staff = fakes.staff()
    resp = client.post(PATH, json={"year": 2024}, headers={**staff.bearer, "Idempotency-Key": "k1"})
    assert resp.status_code == 201
    assert resp.get_json() == {"count": 2, "total_cents": 15000}
    (req,) = fakes.requests("tax_certificates", "GenerateTaxCertificates")
    assert (req.year, req.idempotency_key) == (2024, "k1")
    (child,) = req.children
    assert (child.student_id, child.birth_date, child.national_number) == (
        "s-emma",
        "2015-05-10",
        "15051012345",
    )
    assert [(p.id, p.national_number, p.language) for p in child.parents] == [
        ("p-mum", "85010112345", "nl"),
        ("p-dad", "84020212345", ""),
    ]


def test_a_school_without_enterprise_number_is_a_409(client, fakes):
    serve_people(fakes)

    def refuse(_req):
        raise Conflict("the school's enterprise number is missing", code="enterprise_number_missing")

    fakes.on("tax_certificates", "GenerateTaxCertificates", refuse)
    resp = client.post(PATH, json={"year": 2024}, headers=fakes.staff().bearer)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "enterprise_number_missing"


def test_a_bad_year_is_a_400_and_parents_are_refused(client, fakes):
    resp = client.post(PATH, json={"year": "soon"}, headers=fakes.staff().bearer)
    assert resp.status_code == 400 and "year" in resp.get_json()["error"]["fields"]
    assert client.get(f"{PATH}/20x4", headers=fakes.staff().bearer).status_code == 400
    parent = fakes.parent("Emma")
    assert client.post(PATH, json={"year": 2024}, headers=parent.bearer).status_code == 403
    assert client.get(f"{PATH}/2024", headers=parent.bearer).status_code == 403
    assert fakes.requests("tax_certificates", "GenerateTaxCertificates") == []


def test_the_years_list_is_as_api_md_says(client, fakes):
    fakes.on("tax_certificates", "ListTaxCertificates", tpb.ListTaxCertificatesResponse(certificates=[CERT]))
    resp = client.get(f"{PATH}/2024", headers=fakes.staff().bearer)
    assert resp.status_code == 200
    assert resp.get_json() == {
        "items": [
            {
                "student_id": "s-emma",
                "parent_id": "p-mum",
                "days": 5,
                "amount_cents": 10000,
                "capped_amount_cents": 8200,
                "document_id": "d1",
            }
        ]
    }
    (req,) = fakes.requests("tax_certificates", "ListTaxCertificates")
    assert req.year == 2024


def test_the_belcotax_csv_has_a_row_per_certificate_with_the_forms_fields(client, fakes):
    fakes.on(
        "tax_certificates",
        "ListTaxCertificates",
        tpb.ListTaxCertificatesResponse(
            certificates=[CERT], school_name="École Sainte-Marie", enterprise_number="0203201340"
        ),
    )
    resp = client.get(f"{PATH}/2024/belcotax.csv", headers=fakes.staff().bearer)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="belcotax-281-86-2024.csv"' in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    header, row = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert header == HEADER
    got = dict(zip(header, row, strict=True))
    assert got["institution_numero_entreprise"] == "0203201340"
    assert got["debiteur_numero_registre_national"] == "85010112345"
    assert got["debiteur_prenom"] == "'=Marie"  # never run as a formula
    assert got["enfant_numero_registre_national"] == "15051012345"
    assert (got["periode1_jours"], got["periode1_tarif_journalier"], got["periode1_montant"]) == (
        "5",
        "20.00",
        "100.00",
    )
    assert got["periode2_du"] == ""
    assert (got["total_montant"], got["montant_limite_maximum_legal"], got["remplace_version"]) == (
        "100.00",
        "82.00",
        "1",
    )


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths[PATH]
    assert "get" in paths[PATH + "/{year}"]
    assert "get" in paths[PATH + "/{year}/belcotax.csv"]
