"""The Flemish maximum bill (issue #19) in the browser, on a phone with the keyboard: from the settings to
/gestion/reglages/maximumfactuur, a bad amount refused on its field (focused, what was typed kept),
then the caps of this school year set and listed; a series invoice past the strict cap is refused
(409 max_bill_exceeded) in words with what is left, the error focused and the override box next to
it, nothing issued; the box checked, the confirmation says so and the invoice is issued; the student's
account page shows the counters. axe-core finds no serious or critical violation on any page and state
visited, and nothing scrolls sideways."""

from __future__ import annotations

import pytest

from tests.browser.focus import focus_reaches, focused
from tests.browser.pages import audited, submitted, text
from tests.browser.test_staff_events import press, staff_sign_in
from tests.e2e.test_finance_wallets_invoices import finance_school
from tests.e2e.test_max_bill import counters, invoice, school_year
from tests.factories import expect, unique

pytestmark = pytest.mark.browser


def test_caps_set_a_series_refused_then_overridden_and_the_counters(suite, page):
    staff = finance_school(suite)
    year = school_year()
    klass = unique("M").upper()[:8]
    emma = staff.create_student("Emma", unique("Max").capitalize(), klass)
    name = f"Emma {emma['last_name']}"
    staff_sign_in(page, suite, staff)

    # the caps, from the settings
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Réglages"))
    press(page, page.locator("#maximumfactuur").get_by_role("link", name="Fixer les plafonds"))
    assert page.get_by_role("heading", level=1).inner_text() == "Maximum à facturer (Flandre)"
    assert "Aucun plafond : aucune facture n'est limitée." in text(page)
    assert page.input_value("#school_year") == year
    audited(page)

    page.select_option("#level", "lager")
    page.fill("#strict", "cent euros")
    page.fill("#less_strict", "500,00")
    assert submitted(page, page.get_by_role("button", name="Enregistrer")) == 400
    focus_reaches(page, "strict")
    assert "Les plafonds n'ont pas été enregistrés" in text(page, "#form-error")
    assert "Un montant en euros, par exemple 105,00." in text(page, "#strict-error")
    assert page.get_attribute("#strict", "aria-invalid") == "true"
    assert "strict-error" in page.get_attribute("#strict", "aria-describedby")
    assert page.input_value("#strict") == "cent euros" and page.input_value("#less_strict") == "500,00"
    assert page.get_attribute("#less_strict", "aria-invalid") is None
    audited(page)
    page.keyboard.press("Control+A")
    page.keyboard.type("100,00")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"Plafonds de {year} enregistrés pour Primaire (lager)." in text(page, ".flashes")
    row = text(page, "section:has(#caps-title) tbody tr")
    assert year in row and "Primaire (lager)" in row and "100,00 €" in row and "500,00 €" in row
    audited(page)

    # 60 € already count towards the strict cap: 40 € left
    expect(invoice(staff, emma["id"], 6000), 201)
    page.goto(suite.base_url + "/gestion/factures/nouvelle-serie")
    page.fill("#title", "Uitstap")
    page.fill("#label_0", "Bus")
    page.fill("#price_0", "50,00")
    page.select_option("#max_bill_0", "strict")
    page.get_by_label(klass, exact=True).check()
    press(page, page.get_by_role("button", name="Vérifier"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer la série"
    assert "maximum à facturer : Strict (scherpe maximumfactuur)" in text(page)
    audited(page)
    assert submitted(page, page.get_by_role("button", name="Émettre les factures")) == 409
    focus_reaches(page, "max-bill-error")
    said = text(page, "#max-bill-error")
    assert f"de l'année scolaire {year} : il reste 40,00 € sur 100,00 € (la facture y ajoute 50,00 €)" in said
    assert "Maximum à facturer strict" in said
    assert "Rien n'a été émis." in text(page, "#form-error")
    assert page.input_value("#title") == "Uitstap" and page.input_value("#price_0") == "50,00"
    assert page.input_value("#max_bill_0") == "strict" and page.is_checked(f"input[value='{klass}']")
    assert counters(staff, emma["id"])["strict"] == (10000, 6000, 4000)  # nothing issued
    audited(page)

    # the box, reached with Tab from the error it answers
    page.keyboard.press("Tab")
    assert focused(page) == "override_max_bill"
    assert page.get_attribute("#override_max_bill", "aria-describedby") == "max-bill-error"
    page.keyboard.press("Space")
    assert page.is_checked("#override_max_bill")
    page.keyboard.press("Tab")
    assert focused(page) == "Vérifier"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Émise même au-delà du maximum à facturer (inscrit au journal d'audit)." in text(page)
    audited(page)
    press(page, page.get_by_role("button", name="Émettre les factures"))
    assert page.get_by_role("heading", level=1).inner_text() == "Série émise"
    assert "1 facture émise" in text(page)
    audited(page)
    assert counters(staff, emma["id"])["strict"] == (10000, 11000, 0)

    # the student's account page: this year's counters
    page.goto(suite.base_url + f"/gestion/eleves/{emma['id']}/releve-de-compte")
    assert page.get_by_role("heading", level=1).inner_text() == f"Relevé de compte de {name}"
    section = text(page, "section:has(#max-bill-title)")
    assert f"Maximum à facturer {year}" in section
    strict = text(page, "#max-bill-title ~ table tbody tr:nth-child(1)")
    assert "strict" in strict and "100,00 €" in strict and "110,00 €" in strict and "0,00 €" in strict
    less = text(page, "#max-bill-title ~ table tbody tr:nth-child(2)")
    assert "moins strict" in less and less.count("500,00 €") == 2
    audited(page)
