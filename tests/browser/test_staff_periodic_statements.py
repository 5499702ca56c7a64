"""The periodic statements (FWB décomptes périodiques, issue #19) in the browser, on a phone with the
keyboard: from the staff navigation to /gestion/decomptes, a class and a period picked; a period over
four months refused on its field when chosen (the error tied to the field, the summary focused, its
link leading to the field), nothing offered to send; then this month: one pupil's statement previewed
as its PDF, the class's statements sent once, and what was sent listed once documents has filed them.
axe-core finds no serious or critical violation on any page and state visited, and nothing scrolls
sideways."""

from __future__ import annotations

import pytest

from kit.testing import wait_for
from tests.browser.focus import focus_reaches
from tests.browser.pages import audited, submitted, text
from tests.browser.test_staff_events import press, staff_sign_in
from tests.e2e.test_periodic_statements import PAGE, SETTINGS, invoice, key, month, pdf_text
from tests.factories import expect, new_family, new_school, unique

pytestmark = pytest.mark.browser


def test_a_class_is_sent_its_statements_with_the_keyboard(suite, page):
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    klass = unique("D").upper()[:8]
    emma = staff.create_student("Emma", unique("Dec").capitalize(), klass)
    leo = staff.create_student("Léo", unique("Dec").capitalize(), klass)
    family = new_family(suite, staff, [emma])
    new_family(suite, staff, [leo])
    paid = invoice(staff, emma, "Piscine", [("Piscine", 3000, False), ("Excursion", 1500, True)])
    invoice(staff, leo, "Piscine", [("Piscine", 3000, False)])
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    top_up = {"amount_cents": 5000, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json=top_up, headers=key()), 201)
    pay = {"method": "wallet", "wallet_id": wallet["id"]}
    expect(family.post(f"/invoices/{paid['id']}/payments", json=pay, headers=key()), 200)
    first, last = month()

    staff_sign_in(page, suite, staff)
    press(
        page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Décomptes périodiques")
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Décomptes périodiques"
    assert "Aucun décompte envoyé pour l'instant." in text(page)
    assert page.get_by_role("button", name="Envoyer les décomptes").count() == 0
    audited(page)

    # six months: refused on 'to' when chosen, the summary focused, nothing offered to send
    page.get_by_label("Classe", exact=True).focus()
    page.select_option("#scope", klass)
    page.get_by_label("D'autres dates").focus()
    page.keyboard.press("Space")
    assert page.is_checked("#preset-custom")
    page.fill("#from", "2026-01-01")
    page.fill("#to", "2026-06-30")
    assert submitted(page, page.get_by_role("button", name="Choisir")) == 400
    focus_reaches(page, "statement-errors")
    assert "au plus quatre mois après" in text(page, "#to-error")
    assert page.get_attribute("#to", "aria-invalid") == "true"
    assert "to-error" in page.get_attribute("#to", "aria-describedby")
    assert page.input_value("#to") == "2026-06-30" and page.input_value("#scope") == klass
    assert page.get_by_role("button", name="Envoyer les décomptes").count() == 0
    audited(page)
    page.keyboard.press("Tab")  # the summary's link to the field
    page.keyboard.press("Enter")
    focus_reaches(page, "to")

    # this month: the preview and the send form
    page.fill("#from", first)
    page.fill("#to", last)
    assert submitted(page, page.get_by_role("button", name="Choisir")) == 200
    heading = text(page, "#send-title")
    assert heading.startswith("Période du ") and heading.endswith(f"classe {klass}")
    options = text(page, "#student_id")
    assert f"Emma {emma['last_name']}" in options and f"Léo {leo['last_name']}" in options
    audited(page)

    page.select_option("#student_id", emma["id"])
    preview = page.get_by_role("button", name="Aperçu du décompte (PDF)")
    preview.focus()
    with page.expect_popup() as popup:  # a new tab: the page with the form stays
        page.keyboard.press("Enter")
    assert "/gestion/decomptes/apercu?" in popup.value.url and f"student_id={emma['id']}" in popup.value.url
    got = page.request.get(popup.value.url)
    assert got.status == 200 and got.headers["content-type"].startswith("application/pdf")
    statement = pdf_text(got.body())
    for expected in ("Piscine obligatoire 30,00 €", "Excursion facultatif 15,00 €", "Payé 45,00 €"):
        assert expected in statement, expected

    # sent: said, then listed once documents has filed them
    press(page, page.get_by_role("button", name="Envoyer les décomptes"))
    assert "2 décompte(s) envoyé(s) pour la période du " in text(page, ".flashes")
    assert page.url.endswith(f"{PAGE}#sent-title")
    audited(page)

    def listed() -> str:
        page.goto(suite.base_url + PAGE)
        rows = page.locator("table tbody tr")
        return text(page, "table tbody") if rows.count() == 2 else ""

    rows = wait_for(listed, 60, what="the two statements sent, listed on the page")
    assert f"Emma {emma['last_name']}" in rows and f"Léo {leo['last_name']}" in rows
    assert page.locator(f"tr[data-student-id='{emma['id']}']").count() == 1
    audited(page)
