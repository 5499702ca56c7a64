"""Paying for real in a phone-sized Chromium, as the parent guide shows it: "Recharger" > "En ligne" on
/soldes, the provider's Bancontact page (the stand-in), back on the site with the outcome, "Retour" to
the balances; "Par virement bancaire" with the IBAN, the communication and the QR code; "Payer" >
"Payer en ligne" on an invoice."""

from __future__ import annotations

import pytest

from tests.e2e.test_payments_online import open_school
from tests.factories import expect, new_family

pytestmark = pytest.mark.browser


def test_recharger_en_ligne_then_back_to_the_wallets(suite, page):
    staff = open_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    parent.browser_login(page)
    page.goto(suite.base_url + "/soldes")
    wallet = page.locator(".wallet", has_text="Repas")
    assert "0,00\u00a0€" in wallet.inner_text()
    wallet.locator("summary", has_text="Recharger").click()  # the little arrow next to "Recharger"
    wallet.get_by_label("Combien d'euros souhaitez-vous recharger ?").fill("10")
    with page.expect_navigation():
        wallet.get_by_role("button", name="OK").click()
    assert page.url.startswith(f"http://127.0.0.1:{suite.mollie_port}/checkout/tr_")
    assert "10,00" in page.inner_text("main")
    with page.expect_navigation():
        page.get_by_role("button", name="Payer 10,00").click()
    assert "/paiements/" in page.url and page.url.endswith("/retour")
    assert "Votre paiement est confirmé" in page.get_by_role("status").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Retour", exact=True).click()
    assert page.url.endswith("/soldes")
    assert "10,00\u00a0€" in page.locator(".wallet", has_text="Repas").inner_text()


def test_a_refused_payment_says_so_and_books_nothing(suite, page):
    staff = open_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Noah"}])
    parent.browser_login(page)
    page.goto(suite.base_url + "/soldes")
    wallet = page.locator(".wallet", has_text="Repas")
    wallet.locator("summary", has_text="Recharger").click()
    wallet.get_by_label("Combien d'euros souhaitez-vous recharger ?").fill("25,50")
    with page.expect_navigation():
        wallet.get_by_role("button", name="OK").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Refuser").click()
    assert "Le paiement a échoué" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Retour", exact=True).click()
    page.wait_for_url("**/soldes")
    assert "0,00\u00a0€" in page.locator(".wallet", has_text="Repas").inner_text()


def test_par_virement_bancaire_shows_what_to_write_and_the_qr_code(suite, page):
    staff = open_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Lina"}])
    (w,) = expect(parent.get("/wallets"), 200).json()["items"]
    parent.browser_login(page)
    page.goto(suite.base_url + "/soldes")
    wallet = page.locator(".wallet", has_text="Repas")
    wallet.locator("summary", has_text="Recharger").click()
    with page.expect_navigation():
        wallet.get_by_role("link", name="Voir l'IBAN et la communication structurée").click()
    main = page.inner_text("main")
    assert (
        "BE68539007547034" in main and w["structured_communication"] in main and "École Saint-Joseph" in main
    )
    assert page.get_by_role("img", name="Code QR du virement (EPC / SEPA)").is_visible()
    assert "importer les extraits de compte" in page.get_by_role("note").inner_text()


def test_payer_en_ligne_on_an_invoice(suite, page):
    staff = open_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Zoé"}])
    expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": parent.active_child_id,
                "title": "Visite à Bruges",
                "lines": [{"label": "Car", "quantity": 1, "unit_price_cents": 1250}],
            },
        ),
        201,
    )
    parent.browser_login(page)
    page.goto(suite.base_url + "/soldes")
    row = page.locator("tr.invoice", has_text="Visite à Bruges")
    row.locator("summary").click()
    with page.expect_navigation():
        row.get_by_role("button", name="Payer en ligne").click()
    assert "12,50" in page.inner_text("main")
    with page.expect_navigation():
        page.get_by_role("button", name="Payer 12,50").click()
    assert "Votre paiement est confirmé" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Retour", exact=True).click()
    page.wait_for_url("**/soldes#factures")
    assert "Payée" in page.locator("tr.invoice", has_text="Visite à Bruges").inner_text()
