"""The school's events managed on a phone with the keyboard only: publish (a mistake first, shown on
its field), edit, delete after the confirmation step; axe-core finds no serious or critical violation
on any of the pages; the parent's dashboard follows each change."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.axe import axe_audit
from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser

BRUSSELS = ZoneInfo("Europe/Brussels")


def staff_sign_in(page, suite, staff) -> None:
    page.goto(suite.base_url + "/connexion")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("form[action='/connexion'] button[type=submit]").click()


def press(page, locator, key: str = "Enter") -> None:
    """Focus ``locator`` and press ``key``, waiting for the page it leads to."""
    locator.focus()
    with page.expect_navigation():
        page.keyboard.press(key)


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def parent_sees(parent) -> list[str]:
    return [e["title"] for e in expect(parent.get("/dashboard")).json()["events"]]


def test_staff_publish_edit_and_delete_an_event_by_keyboard_on_a_phone(suite, page):
    staff = new_school(suite)
    parent = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "3A"}])
    staff_sign_in(page, suite, staff)

    page.goto(suite.base_url + "/gestion/evenements")
    assert page.get_by_role("heading", level=1).inner_text() == "Évènements"
    assert "Aucun évènement pour cette période." in page.inner_text("main")
    assert fits_the_screen(page)
    axe_audit(page)

    # -- publish: first without a title, the mistake is said on its field
    press(page, page.get_by_role("link", name="Publier un évènement"))
    assert page.get_by_role("heading", level=1).inner_text() == "Publier un évènement"
    axe_audit(page)
    day = (datetime.now(BRUSSELS) + timedelta(days=5)).date()
    # a date field's segments take their own keys in each browser: filled; the rest typed
    page.get_by_label("Début").fill(f"{day.isoformat()}T18:00")
    page.get_by_label("Fin (facultatif)").fill(f"{day.isoformat()}T21:00")
    page.get_by_label("Classes (facultatif)").focus()
    page.keyboard.type("3A, 3B")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    title = page.get_by_label("Titre")
    assert title.get_attribute("aria-invalid") == "true"
    error = page.locator("#" + title.get_attribute("aria-describedby").split()[-1])
    assert error.inner_text() == "Indiquez un titre de 200 caractères au plus."
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Classes (facultatif)").input_value() == "3A, 3B"  # what was typed stays
    assert fits_the_screen(page)
    axe_audit(page)

    title.focus()
    page.keyboard.type("Souper de classe")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Évènement « Souper de classe » publié." in page.get_by_role("status").inner_text()
    item = page.locator(".event-list li", has_text="Souper de classe")
    assert "18:00 – 21:00" in item.inner_text() and "3A, 3B" in item.inner_text()
    assert fits_the_screen(page)
    axe_audit(page)
    assert parent_sees(parent) == ["Souper de classe"]

    # -- edit: a new title, the whole school
    press(page, page.get_by_role("link", name="Modifier : Souper de classe"))
    assert page.get_by_role("heading", level=1).inner_text() == "Modifier l'évènement"
    axe_audit(page)
    page.get_by_label("Titre").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("Souper des parents")
    page.get_by_label("Classes (facultatif)").focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Évènement « Souper des parents » modifié." in page.get_by_role("status").inner_text()
    assert "Toute l'école" in page.locator(".event-list li", has_text="Souper des parents").inner_text()
    assert parent_sees(parent) == ["Souper des parents"]

    # -- delete: a confirmation page first, then the button
    press(page, page.get_by_role("link", name="Supprimer : Souper des parents"))
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Supprimer l'évènement « Souper des parents » ?"
    )
    assert fits_the_screen(page)
    axe_audit(page)
    assert parent_sees(parent) == ["Souper des parents"]  # asking is not deleting
    press(page, page.get_by_role("button", name="Supprimer définitivement"), key="Space")
    status = page.get_by_role("status").inner_text()
    assert "Évènement « Souper des parents » supprimé" in status
    assert "Aucun évènement pour cette période." in page.inner_text("main")
    assert parent_sees(parent) == []


def test_the_period_filter_and_its_errors(suite, page):
    staff = new_school(suite)
    now = datetime.now(BRUSSELS)
    for title, days in (("Rentrée", -30), ("Fancy-fair", 10)):
        starts = now + timedelta(days=days)
        body = {"title": title, "starts_at": starts.isoformat(), "class_names": []}
        expect(staff.post("/admin/events", json=body), 201)
    staff_sign_in(page, suite, staff)
    page.goto(suite.base_url + "/gestion/evenements")
    assert page.locator(".event-list h3").all_inner_texts() == ["Fancy-fair"]  # upcoming by default

    page.get_by_label("Du", exact=True).fill((now - timedelta(days=40)).date().isoformat())
    page.get_by_label("Au", exact=True).fill((now - timedelta(days=20)).date().isoformat())
    press(page, page.get_by_role("button", name="Afficher"))
    assert page.locator(".event-list h3").all_inner_texts() == ["Rentrée"]
    axe_audit(page)

    page.get_by_label("Du", exact=True).fill((now + timedelta(days=2)).date().isoformat())
    page.get_by_label("Au", exact=True).fill(now.date().isoformat())
    press(page, page.get_by_role("button", name="Afficher"))
    to = page.get_by_label("Au", exact=True)
    assert to.get_attribute("aria-invalid") == "true"
    assert re.search("ne peut pas précéder", page.locator("#to-error").inner_text())
    axe_audit(page)
