"""The finance pages in a real browser on a phone-sized screen: "Soldes" (balances, invoices by status
in colour and in words, "Payer" with the internal wallet), "Opérations financières" and "Journal des
ventes" with the period picker and filters."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_finance_wallets_invoices import finance_school, invoice, top_up, wallets_by_name
from tests.factories import expect, new_family

pytestmark = pytest.mark.browser

# --ok, --bad, --info of app.css (the green darkened to 5.1:1 for axe)
GREEN, RED, BLUE = "rgb(26, 116, 55)", "rgb(180, 35, 24)", "rgb(31, 95, 191)"


def _row(page, title: str):
    return page.locator("tr.invoice", has_text=title)


def _marker_colour(row) -> str:
    return row.locator("td").first.evaluate("td => getComputedStyle(td).borderLeftColor")


def test_balances_show_wallets_and_invoices_by_status_and_pay_one_from_the_wallet(suite, page):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    child = parent.active_child_id
    wallets = wallets_by_name(parent)
    top_up(staff, wallets["Repas"]["id"], 3710)
    top_up(staff, wallets["Activités"]["id"], 1000)
    expect(
        staff.post(
            "/admin/sales",
            json={
                "student_id": child,
                "wallet_id": wallets["Repas"]["id"],
                "lines": [{"label": "Repas chaud", "quantity": 2, "unit_price_cents": 395}],
            },
        ),
        201,
    )
    photos = invoice(staff, child, 850, title="Photos de classe")
    expect(
        parent.post(
            f"/invoices/{photos['id']}/payments",
            json={"method": "wallet", "wallet_id": wallets["Activités"]["id"]},
        ),
        200,
    )
    bruges = invoice(staff, child, 1250, title="Visite à Bruges")
    pool = invoice(staff, child, 600, title="Piscine")
    expect(staff.post(f"/admin/invoices/{pool['id']}/credit-note", json={"reason": "Piscine fermée"}), 201)

    parent.browser_login(page)
    page.get_by_role("navigation", name="Modules").get_by_role("link", name="Soldes").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Soldes")
    meals = page.locator(".wallet", has_text="Repas")
    assert "29,20\u00a0€" in meals.inner_text()
    assert wallets["Repas"]["structured_communication"] in meals.inner_text()
    assert "1,50\u00a0€" in page.locator(".wallet", has_text="Activités").inner_text()

    # colour and words: green paid, red to pay, blue cancelled
    assert (
        "Payée" in _row(page, "Photos de classe").inner_text()
        and _marker_colour(_row(page, "Photos de classe")) == GREEN
    )
    assert (
        "À payer" in _row(page, "Visite à Bruges").inner_text()
        and _marker_colour(_row(page, "Visite à Bruges")) == RED
    )
    assert "Annulée par une note de crédit" in _row(page, "Piscine").inner_text()
    assert _marker_colour(_row(page, "Piscine")) == BLUE
    assert _row(page, "Piscine").get_by_text("Payer", exact=True).count() == 0

    row = _row(page, "Visite à Bruges")
    row.locator("summary").click()
    assert row.get_by_label(re.compile("Activités")).is_disabled()  # 1,50 € does not cover 12,50 €
    row.get_by_label(re.compile("Repas")).check()
    row.get_by_role("button", name="Payer avec le portefeuille").click()
    page.wait_for_load_state()
    assert (
        page.get_by_role("status").filter(has_text=f"La facture {bruges['number']} est payée.").is_visible()
    )
    row = _row(page, "Visite à Bruges")
    # on a phone the table's header is hidden: each cell says what it is
    assert (
        "Payée" in row.inner_text()
        and row.locator("td").nth(3).inner_text() == "Montant déjà payé : 12,50\u00a0€"
    )
    assert _marker_colour(row) == GREEN
    assert "16,70\u00a0€" in page.locator(".wallet", has_text="Repas").inner_text()


def test_operations_and_sales_journal_follow_the_period_picker_and_filters(suite, page):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Lucas", "class_name": "1B"}])
    child = parent.active_child_id
    wallets = wallets_by_name(parent)
    top_up(staff, wallets["Repas"]["id"], 2000)
    expect(
        staff.post(
            "/admin/sales",
            json={
                "student_id": child,
                "wallet_id": wallets["Repas"]["id"],
                "lines": [
                    {"label": "Goûter", "quantity": 3, "unit_price_cents": 120},
                    {"label": "Photocopies", "quantity": 10, "unit_price_cents": 5},
                ],
            },
        ),
        201,
    )

    parent.browser_login(page)
    page.goto(suite.base_url + "/operations")
    assert page.get_by_role("heading", level=1).inner_text() == "Opérations financières"
    page.get_by_label("Période", exact=True).select_option("today")
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    table = page.locator("table").inner_text()
    assert (
        "Rechargement" in table and "+20,00\u00a0€" in table and "Achat" in table and "-4,10\u00a0€" in table
    )
    page.get_by_label("Type d'opération").select_option("purchase")
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    assert "type=purchase" in page.url
    assert page.locator("tbody tr").count() == 1 and "Rechargement" not in page.locator("table").inner_text()
    page.get_by_label("Mode de paiement").select_option("online")
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    assert page.get_by_text("Aucune opération sur cette période.").is_visible()

    # a custom range: typing dates picks "Période personnalisée"; a reversed one is explained
    page.goto(suite.base_url + "/journal-des-ventes")
    page.get_by_label("Du", exact=True).fill("2026-02-10")
    page.get_by_label("Au", exact=True).fill("2026-02-01")
    assert page.get_by_label("Période", exact=True).input_value() == "custom"
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text() == "La date de début doit précéder la date de fin."
    page.get_by_label("Période", exact=True).select_option("last_7_days")
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    journal = page.locator("table").inner_text()
    assert "Goûter" in journal and "Photocopies" in journal and "3,60\u00a0€" in journal
    assert "4,10\u00a0€" in page.locator(".totals").inner_text()

    page.goto(suite.base_url + "/journal-des-ventes?lang=nl")
    assert page.get_by_role("heading", level=1).inner_text() == "Verkoopjournaal"
    assert page.get_by_role("button", name="Toepassen").is_visible()
