"""The school's refunds in the browser, on a phone with the keyboard (issue #18): from the staff
navigation to /gestion/remboursements, a new refund: the leaver found by name, their wallet, the form
filled with the family's mandate and walked with Tab (each field labelled, in order), a bad IBAN said
on its field with the summary focused and its link to the field, the confirmation ("débité tout de
suite"), "Modifier" keeping what was typed, the refund made and listed; the batch created, its
pain.001 downloaded with the keyboard and valid against the XSD; nothing more to batch said in words;
a school without an IBAN sent to its settings. axe-core finds no serious or critical violation on any
page and state visited, and nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest
import xmlschema

from tests.browser.focus import focus_reaches, focused
from tests.browser.pages import audited, text
from tests.browser.test_staff_events import press, staff_sign_in
from tests.e2e.test_staff_refunds import XSD, balance, refundable_school, refunds_of
from tests.factories import expect, new_school

pytestmark = pytest.mark.browser


def test_a_leaver_is_refunded_then_batched_with_the_keyboard(suite, page, tmp_path):
    school = refundable_school(suite)
    staff, emma = school.staff, school.emma
    name = f"Emma {emma['last_name']}"
    staff_sign_in(page, suite, staff)
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Remboursements"))
    assert page.get_by_role("heading", level=1).inner_text() == "Remboursements"
    assert "Aucun remboursement pour l'instant." in text(page)
    audited(page)

    # the child, found by name (the leavers are listed before any search)
    press(page, page.get_by_role("link", name="Nouveau remboursement"))
    focus_reaches(page, "q")
    assert name in text(page, "#results-title + p + ul")
    audited(page)
    page.keyboard.type(emma["last_name"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "1 élève." in text(page, "#count") and "a quitté l'école" in text(page, ".rf-results")
    audited(page)
    press(page, page.get_by_role("link", name=name))
    assert page.get_by_role("heading", level=1).inner_text() == f"Rembourser {name}"
    assert "30,00 €" in text(page, "table")
    audited(page)
    press(page, page.get_by_role("link", name="Rembourser le portefeuille Repas"))
    assert page.get_by_role("heading", level=1).inner_text() == "Rembourser le portefeuille Repas"
    audited(page)

    # the form: labelled fields in order, filled with the mandate's account and the whole balance
    assert page.get_by_label("IBAN du compte à créditer").input_value() == "BE71 0961 2345 6769"
    assert page.get_by_label("Titulaire du compte").input_value() == "Sophie Peeters"
    assert page.get_by_label("Montant (en euros)").input_value() == "30,00"
    page.get_by_label("IBAN du compte à créditer").focus()
    walked = [focused(page)]
    for _ in range(5):
        page.keyboard.press("Tab")
        walked.append(focused(page))
    assert walked == ["iban", "holder_name", "amount", "reason", "Vérifier", "Annuler"]

    # a bad IBAN: said on its field, the summary focused, its link leading to the field
    page.fill("#iban", "BE71 0961 2345 6760")
    page.fill("#amount", "20,00")
    press(page, page.get_by_role("button", name="Vérifier"))
    focus_reaches(page, "rf-errors")
    assert "Cet IBAN n'est pas valable" in text(page, "#iban-error")
    assert page.get_attribute("#iban", "aria-invalid") == "true"
    assert "iban-error" in page.get_attribute("#iban", "aria-describedby")
    assert page.input_value("#amount") == "20,00" and page.input_value("#iban") == "BE71 0961 2345 6760"
    audited(page)
    page.keyboard.press("Tab")  # the summary's link to the field
    page.keyboard.press("Enter")
    assert focused(page) == "iban"
    assert balance(staff, emma) == 3000 and refunds_of(staff, emma) == []

    # the confirmation, "Modifier" keeping what was typed, then the refund
    page.fill("#iban", "BE71 0961 2345 6769")
    page.fill("#reason", "Solde repas")
    press(page, page.get_by_role("button", name="Vérifier"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer le remboursement"
    assert "Le portefeuille est débité tout de suite de 20,00 €." in text(page)
    assert "Solde après le remboursement 10,00 €" in text(page, "dl")
    audited(page)
    press(page, page.get_by_role("button", name="Modifier"))
    assert page.input_value("#reason") == "Solde repas" and page.input_value("#amount") == "20,00"
    press(page, page.get_by_role("button", name="Vérifier"))
    press(page, page.get_by_role("button", name="Rembourser 20,00 €"))
    assert "Remboursement enregistré : 20,00 € du portefeuille Repas" in text(page, ".flashes")
    (refund,) = refunds_of(staff, emma)
    row = text(page, f"tr[data-refund-id='{refund['id']}']")
    assert name in row and "20,00 €" in row and "BE** **** **** 6769" in row and "En attente d'un lot" in row
    assert balance(staff, emma) == 1000
    audited(page)

    # the batch, its file downloaded with the keyboard
    press(page, page.get_by_role("button", name="Créer le lot de virements"))
    assert "Lot de virements créé : 1 remboursement(s), 20,00 €" in text(page, ".flashes")
    (batch,) = expect(staff.get("/admin/refund-batches")).json()["items"]
    assert "Dans un lot" in text(page, f"tr[data-refund-id='{refund['id']}']")
    assert "20,00 €" in text(page, f"tr[data-batch-id='{batch['id']}']")
    audited(page)
    link = page.get_by_role("link", name=re.compile(r"^Télécharger le fichier pain\.001"))
    link.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.startswith("remboursements")
    saved = tmp_path / "refunds.xml"
    download.value.save_as(saved)
    content = saved.read_bytes()
    xmlschema.XMLSchema(str(XSD)).validate(content)
    assert b"BE71096123456769" in content and b"20.00" in content

    # nothing more to batch
    press(page, page.get_by_role("button", name="Créer le lot de virements"))
    focus_reaches(page, "rf-errors")
    assert "Aucun remboursement n'attend de lot" in text(page, "#rf-errors")
    audited(page)
    assert len(expect(staff.get("/admin/refund-batches")).json()["items"]) == 1


def test_a_school_without_an_iban_is_sent_to_its_settings(suite, page):
    staff = new_school(suite)
    staff_sign_in(page, suite, staff)
    page.goto(suite.base_url + "/gestion/remboursements")
    assert "IBAN de l'école manquant" in text(page)
    audited(page)
    press(page, page.get_by_role("button", name="Créer le lot de virements"))
    focus_reaches(page, "rf-errors")
    assert "Les réglages de l'école n'indiquent pas son IBAN" in text(page, "#rf-errors")
    audited(page)
    press(page, page.locator("#rf-errors").get_by_role("link", name="Indiquer l'IBAN dans les réglages"))
    assert page.url.endswith("/gestion/reglages")
