"""The accountant's exports and the bank reconciliation in the browser (issue #17), on a phone: the
manager opens the exports from the staff navigation, picks this month, reads each export's rows and
total and downloads a CSV; imports a CODA file on /gestion/extraits and follows the link to its
reconciliation, which says what each movement became. axe-core finds no serious or critical violation
on any page visited, and nothing scrolls sideways."""

from __future__ import annotations

import csv
import io

import pytest

from services.finance.tests.statement_builders import Mv, build_coda
from tests.browser.axe import axe_audit
from tests.factories import expect, new_school

pytestmark = pytest.mark.browser

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def staff_sign_in(page, suite, staff) -> None:
    page.goto(suite.base_url + "/connexion")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("form[action='/connexion'] button[type=submit]").click()


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


@pytest.fixture
def school(suite):
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    emma = staff.create_student("Emma", "Dupont", "3A")
    (wallet,) = emma["wallets"]
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json={"amount_cents": 2_000}), 201)
    sale = {
        "student_id": emma["id"],
        "wallet_id": wallet["id"],
        "lines": [{"label": "Repas chaud", "quantity": 2, "unit_price_cents": 395}],
    }
    expect(staff.post("/admin/sales", json=sale), 201)
    invoice = {
        "student_id": emma["id"],
        "title": "Classe verte",
        "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 3_550}],
    }
    expect(staff.post("/admin/invoices", json=invoice), 201)
    return staff, wallet


def test_the_manager_reads_this_months_exports_and_downloads_one(suite, page, school):
    staff, _wallet = school
    page.set_viewport_size({"width": 390, "height": 844})
    staff_sign_in(page, suite, staff)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Exports comptables").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Exports comptables"
    with page.expect_navigation():
        page.get_by_role("link", name="Ce mois-ci").click()
    rows = {r.get_attribute("data-export"): r for r in page.locator("table.exports tbody tr").all()}
    assert set(rows) == {"invoices", "payments", "operations", "sales"}
    assert rows["invoices"].locator("[data-rows]").get_attribute("data-rows") == "1"
    assert rows["invoices"].locator("[data-total-cents]").get_attribute("data-total-cents") == "3550"
    assert rows["sales"].locator("[data-total-cents]").get_attribute("data-total-cents") == "790"
    assert rows["operations"].locator("[data-rows]").get_attribute("data-rows") == "2"
    assert "35,50" in rows["invoices"].inner_text()
    assert fits_the_screen(page)
    axe_audit(page)

    link = rows["sales"].get_by_role("link", name="Télécharger Ventes (CSV)")
    resp = page.request.get(suite.base_url + link.get_attribute("href"))
    assert resp.ok and resp.headers["content-type"] == "text/csv; charset=utf-8"
    parsed = list(csv.reader(io.StringIO(resp.body().decode("utf-8-sig")), delimiter=";"))
    header, lines = parsed[0], parsed[1:]
    assert [(r[header.index("label")], r[header.index("amount")]) for r in lines] == [("Repas chaud", "7.90")]

    # a range the service refuses is said at the form, tied to its field
    page.fill("#from", "2026-03-31")
    page.fill("#to", "2026-03-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Afficher").click()
    assert page.get_by_role("alert").is_visible()
    assert page.locator("#from").get_attribute("aria-invalid") == "true"
    axe_audit(page)


def test_an_imported_statement_has_its_reconciliation(suite, page, school):
    staff, wallet = school
    statement = build_coda(
        [
            Mv(2_500, ogm=digits(wallet["structured_communication"]), counterparty_name="DUPONT MARIE"),
            Mv(700, free_text="pour la cantine", counterparty_name="MAMIE"),
            Mv(450, direction="debit", free_text="Traiteur", counterparty_name="TRAITEUR SA"),
        ]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    staff_sign_in(page, suite, staff)
    page.goto(suite.base_url + "/gestion/extraits")
    page.set_input_files("#file", files=[{"name": "mars.cod", "mimeType": "text/plain", "buffer": statement}])
    with page.expect_navigation():
        page.get_by_role("button", name="Importer").click()
    assert page.locator("#import-result").is_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Voir le rapprochement de cet import").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Rapprochement bancaire"
    movements = {
        r.get_attribute("data-outcome"): r.inner_text()
        for r in page.locator("table.movements tbody tr").all()
    }
    assert set(movements) == {"wallet", "unmatched", "debit"}
    assert "sur le portefeuille Repas de Emma Dupont" in movements["wallet"]
    assert "Sans communication structurée" in movements["unmatched"] and "Attribuer" in movements["unmatched"]
    assert "MAMIE" in movements["unmatched"]
    assert fits_the_screen(page)
    axe_audit(page)

    # the same file again: nothing recorded, its duplicates counted
    page.goto(suite.base_url + "/gestion/extraits")
    page.set_input_files("#file", files=[{"name": "mars.cod", "mimeType": "text/plain", "buffer": statement}])
    with page.expect_navigation():
        page.get_by_role("button", name="Importer").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Voir le rapprochement de cet import").click()
    assert "Cet import n'a enregistré aucun nouveau mouvement." in page.inner_text("main")
    assert "seul leur nombre est conservé" in page.inner_text("main")
    axe_audit(page)
    # and the list of imports links each one to its reconciliation
    page.goto(suite.base_url + "/gestion/extraits")
    assert page.locator("a[href^='/gestion/extraits/']").count() == 2
    axe_audit(page)
