"""The accountant's exports through the real suite (issue #17): a school issues invoices, families pay
some from their wallets, cash and bank transfers top wallets up and pay invoices, the canteen sells;
then each CSV of API.md (``;``, a header, dates, euros with a point, UTF-8) parses, lists one row per
record and its amounts add up exactly to the cents the list endpoints show for the same range; a bad
range is API.md's 400; the statement's reconciliation says what each movement became."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from kit.dates import BRUSSELS
from services.finance.tests.statement_builders import Mv, build_coda
from tests.factories import expect, new_family, new_school

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}
HEADERS = {
    "invoices": [
        "number",
        "issued_on",
        "due_on",
        "student_id",
        "student_name",
        "class_name",
        "title",
        "status",
    ],
    "payments": ["date", "paid_at", "purpose", "method", "student_id", "student_name", "class_name"],
    "operations": ["date", "at", "type", "payment_method", "student_id", "student_name", "class_name"],
    "sales": ["date", "at", "student_id", "student_name", "class_name", "wallet_name", "label", "quantity"],
}
AMOUNT = re.compile(r"(-?)(\d+)\.(\d\d)")


def cents(text: str) -> int:
    """``12.50`` → 1250, read as text (never through a float); anything else fails the test."""
    m = AMOUNT.fullmatch(text)
    assert m, f"not an amount in euros with a point: {text!r}"
    value = int(m.group(2)) * 100 + int(m.group(3))
    return -value if m.group(1) else value


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


def all_items(client, path: str) -> list[dict]:
    """Every item of a list endpoint, following next_cursor."""
    items, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        url = path + (f"{sep}limit=200" + (f"&cursor={cursor}" if cursor else ""))
        body = expect(client.get(url), 200).json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def csv_rows(staff, name: str, first: str, last: str) -> list[dict]:
    resp = expect(staff.get(f"/admin/exports/{name}.csv?from={first}&to={last}"), 200)
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    text = resp.content.decode("utf-8-sig")  # UTF-8, with the BOM spreadsheets want
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = next(reader)
    assert header[: len(HEADERS[name])] == HEADERS[name]
    rows = [dict(zip(header, r, strict=True)) for r in reader]
    for r in rows:
        for column in ("date", "issued_on", "due_on"):
            if column in r:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[column]), r
    return rows


@pytest.fixture
def school(suite):
    """A school with two children of one family, money moved every way the exports list."""
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    emma = staff.create_student("Emma", "Dupont", "3A")
    noah = staff.create_student("Noah", "Dupont", "1B")
    family = new_family(suite, staff, [emma, noah])
    wallets = {}
    for child in (emma, noah):
        family.select_child(child["id"])
        (wallets[child["id"]],) = expect(family.get("/wallets"), 200).json()["items"]

    def top_up(child, amount):
        w = wallets[child["id"]]
        expect(staff.post(f"/admin/wallets/{w['id']}/top-ups", json={"amount_cents": amount}), 201)

    def invoice(child, title, amount):
        body = {
            "student_id": child["id"],
            "title": title,
            "lines": [{"label": title, "quantity": 1, "unit_price_cents": amount}],
        }
        return expect(staff.post("/admin/invoices", json=body), 201).json()

    top_up(emma, 5_000)
    top_up(noah, 1_234)
    trip = invoice(emma, "Classe verte", 3_550)
    books = invoice(noah, "Manuels", 4_210)
    swim = invoice(noah, "Piscine", 999)
    invoice(emma, "Photos", 1_200)
    # the parent pays the trip from Emma's wallet
    family.select_child(emma["id"])
    pay = {"method": "wallet", "wallet_id": wallets[emma["id"]]["id"]}
    expect(family.post(f"/invoices/{trip['id']}/payments", json=pay), 200)
    # the canteen sells
    for child, lines in (
        (emma, [{"label": "Repas chaud", "quantity": 2, "unit_price_cents": 395}]),
        (
            noah,
            [
                {"label": "Goûter", "quantity": 3, "unit_price_cents": 55},
                {"label": "Jus", "quantity": 1, "unit_price_cents": 80},
            ],
        ),
    ):
        body = {"student_id": child["id"], "wallet_id": wallets[child["id"]]["id"], "lines": lines}
        expect(staff.post("/admin/sales", json=body), 201)
    # a credit note cancels the swimming; the bank pays part of the books and tops Noah up
    expect(staff.post(f"/admin/invoices/{swim['id']}/credit-note", json={"reason": "annulé"}), 201)
    statement = build_coda(
        [
            Mv(1_000, ogm=digits(books["structured_communication"]), counterparty_name="DUPONT PAPA"),
            Mv(
                2_500, ogm=digits(wallets[noah["id"]]["structured_communication"]), counterparty_name="DUPONT"
            ),
            Mv(700, free_text="pour la cantine", counterparty_name="MAMIE"),
            Mv(450, direction="debit", free_text="Traiteur", counterparty_name="TRAITEUR SA"),
        ]
    )
    imported = expect(
        staff.post(
            "/admin/bank-statements", files={"file": ("mars.cod", statement, "application/octet-stream")}
        ),
        201,
    ).json()
    return staff, family, (emma, noah), imported


def the_range() -> tuple[str, str]:
    """Yesterday to tomorrow in Brussels: today's records, whenever the test runs (a new school has none
    before today)."""
    today = datetime.now(BRUSSELS).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


def test_each_export_adds_up_to_the_lists_to_the_cent(suite, school):
    staff, family, children, _imported = school
    first, last = the_range()
    invoices = [i for i in all_items(staff, "/admin/invoices") if first <= i["issued_on"] <= last]
    ops = []
    for child in children:
        family.select_child(child["id"])
        ops += all_items(family, f"/operations?period=custom&from={first}&to={last}")
    sales = all_items(staff, f"/admin/sales?from={first}&to={last}")
    totals = {
        i["name"]: i for i in expect(staff.get(f"/admin/exports?from={first}&to={last}"), 200).json()["items"]
    }

    rows = csv_rows(staff, "invoices", first, last)
    assert sorted(r["number"] for r in rows) == sorted(i["number"] for i in invoices) and len(rows) == 4
    assert (
        sum(cents(r["total"]) for r in rows)
        == sum(i["total_cents"] for i in invoices)
        == 3_550 + 4_210 + 999 + 1_200
    )
    assert sum(cents(r["paid"]) for r in rows) == sum(i["paid_cents"] for i in invoices) == 3_550 + 1_000
    assert {r["title"]: r["status"] for r in rows}["Piscine"] == "cancelled"
    assert (totals["invoices"]["rows"], totals["invoices"]["total_cents"]) == (4, 9_959)

    rows = csv_rows(staff, "operations", first, last)
    assert len(rows) == len(ops)
    assert sum(cents(r["amount"]) for r in rows) == sum(o["amount_cents"] for o in ops)
    assert sorted(cents(r["amount"]) for r in rows) == sorted(o["amount_cents"] for o in ops)
    assert sorted(cents(r["amount"]) for r in rows) == sorted([5_000, 1_234, -3_550, -790, -245, 2_500])
    assert totals["operations"]["total_cents"] == 5_000 + 1_234 - 3_550 - 790 - 245 + 2_500

    rows = csv_rows(staff, "sales", first, last)
    assert sorted((r["label"], r["quantity"], r["unit_price"], r["amount"]) for r in rows) == [
        ("Goûter", "3", "0.55", "1.65"),
        ("Jus", "1", "0.80", "0.80"),
        ("Repas chaud", "2", "3.95", "7.90"),
    ]
    assert sum(cents(r["amount"]) for r in rows) == sum(s["amount_cents"] for s in sales) == 1_035
    assert {r["student_name"] for r in rows} == {"Emma Dupont", "Noah Dupont"}
    assert (totals["sales"]["rows"], totals["sales"]["total_cents"]) == (3, 1_035)

    rows = csv_rows(staff, "payments", first, last)
    top_ups = [o["amount_cents"] for o in ops if o["type"] == "top_up"]
    paid = sum(i["paid_cents"] for i in invoices)
    assert sorted(cents(r["amount"]) for r in rows if r["purpose"] == "top_up") == sorted(top_ups)
    assert sum(cents(r["amount"]) for r in rows if r["purpose"] == "invoice") == paid
    assert (
        sum(cents(r["amount"]) for r in rows) == sum(top_ups) + paid == 5_000 + 1_234 + 2_500 + 3_550 + 1_000
    )
    assert {(r["purpose"], r["method"]) for r in rows} == {
        ("top_up", "cash"),
        ("top_up", "transfer"),
        ("invoice", "wallet"),
        ("invoice", "transfer"),
    }
    assert totals["payments"]["total_cents"] == 13_284


def test_another_range_exports_nothing_of_today(suite, school):
    staff, _family, _children, _imported = school
    old = "2020-01-01"
    for name in HEADERS:
        assert csv_rows(staff, name, old, "2020-01-31") == [], name


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-31&to=2026-03-01", "from"),
        ("from=2026-03-01", "to"),
        ("to=2026-03-01", "from"),
        ("from=01/03/2026&to=2026-03-31", "from"),
        ("from=2024-01-01&to=2026-03-31", "to"),
    ],
)
def test_a_bad_range_is_a_400(suite, school, query, field):
    staff = school[0]
    resp = expect(staff.get(f"/admin/exports/payments.csv?{query}"), 400)
    error = resp.json()["error"]
    assert error["code"] == "invalid_request" and field in error["fields"]


def test_an_unknown_export_is_a_400_and_parents_are_refused(suite, school):
    staff, family, _children, _imported = school
    first, last = the_range()
    resp = expect(staff.get(f"/admin/exports/refunds.csv?from={first}&to={last}"), 400)
    assert "name" in resp.json()["error"]["fields"]
    expect(family.get(f"/admin/exports/sales.csv?from={first}&to={last}"), 403)


def test_the_statements_reconciliation_says_what_each_movement_became(suite, school):
    staff, _family, (_emma, noah), imported = school
    imports = expect(staff.get("/admin/bank-statements"), 200).json()["items"]
    (mine,) = [i for i in imports if i["id"] == imported["id"]]
    body = expect(staff.get(f"/admin/bank-statements/{mine['id']}"), 200).json()
    by_amount = {m["amount_cents"]: m for m in body["items"]}
    assert (by_amount[1_000]["outcome"], by_amount[1_000]["credited_cents"]) == ("invoice", 1_000)
    assert (by_amount[2_500]["outcome"], by_amount[2_500]["student_id"]) == ("wallet", noah["id"])
    assert by_amount[700]["outcome"] == "unmatched"
    assert by_amount[700]["unmatched"][0]["reason"] == "no_communication"
    assert by_amount[450]["outcome"] == "debit"
    assert (body["credited"], body["unmatched"], body["debits"], body["duplicates"]) == (2, 1, 1, 0)
    other = new_school(suite)
    expect(other.get(f"/admin/bank-statements/{mine['id']}"), 404)
