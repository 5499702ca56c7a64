"""The accountant's exports and the bank reconciliation in-process, against fake services (finance's
ExportsService faked in conftest beside the other fakes): the CSV (API.md: ``;``, a header, dates, euros with a
point from the cents, formula-safe cells) streamed page by page as finance pages it, refusals as
API.md's 400, the totals and reconciliation JSON, and the pages /gestion/exports and
/gestion/extraits/<id> in fr/nl/en."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest

from cartable.finance.v1 import exports_pb2 as xpb
from cartable.finance.v1 import finance_pb2 as fpb
from gateway.pages.exports import presets
from kit.errors import InvalidRequest, NotFound

SALES = [
    xpb.SaleExportRow(
        line_id="l-1",
        sale_id="s-1",
        sold_on="2026-03-01",
        at="2026-02-28T23:00:00+00:00",
        student_id="emma",
        student_name="Emma Dupont",
        class_name="1A",
        wallet_id="w-1",
        wallet_name="Repas",
        label="Repas chaud; grand",
        quantity=2,
        unit_price_cents=395,
        amount_cents=790,
    ),
    xpb.SaleExportRow(
        line_id="l-2",
        sale_id="s-1",
        sold_on="2026-03-01",
        at="2026-02-28T23:00:00+00:00",
        student_id="emma",
        student_name="=Emma",
        class_name="1A",
        wallet_id="w-1",
        wallet_name="Repas",
        label="Photocopies",
        quantity=10,
        unit_price_cents=5,
        amount_cents=50,
    ),
    xpb.SaleExportRow(
        line_id="l-3",
        sale_id="s-2",
        sold_on="2026-03-31",
        at="2026-03-31T21:59:59+00:00",
        student_id="leo",
        student_name="Léo Martin",
        class_name="3B",
        wallet_id="w-2",
        wallet_name="Activités",
        label="Excursion",
        quantity=1,
        unit_price_cents=123456,
        amount_cents=123456,
        childcare=True,
        days=4,
    ),
]


def _sales_pages(req):
    """Two pages: the first two lines, then the last (after the cursor "p2")."""
    if req.cursor == "":
        return xpb.ListExportRowsResponse(sales=SALES[:2], next_cursor="p2")
    assert req.cursor == "p2"
    return xpb.ListExportRowsResponse(sales=SALES[2:])


TOTALS = xpb.GetExportTotalsResponse(
    totals=[
        xpb.ExportTotal(name="invoices", rows=4, total_cents=950_900),
        xpb.ExportTotal(name="payments", rows=6, total_cents=10_534),
        xpb.ExportTotal(name="operations", rows=9, total_cents=-1_250),
        xpb.ExportTotal(name="sales", rows=3, total_cents=124_296),
    ]
)
IMPORT = xpb.GetStatementImportResponse(
    statement_import=xpb.StatementImportDetail(
        id="imp-1",
        format="coda",
        filename="mars.cod",
        created_at="2026-03-16T09:30:00+00:00",
        movements=4,
        recorded=3,
        credited=2,
        unmatched=1,
        duplicates=1,
        debits=0,
        credited_cents=4_000,
        unmatched_cents=700,
    ),
    movements=[
        xpb.StatementMovement(
            id="m-1",
            booked_on="2026-03-15",
            direction="credit",
            amount_cents=2_500,
            communication="+++108/0681/71862+++",
            counterparty_name="EMMA MAMAN",
            outcome="wallet",
            wallet_name="Repas",
            student_name="Emma Dupont",
            credited_cents=2_500,
        ),
        xpb.StatementMovement(
            id="m-2",
            booked_on="2026-03-15",
            direction="credit",
            amount_cents=2_000,
            outcome="invoice",
            invoice_number="2026-00002",
            student_name="Léo Martin",
            credited_cents=1_500,
            unmatched_cents=500,
            unmatched=[
                xpb.UnmatchedPart(
                    transfer_id="t-1",
                    amount_cents=500,
                    reason="overpayment",
                    status="assigned",
                    assigned_at="2026-03-16T10:00:00+00:00",
                    assigned_wallet_id="w-2",
                    assigned_wallet_name="Activités",
                    assigned_student_name="Léo Martin",
                )
            ],
        ),
        xpb.StatementMovement(
            id="m-3",
            booked_on="2026-03-16",
            direction="credit",
            amount_cents=700,
            communication="pour les repas",
            outcome="unmatched",
            unmatched_cents=700,
            unmatched=[
                xpb.UnmatchedPart(
                    transfer_id="t-2", amount_cents=700, reason="no_communication", status="open"
                )
            ],
        ),
    ],
    next_cursor="next-1",
)


@pytest.fixture
def staff(client, fakes):
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


def bearer(signed) -> dict[str, str]:
    return {"Authorization": f"Bearer {signed.token}"}


def parse(resp) -> list[list[str]]:
    text = resp.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


# -- the CSV -----------------------------------------------------------------------------------------


def test_the_csv_is_streamed_page_by_page_with_euros_from_cents(client, fakes, staff):
    fakes.on("exports", "ListExportRows", _sales_pages)
    resp = client.get("/api/v1/admin/exports/sales.csv?from=2026-03-01&to=2026-03-31", headers=bearer(staff))
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="ventes_2026-03-01_2026-03-31.csv"'
    rows = parse(resp)
    assert rows[0] == [
        "date",
        "at",
        "student_id",
        "student_name",
        "class_name",
        "wallet_name",
        "label",
        "quantity",
        "unit_price",
        "amount",
        "childcare",
        "days",
        "sale_id",
        "line_id",
    ]
    assert [r[9] for r in rows[1:]] == ["7.90", "0.50", "1234.56"]
    assert [r[8] for r in rows[1:]] == ["3.95", "0.05", "1234.56"]
    assert rows[1][6] == "Repas chaud; grand"  # quoted, not split
    assert rows[2][3] == "'=Emma"  # never run as a formula
    assert [r[0] for r in rows[1:]] == ["2026-03-01", "2026-03-01", "2026-03-31"]
    assert [r[10] for r in rows[1:]] == ["no", "no", "yes"]
    assert [r[11] for r in rows[1:]] == ["0", "0", "4"]  # the days of care the childcare line pays for
    first, second = fakes.requests("exports", "ListExportRows")
    assert (first.name, first.from_date, first.to_date, first.cursor, first.limit) == (
        "sales",
        "2026-03-01",
        "2026-03-31",
        "",
        1000,
    )
    assert second.cursor == "p2"


def test_negative_amounts_and_every_exports_header(client, fakes, staff):
    op = xpb.OperationExportRow(operation_id="7", booked_on="2026-03-02", type="purchase", amount_cents=-1250)
    fakes.on("exports", "ListExportRows", xpb.ListExportRowsResponse(operations=[op]))
    rows = parse(
        client.get(
            "/api/v1/admin/exports/operations.csv?from=2026-03-01&to=2026-03-31", headers=bearer(staff)
        )
    )
    amount = rows[0].index("amount")
    assert rows[1][amount] == "-12.50" and rows[1][rows[0].index("type")] == "purchase"
    for name, column in (("invoices", "total"), ("payments", "amount")):
        fakes.on("exports", "ListExportRows", xpb.ListExportRowsResponse())
        rows = parse(
            client.get(
                f"/api/v1/admin/exports/{name}.csv?from=2026-03-01&to=2026-03-31", headers=bearer(staff)
            )
        )
        assert column in rows[0] and rows[1:] == []


def test_a_refusal_of_finance_is_a_400_naming_the_field(client, fakes, staff):
    def refuse(req):
        raise InvalidRequest("the from date is after the to date", fields={"from": "on or before to"})

    fakes.on("exports", "ListExportRows", refuse)
    resp = client.get(
        "/api/v1/admin/exports/invoices.csv?from=2026-04-01&to=2026-03-01", headers=bearer(staff)
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_request"
    assert resp.get_json()["error"]["fields"] == {"from": "on or before to"}


def test_an_unknown_export_or_an_absurd_date_is_refused_before_finance_is_asked(client, fakes, staff):
    resp = client.get(
        "/api/v1/admin/exports/refunds.csv?from=2026-03-01&to=2026-03-31", headers=bearer(staff)
    )
    assert resp.status_code == 400 and "name" in resp.get_json()["error"]["fields"]
    resp = client.get(f"/api/v1/admin/exports/sales.csv?from={'9' * 40}&to=2026-03-31", headers=bearer(staff))
    assert resp.status_code == 400 and "from" in resp.get_json()["error"]["fields"]
    assert fakes.requests("exports", "ListExportRows") == []


def test_only_staff_export(client, fakes):
    assert client.get("/api/v1/admin/exports/sales.csv?from=2026-03-01&to=2026-03-31").status_code == 401
    parent = fakes.parent()
    resp = client.get("/api/v1/admin/exports/sales.csv?from=2026-03-01&to=2026-03-31", headers=bearer(parent))
    assert resp.status_code == 403
    assert fakes.requests("exports", "ListExportRows") == []


# -- totals and reconciliation JSON -------------------------------------------------------------------


def test_the_totals_name_each_export_with_its_csv(client, fakes, staff):
    fakes.on("exports", "GetExportTotals", TOTALS)
    body = client.get("/api/v1/admin/exports?from=2026-03-01&to=2026-03-31", headers=bearer(staff)).get_json()
    assert [(i["name"], i["rows"], i["total_cents"]) for i in body["items"]] == [
        ("invoices", 4, 950_900),
        ("payments", 6, 10_534),
        ("operations", 9, -1_250),
        ("sales", 3, 124_296),
    ]
    assert body["items"][0]["url"] == "/api/v1/admin/exports/invoices.csv?from=2026-03-01&to=2026-03-31"


def test_the_reconciliation_json_lists_the_movements_and_their_parts(client, fakes, staff):
    fakes.on("exports", "GetStatementImport", IMPORT)
    body = client.get("/api/v1/admin/bank-statements/imp-1?limit=3", headers=bearer(staff)).get_json()
    assert (body["duplicates"], body["recorded"], body["next_cursor"]) == (1, 3, "next-1")
    assert [(m["outcome"], m["credited_cents"], m["unmatched_cents"]) for m in body["items"]] == [
        ("wallet", 2500, 0),
        ("invoice", 1500, 500),
        ("unmatched", 0, 700),
    ]
    assert body["items"][1]["unmatched"][0]["assigned_wallet_id"] == "w-2"
    (req,) = fakes.requests("exports", "GetStatementImport")
    assert (req.import_id, req.limit) == ("imp-1", 3)
    fakes.on("exports", "GetStatementImport", lambda _r: (_ for _ in ()).throw(NotFound("no such import")))
    assert client.get("/api/v1/admin/bank-statements/other", headers=bearer(staff)).status_code == 404
    bad = client.get("/api/v1/admin/bank-statements/imp-1?limit=0", headers=bearer(staff))
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["fields"]


# -- pages --------------------------------------------------------------------------------------------


def test_the_presets_are_months_and_school_years():
    got = [(p.first, p.last) for p in presets(date(2026, 3, 16))]
    assert got == [
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2025, 8, 1), date(2026, 7, 31)),
        (date(2024, 8, 1), date(2025, 7, 31)),
    ]
    assert [(p.first, p.last) for p in presets(date(2027, 1, 5))][1] == (
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    assert [(p.first, p.last) for p in presets(date(2026, 8, 1))][2] == (date(2026, 8, 1), date(2027, 7, 31))


def test_the_exports_page_shows_rows_totals_and_downloads(client, fakes, staff):
    fakes.on("exports", "GetExportTotals", TOTALS)
    resp = client.get("/gestion/exports?from=2026-03-01&to=2026-03-31")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for name in ("invoices", "payments", "operations", "sales"):
        assert f'href="/api/v1/admin/exports/{name}.csv?from=2026-03-01&amp;to=2026-03-31"' in html
    assert 'data-rows="4"' in html and "9\u202f509,00\xa0€" in html  # 950 900 cents, kit.money's French
    assert "-12,50\xa0€" in html
    assert 'aria-current="page">Exports comptables' in html  # the navigation's entry
    (req,) = fakes.requests("exports", "GetExportTotals")
    assert (req.from_date, req.to_date) == ("2026-03-01", "2026-03-31")


def test_the_exports_page_defaults_to_this_month(client, fakes, staff):
    fakes.on("exports", "GetExportTotals", TOTALS)
    assert client.get("/gestion/exports").status_code == 200
    (req,) = fakes.requests("exports", "GetExportTotals")
    first = date.fromisoformat(req.from_date)
    assert first.day == 1 and date.fromisoformat(req.to_date).month == first.month


def test_a_bad_range_on_the_page_is_said_beside_its_field(client, fakes, staff):
    def refuse(req):
        raise InvalidRequest("bad", fields={"to": "at most 366 days after from"})

    fakes.on("exports", "GetExportTotals", refuse)
    resp = client.get("/gestion/exports?from=2025-01-01&to=2026-03-31")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'role="alert"' in html and 'href="#to"' in html
    assert re.search(r'id="to"[^>]*aria-invalid="true"', html)
    assert ".csv" not in html


@pytest.mark.parametrize(
    ("lang", "said"),
    [("fr", "Exports comptables"), ("nl", "Boekhoudkundige exports"), ("en", "Accounting exports")],
)
def test_the_exports_page_in_each_language(client, fakes, staff, lang, said):
    fakes.on("exports", "GetExportTotals", TOTALS)
    html = client.get(f"/gestion/exports?from=2026-03-01&to=2026-03-31&lang={lang}").get_data(as_text=True)
    assert f"<h1>{said}</h1>" in html


def test_the_reconciliation_page_says_what_each_movement_became(client, fakes, staff):
    fakes.on("exports", "GetStatementImport", IMPORT)
    resp = client.get("/gestion/extraits/imp-1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Crédité sur un portefeuille" in html and "sur le portefeuille Repas de Emma Dupont" in html
    assert "sur la facture 2026-00002 de Léo Martin" in html
    assert "au portefeuille Activités de Léo Martin" in html  # the excess, assigned since
    assert 'href="/gestion/virements-non-attribues/t-2"' in html  # still open: assign it
    assert "seul leur nombre est conservé" in html  # duplicates: a count only
    assert 'href="/gestion/extraits/imp-1?cursor=next-1"' in html
    assert 'aria-current="page">Extraits bancaires' in html
    fakes.on("exports", "GetStatementImport", lambda _r: (_ for _ in ()).throw(NotFound("no such import")))
    assert client.get("/gestion/extraits/other").status_code == 404


def test_the_statements_page_links_each_import_to_its_reconciliation(client, fakes, staff):
    fakes.on(
        "finance",
        "ListStatementImports",
        fpb.ListStatementImportsResponse(
            imports=[
                fpb.StatementImport(
                    id="imp-1", format="coda", filename="mars.cod", created_at="2026-03-16T09:30:00+00:00"
                )
            ]
        ),
    )
    fakes.on("finance", "ListUnmatchedTransfers", fpb.ListUnmatchedTransfersResponse())
    html = client.get("/gestion/extraits").get_data(as_text=True)
    assert 'href="/gestion/extraits/imp-1"' in html


def test_the_staff_home_has_the_exports_card(client, staff):
    html = client.get("/gestion").get_data(as_text=True)
    assert '<a href="/gestion/exports">Exports comptables</a>' in html


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_exports_pages_is_translated(lang):
    from babel.messages.extract import extract_from_file

    from gateway.tests.test_account_translations import KEYWORDS, _translated

    gateway = Path(__file__).resolve().parents[1]
    sources = [gateway / "pages" / "exports.py", *sorted((gateway / "templates" / "exports").glob("*.html"))]
    found = set()
    for path in sources:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _l, message, _c, _x in extract_from_file(
            method, str(path), keywords={**KEYWORDS, "lazy_gettext": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 40
    translated = _translated(lang)
    assert sorted(m for m in found if m not in translated) == []


def test_the_new_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/admin/exports/{name}.csv",
        "/api/v1/admin/exports",
        "/api/v1/admin/bank-statements/{id}",
    } <= set(paths)
    assert paths["/api/v1/admin/exports/{name}.csv"]["get"]["parameters"][0]["schema"]["enum"] == [
        "invoices",
        "payments",
        "operations",
        "sales",
    ]
    description = paths["/api/v1/admin/exports/{name}.csv"]["get"]["description"]
    assert "unit_price;amount;childcare;days;sale_id;line_id" in description


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_links_added_to_shared_pages_are_translated(lang):
    from gateway.tests.test_account_translations import _translated

    translated = _translated(lang)
    for msgid in (
        "Exports comptables",
        "Les factures, paiements, opérations et ventes d'une période en CSV pour le comptable, avec leurs totaux.",
        "Voir le rapprochement de cet import",
        "rapprochement",
    ):
        assert msgid in translated, msgid
