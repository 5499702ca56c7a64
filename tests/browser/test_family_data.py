"""A family's data in a real browser on a phone, with the keyboard (issue #21): a parent asks for the
export of their data from "Mes données" in the account menu and downloads it once ready; a manager
asks for a parent's export at the office, then erases a family on request after a confirmation page
that explains the accounting exception (nothing happens until the box is ticked). a manager ticks who is on a photo and a parent refuses that other families see their child's photos.
axe-core on every page and state visited."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kit.testing import wait_for
from tests.browser.pages import audited, submitted, text
from tests.browser.test_staff_second_factor import PHONE, sign_in_with_keyboard
from tests.e2e.test_photos import jpeg, new_album, upload
from tests.factories import expect as expect_status
from tests.factories import new_family, new_school, unique

pytestmark = pytest.mark.browser


def _ready(client, export_id: str) -> None:
    wait_for(
        lambda: expect_status(client.get(f"/data-exports/{export_id}")).json()["status"] == "ready",
        90,
        what="the export to be ready",
    )


def test_a_parent_downloads_their_data_from_their_account(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    last = unique("Dufour-").capitalize()
    family = new_family(
        suite, staff, [{"first_name": "Maëlle", "last_name": last}], first_name="Inès", last_name=last
    )
    family.browser_login(page)
    page.locator("details.menu summary").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Mes données").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes données")
    assert "Vous n'avez encore demandé aucun export." in text(page)
    audited(page)

    assert submitted(page, page.get_by_role("button", name="Préparer l'export de mes données")) == 200
    expect(page.get_by_role("status").first).to_contain_text("Votre export est en préparation")
    audited(page)
    export_id = page.locator("#exports tbody tr").first.get_attribute("id").removeprefix("export-")
    _ready(family, export_id)

    page.reload()
    link = page.get_by_role("link", name=re.compile("^Télécharger"))
    expect(link).to_be_visible()
    audited(page)
    with page.expect_download() as download:
        link.press("Enter")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "manifest.json" in archive.namelist()
    assert any(
        last in archive.read(n).decode("utf-8", "replace")
        for n in archive.namelist()
        if n.startswith("auth/")
    )


def test_a_manager_asks_for_an_export_then_erases_a_family_after_confirming(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    last = unique("Verbeke-").capitalize()
    family = new_family(
        suite, staff, [{"first_name": "Arno", "last_name": last}], first_name="Lise", last_name=last
    )
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    # the school's retention policy, from the staff navigation
    with page.expect_navigation():
        page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Données personnelles").press(
            "Enter"
        )
    expect(page.locator("#personal-rule")).to_contain_text("1 année scolaire après leur départ")
    audited(page)
    page.get_by_label("Pièces comptables après l'effacement (années)").fill("5")
    assert submitted(page, page.get_by_role("button", name="Enregistrer")) == 400
    expect(page.get_by_text("la loi belge impose 7 ans au moins.").first).to_be_visible()
    audited(page)
    page.get_by_label("Pièces comptables après l'effacement (années)").fill("10")
    assert submitted(page, page.get_by_role("button", name="Enregistrer")) == 200
    expect(page.locator("#financial-rule")).to_contain_text("restent 10 ans")
    page.goto(f"{suite.base_url}/gestion/parents/{family.parent_id}")
    expect(page.get_by_role("heading", name="Données de la famille")).to_be_visible()
    audited(page)

    assert submitted(page, page.get_by_role("button", name="Préparer l'export de ses données")) == 200
    expect(page.get_by_role("status").first).to_contain_text("seule la famille peut recevoir")
    audited(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Effacer la famille…").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Effacer la famille de Lise {last} ?")
    assert "L'exception comptable" in text(page) and "pseudonyme" in text(page)
    audited(page)

    # unticked: nothing erased, the error is tied to the box
    assert submitted(page, page.get_by_role("button", name="Effacer définitivement")) == 400
    expect(page.get_by_role("alert")).to_contain_text("Cochez la case pour confirmer")
    expect(page.get_by_role("checkbox")).to_have_attribute("aria-invalid", "true")
    audited(page)
    expect_status(family.get("/children"))  # still there

    page.get_by_role("checkbox").press("Space")
    assert submitted(page, page.get_by_role("button", name="Effacer définitivement")) == 200
    expect(page.get_by_role("status").first).to_contain_text("La famille est effacée dans tous les services")
    audited(page)
    expect_status(family.get("/children"), 401)  # the erased parent's session is gone


def test_a_parent_refuses_class_photos_and_a_manager_tags_who_is_on_a_photo(suite, browser, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    last = unique("Claes-").capitalize()
    noor = staff.create_student("Noor", last, "3B")
    family = new_family(suite, staff, [noor], first_name="Eva", last_name=last)
    album = new_album(staff, "Sortie 3B", ["3B"])
    [photo] = expect_status(upload(staff, album["id"], ("noor.jpg", jpeg())), 201).json()["items"]

    # the manager ticks Noor on the photo, from the album page, with the keyboard
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    page.goto(f"{suite.base_url}/gestion/photos/albums/{album['id']}")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Qui est sur la photo")).first.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Qui est sur la photo 1 ?")
    audited(page)
    page.get_by_role("checkbox", name=re.compile(f"Noor {last}")).press("Space")
    assert submitted(page, page.get_by_role("button", name="Enregistrer")) == 200
    expect(page.get_by_role("status").first).to_contain_text("Les enfants de la photo sont enregistrés.")
    expect(page.get_by_role("checkbox", name=re.compile(f"Noor {last}"))).to_be_checked()
    audited(page)

    # Noor's mother unticks her on Mes données
    parents_phone = browser.new_context(viewport=PHONE, locale="fr-BE").new_page()
    family.browser_login(parents_phone)
    parents_phone.goto(f"{suite.base_url}/compte/donnees")
    box = parents_phone.get_by_role("checkbox", name="Noor")
    expect(box).to_be_checked()
    box.press("Space")
    assert submitted(parents_phone, parents_phone.get_by_role("button", name="Enregistrer mes choix")) == 200
    expect(parents_phone.get_by_role("status").first).to_contain_text(
        "Vos choix pour les photos sont enregistrés."
    )
    expect(parents_phone.get_by_role("checkbox", name="Noor")).not_to_be_checked()
    audited(parents_phone)
    parents_phone.context.close()

    page.reload()
    expect(page.get_by_text("photos réservées à sa famille")).to_be_visible()
    assert photo["id"]
