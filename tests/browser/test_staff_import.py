"""The People CSV import in a real browser on a 375 px phone screen: the manager reaches /gestion/import
from the staff navigation, downloads the example, sends a file with bad rows (each shown with its
line, column and reason, nothing imported), sends it fixed (the dry run says what will be created),
confirms with the same file (the button disabled and "Import en cours…" with a progress bar while it
runs) and reads the summary; then on a parent's page changes the e-mail (another account's first:
refused on the field). axe-core finds no serious or critical violation on any page visited, none is
wider than the phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_second_factor import PHONE, checked, press, sign_in_with_keyboard
from tests.factories import expect as expect_status
from tests.factories import new_school, unique

pytestmark = pytest.mark.browser

HEADER = "student_id;first_name;last_name;class_name;level;birth_date;parent1_first_name;parent1_last_name;parent1_email"


def people_csv(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8"))
    return path


def test_a_manager_imports_the_school_and_changes_a_parents_email(suite, page, tmp_path):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    nora = f"{unique('nora.')}@famille.example.test"
    bad_rows = [
        f"L1;Lucas;Mertens;3A;primaire;12/05/2016;Nora;Mertens;{nora}",
        "L2;Lina;Mertens;3A;tertiaire;31/02/2016;Nora;Mertens;pas-une-adresse",
        "L3;Maxime;Claes;4B;secondaire;2013-01-20;;;",
    ]
    good_rows = [
        f"L1;Lucas;Mertens;3A;primaire;12/05/2016;Nora;Mertens;{nora}",
        f"L2;Lina;Mertens;3A;primaire;28/02/2016;Nora;Mertens;{nora}",
        "L3;Maxime;Claes;4B;secondaire;2013-01-20;;;",
    ]
    bad = people_csv(tmp_path, "eleves.csv", bad_rows)

    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    press(
        page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Importer", exact=True)
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer les élèves et les parents")
    expect(page.get_by_role("table", name="Les colonnes du fichier")).to_contain_text("parent1_email")
    checked(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger un exemple de fichier (CSV)").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbfstudent_id;")

    # a file with bad rows: each one shown, nothing to confirm
    page.get_by_label("Fichier CSV des élèves et de leurs parents").set_input_files(bad)
    press(page, page.get_by_role("button", name="Vérifier le fichier"))
    expect(page.get_by_role("heading", name="Fichier refusé : 3 problèmes")).to_be_visible()
    table = page.get_by_role("table", name="Lignes refusées, avec la colonne et la raison")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("3")
    expect(rows.nth(0)).to_contain_text("level")
    expect(rows.nth(0)).to_contain_text("Niveau inconnu")
    expect(rows.nth(1)).to_contain_text("birth_date")
    expect(rows.nth(2)).to_contain_text("parent1_email")
    expect(rows.nth(2)).to_contain_text("Ce n'est pas une adresse e-mail.")
    expect(page.get_by_role("button", name="Importer")).to_have_count(0)
    checked(page)

    # fixed: the dry run says what the import will do
    fixed = people_csv(tmp_path, "eleves.csv", good_rows)
    page.get_by_label("Fichier CSV des élèves et de leurs parents").set_input_files(fixed)
    press(page, page.get_by_role("button", name="Vérifier le fichier"))
    expect(page.get_by_role("heading", name="Fichier vérifié : eleves.csv")).to_be_visible()
    counts = page.locator("#checked-counts")
    expect(counts).to_contain_text("3 élèves créés")
    expect(counts).to_contain_text("1 parent créé")
    expect(counts).to_contain_text("2 liens entre un parent et un enfant ajoutés")
    checked(page)
    assert expect_status(staff.get("/admin/parents")).json()["items"] == []  # nothing written yet

    # confirmed with the same file: while it runs the button is disabled and the progress said. The
    # page's own submission is held back first (a listener after import.js's), to look at it running.
    page.get_by_label(re.compile("Pour confirmer, choisissez à nouveau le même fichier")).set_input_files(
        fixed
    )
    confirm_form = "form[data-progress=confirm-progress]"
    page.evaluate(
        f"document.querySelector('{confirm_form}').addEventListener('submit', e => e.preventDefault())"
    )
    page.get_by_role("button", name="Importer", exact=True).click()
    progress = page.locator("#confirm-progress")
    expect(progress).to_contain_text("Import en cours…")
    expect(progress.locator("progress")).to_be_visible()
    expect(page.get_by_role("button", name="Importer", exact=True)).to_be_disabled()
    assert progress.get_attribute("aria-live") == "polite"
    checked(page)
    with page.expect_navigation(url=re.compile(r"/gestion/import/bilan$")):
        page.evaluate(f"document.querySelector('{confirm_form}').submit()")  # the same form, its file
    expect(page.get_by_role("heading", level=1)).to_have_text("Import terminé")
    expect(page.locator("#done-counts")).to_contain_text("3 élèves créés")
    checked(page)

    # the new parent's page: another account's e-mail is refused on the field, a new one saved
    press(page, page.get_by_role("link", name="Voir les parents"))
    checked(page)
    press(page, page.get_by_role("link", name="Mertens Nora"))
    expect(page.locator("#children")).to_contain_text("Lucas Mertens")
    expect(page.locator("#children")).to_contain_text("Lina Mertens")
    email = page.get_by_label("Adresse e-mail", exact=True)
    managers = expect_status(staff.get("/admin/staff")).json()["items"][0]["email"]
    email.fill(managers)
    press(page, email)
    expect(page.get_by_role("alert")).to_contain_text("déjà celle d'un autre compte")
    expect(page.get_by_label("Adresse e-mail", exact=True)).to_have_attribute("aria-invalid", "true")
    checked(page)
    new_address = f"{unique('nora.mertens.')}@famille.example.test"
    page.get_by_label("Adresse e-mail", exact=True).fill(new_address)
    press(page, page.get_by_label("Adresse e-mail", exact=True))
    expect(page.get_by_role("status").first).to_contain_text("Les coordonnées du parent sont enregistrées.")
    expect(page.locator("#parent-email")).to_have_text(new_address)
    checked(page)
