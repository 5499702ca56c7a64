"""The school's direct debits in the browser, on a phone with the keyboard (issue #18): from the staff
navigation to /gestion/domiciliations, a collection date of today refused on its field with the error
summary focused, the batch checked, confirmed and created, its page (the items, FRST, the next steps)
and its pain.008 downloaded; nothing more to collect said in words; once the bank's statements are
imported, the batch credited and a returned debit with its reason in words; a mandate revoked after a
confirmation; a school without a creditor id sent to its settings. axe-core finds no serious or
critical violation on any page and state visited, and nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest
import xmlschema

from services.finance.tests.statement_builders import Mv, build_camt053, build_coda
from tests.browser.focus import focus_reaches
from tests.browser.pages import audited, text
from tests.browser.test_staff_events import press, staff_sign_in
from tests.e2e.test_direct_debits import PARENT_IBAN, XSD, collecting_school, day, key, upload
from tests.factories import expect, new_school, unique

pytestmark = pytest.mark.browser


@pytest.fixture
def school(suite):
    """A collecting school whose family signed a mandate, with an invoice due in two days."""
    school = collecting_school(suite)
    school.family.post(
        "/mandates",
        json={"iban": PARENT_IBAN, "holder_name": "Sophie Peeters", "accept": True},
        headers=key(),
    ).raise_for_status()
    expect(
        school.staff.post(
            "/admin/invoices",
            json={
                "student_id": school.emma["id"],
                "title": "Classe de neige",
                "due_on": day(2),
                "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 4200}],
            },
        ),
        201,
    )
    return school


def test_a_batch_is_created_downloaded_then_followed_with_the_keyboard(suite, page, school, tmp_path):
    staff, emma = school.staff, school.emma
    staff_sign_in(page, suite, staff)
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Domiciliations"))
    assert page.get_by_role("heading", level=1).inner_text() == "Domiciliations"
    mandates = text(page, "section:has(#mandates-title)")
    assert "Sophie Peeters" in mandates and f"Emma {emma['last_name']}" in mandates and "Actif" in mandates
    audited(page)

    # today is too early: said on the field, the summary focused
    page.fill("#collection_date", day(0))
    press(page, page.get_by_role("button", name="Vérifier"))
    focus_reaches(page, "dd-errors")
    assert "Choisissez une date de prélèvement à partir de demain." in text(page, "#collection_date-error")
    assert page.get_attribute("#collection_date", "aria-invalid") == "true"
    audited(page)
    page.keyboard.press("Tab")  # the summary's link to the field
    page.keyboard.press("Enter")
    focus_reaches(page, "collection_date")

    page.fill("#collection_date", day(3))
    press(page, page.get_by_role("button", name="Vérifier"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer le prélèvement"
    audited(page)
    press(page, page.get_by_role("button", name="Créer le lot"))
    assert "Lot créé : 1 prélèvement(s), 42,00 €" in text(page, ".flashes")
    (batch,) = expect(staff.get("/admin/direct-debits")).json()["items"]
    assert page.url.endswith(f"/gestion/domiciliations/{batch['id']}")
    (item,) = expect(staff.get(f"/admin/direct-debits/{batch['id']}")).json()["items"]
    row = text(page, f"tr[data-item-id='{item['id']}']")
    assert f"Emma {emma['last_name']}" in row and "FRST" in row and "42,00 €" in row and "En attente" in row
    assert "Déposez ce fichier dans votre banque en ligne" in text(page)
    audited(page)

    link = page.get_by_role("link", name="Télécharger le fichier pain.008")
    link.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == f"prelevements-{day(3)}.xml"
    saved = tmp_path / "batch.xml"
    download.value.save_as(saved)
    xmlschema.XMLSchema(str(XSD)).validate(saved.read_bytes())

    # nothing more to collect
    page.goto(suite.base_url + "/gestion/domiciliations")
    page.fill("#collection_date", day(3))
    press(page, page.get_by_role("button", name="Vérifier"))
    press(page, page.get_by_role("button", name="Créer le lot"))
    focus_reaches(page, "dd-errors")
    assert "Rien à prélever" in text(page, "#dd-errors")
    audited(page)

    # the bank credits the batch, then the family's bank returns the debit
    detail = expect(staff.get(f"/admin/direct-debits/{batch['id']}")).json()
    credit = Mv(4200, free_text=f"SEPA DD {detail['message_id']}", bank_reference=unique("CRED"))
    upload(staff, build_coda([credit], statement_number=3), "credit.cod")
    page.goto(suite.base_url + f"/gestion/domiciliations/{batch['id']}")
    assert "Lot crédité" in text(page) and "Encaissé" in text(page, ".dd-table")
    audited(page)
    returned = Mv(
        4200,
        direction="debit",
        end_to_end_id=detail["items"][0]["end_to_end_id"],
        r_transaction="2",
        return_reason="AM04",
        bank_reference=unique("RET"),
    )
    upload(staff, build_camt053([returned], statement_id=unique("STMT-")), "retour.xml")
    page.reload()
    assert "Rejeté Provision insuffisante (AM04)" in text(page, ".dd-table")
    assert "Encaissé, avec des rejets" in text(page)
    audited(page)

    # the list says it too; the mandate is revoked after a confirmation
    press(page, page.get_by_role("link", name="← Domiciliations"))
    batch_row = text(page, f"tr[data-batch-id='{batch['id']}']")
    assert "Encaissé, avec des rejets" in batch_row and re.search(r"Rejeté : 42,00 €", batch_row)
    press(page, page.get_by_role("link", name=re.compile(r"^Révoquer le mandat")))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Révoquer le mandat")
    audited(page)
    press(page, page.get_by_role("button", name="Révoquer le mandat"))
    assert "révoqué : plus rien ne sera prélevé" in text(page, ".flashes")
    assert "Révoqué le" in text(page, "section:has(#mandates-title)") and "par l'école" in text(page)
    audited(page)
    assert expect(staff.get("/admin/mandates")).json()["items"][0]["status"] == "revoked"


def test_a_school_without_creditor_id_is_sent_to_its_settings(suite, page):
    staff = new_school(suite)
    staff_sign_in(page, suite, staff)
    page.goto(suite.base_url + "/gestion/domiciliations")
    assert "Identifiant de créancier SEPA manquant" in text(page)
    assert page.locator("#collection_date").count() == 0
    audited(page)
    press(page, page.get_by_role("link", name="Indiquer l'identifiant dans les réglages"))
    assert page.url.endswith("/gestion/reglages")
