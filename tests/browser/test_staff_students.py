"""The school's students in a real browser on a 375 px phone screen, with the keyboard: a manager finds a
student by name (no accent typed), opens their page, changes their class and sees it saved (a refused
change first: the error tied to its field, focused), then moves a whole class to its next class after
the confirmation saying how many students move; axe-core and no sideways scroll on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_second_factor import PHONE, checked, press, sign_in_with_keyboard
from tests.factories import expect as expect_status
from tests.factories import new_school, unique

pytestmark = pytest.mark.browser


def test_a_manager_finds_a_student_changes_their_class_and_moves_a_class(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    expect_status(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    last = unique("D'Hondt-").capitalize()
    here, moved_to, next_year = unique("3A-"), unique("4A-"), unique("5A-")
    eloise = staff.create_student("Éloïse", last, here)
    noah = staff.create_student("Noah", unique("Peeters").capitalize(), here)
    base = suite.base_url

    sign_in_with_keyboard(page, base, staff.username, staff.password)
    nav = page.get_by_role("navigation", name="Gestion")
    press(page, nav.get_by_role("link", name="Élèves", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Élèves")
    checked(page)

    search = page.get_by_label("Nom ou prénom")
    search.fill(f"eloise {last.lower().replace(chr(39), '')}")  # no accent, no apostrophe typed
    press(page, search)
    expect(page.get_by_role("status").filter(has_text="1 élève trouvé.")).to_be_visible()
    checked(page)
    press(page, page.get_by_role("link", name=f"{last} Éloïse"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Éloïse {last}")
    expect(page.locator("#student-class")).to_have_text(here)
    expect(page.get_by_role("row", name=re.compile("Repas"))).to_contain_text(
        eloise["wallets"][0]["structured_communication"]
    )
    checked(page)

    # a refused change: the error on its field, which has the focus
    first_name = page.get_by_label("Prénom", exact=True)
    first_name.fill("")
    press(page, first_name)
    expect(page.get_by_role("alert")).to_contain_text("La fiche n'a pas été enregistrée")
    expect(first_name).to_be_focused()
    expect(first_name).to_have_attribute("aria-invalid", "true")
    checked(page)

    first_name.fill("Éloïse")
    klass = page.get_by_label("Classe", exact=True)
    klass.fill(moved_to)
    press(page, klass)
    expect(page.get_by_role("status").first).to_contain_text(
        f"Les modifications de Éloïse {last} sont enregistrées."
    )
    expect(page.locator("#student-class")).to_have_text(moved_to)
    checked(page)
    assert expect_status(staff.get(f"/admin/students/{eloise['id']}")).json()["class_name"] == moved_to

    # the year turns: Noah's class (Éloïse no longer in it) moves in one step, after the confirmation
    page.goto(base + "/gestion/eleves/changer-de-classe")
    checked(page)
    page.get_by_label("Classe actuelle").select_option(here)
    page.get_by_label("Nouvelle classe").fill(next_year)
    press(page, page.get_by_role("button", name="Continuer"))
    expect(page.locator("#move-count")).to_have_text(f"1 élève de {here} passera en {next_year}.")
    checked(page)
    press(page, page.get_by_role("button", name=f"Faire passer 1 élève en {next_year}"))
    expect(page.get_by_role("status").first).to_contain_text(f"1 élève de {here} est passé en {next_year}.")
    checked(page)
    listed = expect_status(staff.get("/admin/students", params={"class_name": next_year})).json()["items"]
    assert [s["id"] for s in listed] == [noah["id"]]

    page.goto(base + f"/gestion/eleves?class_name={next_year}&lang=nl")
    expect(page.get_by_role("link", name=re.compile("Noah"))).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Beheer").get_by_role("link", name="Leerlingen")
    ).to_be_visible()
    checked(page)
