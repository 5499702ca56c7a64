"""The periodic statement's PDF route in-process against fake finance, documents and auth (issue #19):
GET /api/v1/admin/students/{id}/statement?from=&to= asks finance for the statement of the period and
documents for its PDF in the parents' language (French when none is known; ``lang`` wins), answers
application/pdf as an attachment; finance's refusals are API.md's (400 naming from / to, 404 another
school's); staff only; in the OpenAPI document."""

from __future__ import annotations

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import statements_pb2 as dpb
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from gateway.tests.conftest import not_found
from kit.errors import InvalidRequest

PATH = "/api/v1/admin/students/s-emma/statement"
STATEMENT = fpb.PeriodicStatement(student_id="s-emma", student_name="Emma Dupont", from_date="2026-09-01")


def serve(fakes, parents=()):
    fakes.on(
        "periodic_statements", "GetPeriodicStatement", fpb.GetPeriodicStatementResponse(statement=STATEMENT)
    )
    fakes.on(
        "statement_documents",
        "RenderPeriodicStatement",
        lambda req: dpb.RenderPeriodicStatementResponse(
            content=b"%PDF-1.4 " + req.language.encode(), filename="decompte periodique.pdf"
        ),
    )
    fakes.on("auth", "ListParents", auth_pb2.ListParentsResponse(parents=list(parents)))


def test_the_statement_is_a_pdf_in_the_parents_language(client, fakes):
    serve(fakes, [auth_pb2.ParentContact(id="p1", language="nl", student_ids=["s-emma"])])
    resp = client.get(f"{PATH}?from=2026-09-01&to=2026-10-31", headers=fakes.staff().bearer)
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.data == b"%PDF-1.4 nl"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="decompteperiodique.pdf"'
    (req,) = fakes.requests("periodic_statements", "GetPeriodicStatement")
    assert (req.student_id, req.from_date, req.to_date) == ("s-emma", "2026-09-01", "2026-10-31")
    (render,) = fakes.requests("statement_documents", "RenderPeriodicStatement")
    assert render.statement == STATEMENT
    (asked,) = fakes.requests("auth", "ListParents")
    assert list(asked.student_ids) == ["s-emma"]


def test_french_when_no_parent_language_is_known_and_lang_wins(client, fakes):
    serve(fakes)
    assert client.get(f"{PATH}?from=2026-09-01&to=2026-10-31", headers=fakes.staff().bearer).data.endswith(
        b"fr"
    )
    serve(fakes, [auth_pb2.ParentContact(id="p1", language="nl", student_ids=["s-emma"])])
    got = client.get(f"{PATH}?from=2026-09-01&to=2026-10-31&lang=en", headers=fakes.staff().bearer)
    assert got.data.endswith(b"en")


def test_finance_refusing_the_period_is_a_400_naming_the_field(client, fakes):
    serve(fakes)

    def refuse(_req):
        raise InvalidRequest(
            "the statement's period is not valid", fields={"to": "at most 4 months after from"}
        )

    fakes.on("periodic_statements", "GetPeriodicStatement", refuse)
    resp = client.get(f"{PATH}?from=2026-09-01&to=2027-02-01", headers=fakes.staff().bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"to": "at most 4 months after from"}
    assert fakes.requests("statement_documents", "RenderPeriodicStatement") == []


def test_another_schools_student_is_a_404_and_parents_are_refused(client, fakes):
    serve(fakes)
    fakes.on("periodic_statements", "GetPeriodicStatement", not_found)
    assert (
        client.get(f"{PATH}?from=2026-09-01&to=2026-10-31", headers=fakes.staff().bearer).status_code == 404
    )
    parent = fakes.parent("Emma")
    assert client.get(f"{PATH}?from=2026-09-01&to=2026-10-31", headers=parent.bearer).status_code == 403


def test_the_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/admin/students/{id}/statement"]["get"]
    assert "application/pdf" in op["responses"]["200"]["content"]
    assert {p["name"] for p in op["parameters"]} == {"id", "from", "to", "lang"}
