"""The school's childcare tax certificates (281.86) in the browser, on a phone with the keyboard (issue
#19): from the staff navigation to /gestion/attestations-fiscales, the income year chosen, the year's
certificates made, listed with their PDF (opened and read back), the Belcotax-on-web CSV downloaded
with the keyboard (its filename and figures); a school without an enterprise number is told so in
words, the 409 of its attempt focused, with a link to its settings. axe-core finds no serious or
critical violation on any page and state visited, and nothing scrolls sideways.

The suite runs on the real clock (a year whose legal maximum per day is not known yet): the invoice and
its payment are moved back into 2024 in finance's database, as the e2e test does."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text as sql

from kit.dates import BRUSSELS
from kit.testing import wait_for
from tests.browser.focus import focus_reaches
from tests.browser.pages import audited, submitted, text
from tests.browser.test_staff_events import press, staff_sign_in
from tests.e2e.test_tax_certificates import SETTINGS, key, national_number, pdf_text
from tests.factories import expect, new_family, new_school, unique

pytestmark = pytest.mark.browser

PAGE = "/gestion/attestations-fiscales"


def childcare_paid_in_2024(suite):
    """A school with its enterprise number, Emma and her parent with their national numbers, and 10
    days of evening care (200,00 €) paid from the wallet, moved back into 2024."""
    staff = new_school(suite)
    body = {**SETTINGS, "enterprise_number": "0203.201.340", "current_password": staff.password}
    expect(staff.put("/admin/settings", json=body), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    emma = staff.create_student("Emma", unique("Garde").capitalize(), unique("P"))
    child_nn = national_number("2016-04-02", "001")
    patch = {"birth_date": "2016-04-02", "national_number": child_nn}
    expect(staff.request("PATCH", f"/admin/students/{emma['id']}", json=patch))
    payer = unique("Payeur").capitalize()
    family = new_family(suite, staff, [emma], first_name="Marie", last_name=payer)
    parent_nn = national_number("1985-01-01", "123")
    expect(staff.request("PATCH", f"/admin/parents/{family.parent_id}", json={"national_number": parent_nn}))
    line = {
        "label": "Garderie du soir",
        "quantity": 1,
        "unit_price_cents": 20000,
        "childcare": True,
        "days": 10,
    }
    invoice = {"student_id": emma["id"], "title": "Garderie", "due_on": "2027-01-15", "lines": [line]}
    inv = expect(staff.post("/admin/invoices", json=invoice), 201).json()
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    top_up = {"amount_cents": 20000, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json=top_up, headers=key()), 201)
    pay = {"method": "wallet", "wallet_id": wallet["id"]}
    expect(family.post(f"/invoices/{inv['id']}/payments", json=pay, headers=key()), 200)
    with suite._db("finance").begin() as db:
        db.execute(sql("UPDATE invoices SET issued_on = '2024-03-01' WHERE id = :id"), {"id": inv["id"]})
        db.execute(
            sql("UPDATE payments SET paid_at = '2024-03-05 10:00:00+00:00' WHERE invoice_id = :id"),
            {"id": inv["id"]},
        )
    return staff, emma, f"Marie {payer}", child_nn, parent_nn


def test_a_year_is_generated_listed_and_exported_with_the_keyboard(suite, page, tmp_path):
    staff, emma, parent, child_nn, parent_nn = childcare_paid_in_2024(suite)
    child = f"Emma {emma['last_name']}"
    staff_sign_in(page, suite, staff)
    nav = page.get_by_role("navigation", name="Gestion")
    press(page, nav.get_by_role("link", name="Attestations fiscales"))
    assert page.get_by_role("heading", level=1).inner_text() == "Attestations fiscales pour frais de garde"
    assert nav.get_by_role("link", name="Attestations fiscales").get_attribute("aria-current") == "page"
    assert "Numéro d'entreprise manquant" not in text(page)
    audited(page)

    # the year chosen with the keyboard
    page.get_by_label("Année", exact=True).focus()
    page.select_option("#annee", "2024")
    press(page, page.get_by_role("button", name="Afficher"))
    assert page.url.endswith(f"{PAGE}?annee=2024")
    assert "Aucune attestation pour 2024." in text(page)
    audited(page)

    # generated: said, then listed with its PDF
    press(page, page.get_by_role("button", name="Établir les attestations 2024"))
    assert "Attestations 2024 à jour : 1 attestation(s), 200,00 € au total." in text(page, ".flashes")
    (item,) = expect(staff.get("/admin/tax-certificates/2024")).json()["items"]
    row = text(page, "table tbody tr")
    for expected in (child, parent, "10", "200,00 €", "164,00 €"):
        assert expected in row, expected
    assert "Total : 200,00 €" in text(page)
    audited(page)

    pdf_link = page.get_by_role("link", name=f"Attestation de {child} pour {parent} (PDF)")
    href = pdf_link.get_attribute("href")
    assert href.endswith(f"/document/{item['document_id']}")
    # the PDF is rendered by documents from finance's event, after the page has answered
    wait_for(
        lambda: page.request.get(suite.base_url + href).status != 404,
        timeout=60,
        what="the certificate's PDF rendered",
    )
    opened = page.request.get(suite.base_url + href)
    assert opened.status == 200 and opened.headers["content-type"].startswith("application/pdf")
    got = pdf_text(opened.body())
    assert "281.86" in got and "0203.201.340" in got and "164,00 €" in got

    # the Belcotax CSV, downloaded with the keyboard
    csv_link = page.get_by_role("link", name="Télécharger le fichier 2024 (CSV)")
    csv_link.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == "belcotax-281-86-2024.csv"
    saved = tmp_path / "belcotax.csv"
    download.value.save_as(saved)
    content = saved.read_text(encoding="utf-8-sig")
    assert parent_nn in content and child_nn in content and "0203201340" in content
    assert "200" in content and "164" in content

    # made again: the same certificate, no second one
    press(page, page.get_by_role("button", name="Établir les attestations 2024"))
    assert "1 attestation(s)" in text(page, ".flashes")
    assert page.locator("table tbody tr").count() == 1
    assert [i["document_id"] for i in expect(staff.get("/admin/tax-certificates/2024")).json()["items"]] == [
        item["document_id"]
    ]
    audited(page)


def test_a_school_without_an_enterprise_number_is_sent_to_its_settings(suite, page):
    staff = new_school(suite)
    last_year = datetime.now(BRUSSELS).year - 1  # the year the page offers first
    staff_sign_in(page, suite, staff)
    page.goto(suite.base_url + PAGE)
    assert "Numéro d'entreprise manquant" in text(page)
    assert "numéro d'entreprise (BCE)" in text(page)
    audited(page)

    assert submitted(page, page.get_by_role("button", name=f"Établir les attestations {last_year}")) == 409
    focus_reaches(page, "enterprise-alert")
    assert "aucune attestation ne peut être établie" in text(page, "#enterprise-alert")
    assert f"Aucune attestation pour {last_year}." in text(page)
    audited(page)
    page.keyboard.press("Tab")  # the alert's link to the settings
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/gestion/reglages")
