"""The school's invoices in the browser, on a phone, by keyboard: a series for a whole class issued
from /gestion/factures/nouvelle-serie (a bad price said on its field, the confirmation, the summary;
confirming twice issues once: the form's Idempotency key), then the list filtered by the class with the
totals at the top (issuing twice with one key is the e2e test's). axe-core finds no serious or critical violation on any of these pages."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_audit
from tests.browser.test_staff_events import fits_the_screen, press, staff_sign_in
from tests.factories import expect, new_school, unique

pytestmark = pytest.mark.browser


def test_a_manager_invoices_a_class_then_sees_the_list(suite, page):
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    cls = unique("T-")
    for first in ("Lina", "Omar", "Jade"):
        staff.create_student(first, "Classe", cls)
    staff_sign_in(page, suite, staff)
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Factures"))
    assert page.get_by_role("heading", level=1).inner_text() == "Factures"
    assert fits_the_screen(page)
    axe_audit(page)

    press(page, page.get_by_role("link", name="Facturer une série (classe, voyage…)"))
    assert page.get_by_role("heading", level=1).inner_text() == "Facturer une série"
    axe_audit(page)
    page.fill("#title", "Classe de mer")
    page.fill("#label_0", "Séjour")
    page.fill("#price_0", "douze")
    page.get_by_label(cls, exact=True).check()
    press(page, page.get_by_role("button", name="Vérifier"))
    assert "Un prix en euros" in page.inner_text("#price_0-error")
    axe_audit(page)

    page.fill("#price_0", "120,50")
    press(page, page.get_by_role("button", name="Vérifier"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer la série"
    assert "120,50" in page.inner_text("main")
    axe_audit(page)
    press(page, page.get_by_role("button", name="Émettre les factures"))
    assert page.get_by_role("heading", level=1).inner_text() == "Série émise"
    assert "3 factures émises" in page.inner_text("main")
    axe_audit(page)

    assert len(expect(staff.get("/admin/invoices", params={"q": "Classe de mer"})).json()["items"]) == 3

    press(page, page.get_by_role("link", name="Voir ces factures"))
    assert page.get_by_role("heading", level=1).inner_text() == "Factures"
    page.select_option("#classe", cls)
    press(page, page.get_by_role("button", name="Filtrer"))
    rows = page.locator("table.invoices tbody tr")
    assert rows.count() == 3
    assert "Classe de mer" in rows.first.inner_text()
    assert "3" in page.inner_text(".totals")
    axe_audit(page)
