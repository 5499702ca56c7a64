"""/gestion/decomptes asks finance about the chosen period before it offers a preview or a sending
(issue #19): a period over four months is refused when chosen, on its field with the summary focused,
and no send form is shown; when finance cannot answer, the page still offers the forms (the sending
asks again)."""

from __future__ import annotations

from cartable.finance.v1 import periodic_statements_pb2 as fpb
from gateway.tests.test_statements_pages import PAGE, said, staff  # noqa: F401 (the fixture)
from kit.errors import InvalidRequest, Unavailable

CHOICE = {"scope": "3A", "preset": "custom", "from": "2026-01-01", "to": "2026-06-30"}


def test_a_period_over_four_months_is_refused_when_chosen(client, staff):  # noqa: F811
    def refuse(req):
        assert (req.student_id, req.from_date, req.to_date) == ("s-emma", "2026-01-01", "2026-06-30")
        raise InvalidRequest(
            "the statement's period is not valid", fields={"to": "at most 4 months after from"}
        )

    staff.on("periodic_statements", "GetPeriodicStatement", refuse)
    resp = client.get(PAGE, query_string=CHOICE)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="statement-errors"' in html and "autofocus" in html
    assert 'aria-describedby="to-hint to-error" aria-invalid="true"' in html
    assert "au plus quatre mois après" in said(resp)
    assert "Envoyer les décomptes" not in said(resp) and 'name="student_id"' not in html


def test_a_valid_period_offers_the_preview_and_the_sending(client, staff):  # noqa: F811
    staff.on("periodic_statements", "GetPeriodicStatement", fpb.GetPeriodicStatementResponse())
    resp = client.get(PAGE, query_string={**CHOICE, "to": "2026-04-30"})
    assert resp.status_code == 200 and "Envoyer les décomptes" in said(resp)
    assert "Le PDF s'ouvre dans un nouvel onglet ; rien n'est envoyé." in said(resp)


def test_finance_not_answering_leaves_the_forms_offered(client, staff):  # noqa: F811
    def down(_req):
        raise Unavailable("finance is down")

    staff.on("periodic_statements", "GetPeriodicStatement", down)
    resp = client.get(PAGE, query_string={**CHOICE, "to": "2026-04-30"})
    assert resp.status_code == 200 and "Envoyer les décomptes" in said(resp)
