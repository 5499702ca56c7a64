"""The bank reconciliation's direct-debit outcomes (issue #18), in-process: a batch's credit and a
debit the family's bank returned, in words in each language, linked to the school's collection
batches, the returned debit counted as booked; both outcomes in the OpenAPI document."""

from __future__ import annotations

import re

import pytest

from cartable.finance.v1 import exports_pb2 as xpb


@pytest.fixture
def staff(client, fakes):
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


DIRECT_DEBITS = xpb.GetStatementImportResponse(
    statement_import=xpb.StatementImportDetail(
        id="imp-2",
        format="camt053",
        filename="avril.xml",
        created_at="2026-04-16T09:30:00+00:00",
        debits=0,
        returned_debits=1,
    ),
    movements=[
        xpb.StatementMovement(
            id="m-4",
            booked_on="2026-04-15",
            direction="credit",
            amount_cents=8_400,
            communication="SEPA DD DD20260415ABCDEF",
            outcome="direct_debit",
        ),
        xpb.StatementMovement(
            id="m-5",
            booked_on="2026-04-16",
            direction="debit",
            amount_cents=2_500,
            outcome="direct_debit_return",
            wallet_name="Repas",
            student_name="Emma Dupont",
        ),
    ],
)


@pytest.mark.parametrize(
    ("lang", "collected", "returned"),
    [
        ("fr", "Lot de prélèvements encaissé", "Prélèvement rejeté par la banque"),
        ("nl", "Inningsbatch geïnd", "Domiciliëring door de bank geweigerd"),
        ("en", "Direct-debit batch collected", "Direct debit returned by the bank"),
    ],
)
def test_the_reconciliation_names_direct_debit_outcomes_in_words_and_links_to_the_batches(
    client, fakes, staff, lang, collected, returned
):
    fakes.on("exports", "GetStatementImport", DIRECT_DEBITS)
    html = client.get(f"/gestion/extraits/imp-2?lang={lang}").get_data(as_text=True)
    outcome = re.compile(r'<strong class="outcome outcome-([a-z_]+)">([^<]*)</strong>')
    assert outcome.findall(html) == [("direct_debit", collected), ("direct_debit_return", returned)]
    assert html.count('href="/gestion/domiciliations#batches-title"') == 2
    if lang == "fr":  # the returned debit is counted as booked, not among the debits only reported
        summary = re.sub(r"\s+", " ", html.split("</dl>")[0])
        assert "<dt>Prélèvements rejetés par la banque (comptabilisés)</dt><dd>1</dd>" in summary
        assert "<dt>Débits (non comptabilisés)</dt><dd>0</dd>" in summary
        assert "Les factures et les recharges du lot sont payées." in html
        assert "Recharge du portefeuille Repas de Emma Dupont" in html
        assert "est à nouveau dû ; les parents sont prévenus." in html


def test_the_openapi_lists_the_direct_debit_outcomes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    get = spec["paths"]["/api/v1/admin/bank-statements/{id}"]["get"]
    movement = get["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"][
        "items"
    ]
    assert {"direct_debit", "direct_debit_return"} <= set(movement["properties"]["outcome"]["enum"])
