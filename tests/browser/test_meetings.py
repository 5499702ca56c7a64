"""Booking a parent meeting on a phone: radio buttons per teacher, "Réserver", "Annuler"; and the
staff's printable schedule."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser

BRUSSELS = ZoneInfo("Europe/Brussels")


def open_evening(staff) -> dict:
    now = datetime.now(BRUSSELS)
    day = (now + timedelta(days=4)).date()
    body = {
        "title": "Réunion de parents de novembre",
        "date": day.isoformat(),
        "start_time": "17:00",
        "end_time": "18:00",
        "slot_minutes": 15,
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": datetime.combine(day - timedelta(days=1), time(12), BRUSSELS).isoformat(),
        "teachers": [
            {"name": "Mme Dubois", "room": "Local 12", "class_names": ["4B"]},
            {"name": "M. Janssens", "class_names": ["4B"]},
        ],
    }
    return expect(staff.post("/admin/meetings", json=body), 201).json()


def test_a_parent_books_a_slot_and_cancels_it_on_a_phone(suite, page):
    staff = new_school(suite)
    family = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "4B"}])
    evening = open_evening(staff)
    family.browser_login(page)

    page.goto(suite.base_url + "/reunions")
    assert page.get_by_role("heading", level=1).inner_text() == "Réunions de parents"
    assert page.get_by_role("heading", name="Réunion de parents de novembre").is_visible()
    dubois = page.get_by_role("group", name=re.compile("Mme Dubois"))
    assert dubois.get_by_role("radio").count() == 4
    # Keyboard: into the first slot, arrow to the next one, then the form's button.
    dubois.get_by_role("radio", name=re.compile("^17:00")).focus()
    page.keyboard.press("ArrowDown")
    assert dubois.get_by_role("radio", name=re.compile("^17:15")).is_checked()
    page.get_by_role("button", name="Réserver : Mme Dubois").click()
    page.wait_for_load_state()

    status = page.get_by_role("status")
    assert "Rendez-vous réservé avec Mme Dubois" in status.inner_text() and "17:15" in status.inner_text()
    card = page.locator(
        "#enseignant-" + next(t["id"] for t in evening["teachers"] if t["name"] == "Mme Dubois")
    )
    assert "17:15 – 17:30" in card.inner_text()
    mine = page.locator("#mes-rendez-vous")
    assert "Mme Dubois" in mine.inner_text() and "17:15 – 17:30" in mine.inner_text()
    # The other teacher still offers every slot, the booked one is gone for everyone else.
    assert page.get_by_role("group", name=re.compile("M. Janssens")).get_by_role("radio").count() == 4
    other = new_family(suite, staff, children=[{"first_name": "Tom", "class_name": "4B"}])
    [ev] = [e for e in expect(other.get("/meetings"), 200).json()["items"] if e["id"] == evening["id"]]
    free = next(t for t in ev["teachers"] if t["name"] == "Mme Dubois")["free_slots"]
    assert [s["starts_at"][11:16] for s in free] == ["17:00", "17:30", "17:45"]

    # Nothing chosen: the form says so instead of sending.
    page.get_by_role("button", name="Réserver : M. Janssens").click()
    assert (
        page.get_by_role("group", name=re.compile("M. Janssens"))
        .get_by_role("radio")
        .first.evaluate("el => !el.validity.valid")
    )

    page.get_by_role("button", name=re.compile("^Annuler : le rendez-vous avec Mme Dubois")).click()
    page.wait_for_load_state()
    assert "annulé" in page.get_by_role("status").inner_text()
    assert page.get_by_role("group", name=re.compile("Mme Dubois")).get_by_role("radio").count() == 4
    assert "Vous n'avez pas encore de rendez-vous" in page.locator("#mes-rendez-vous").inner_text()


def test_the_page_speaks_dutch_and_english(suite, page):
    staff = new_school(suite)
    family = new_family(suite, staff, children=[{"first_name": "Ines", "class_name": "4B"}])
    open_evening(staff)
    family.browser_login(page)
    page.goto(suite.base_url + "/reunions?lang=nl")
    assert page.get_by_role("heading", level=1).inner_text() == "Oudercontacten"
    assert page.get_by_role("button", name="Reserveren : Mme Dubois").is_visible()
    page.goto(suite.base_url + "/reunions?lang=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Parent meetings"
    assert page.get_by_role("button", name="Book : Mme Dubois").is_visible()


def test_staff_print_one_teacher_a_page(suite, page):
    staff = new_school(suite)
    family = new_family(
        suite, staff, children=[{"first_name": "Lina", "last_name": "Martin", "class_name": "4B"}]
    )
    evening = open_evening(staff)
    [ev] = [e for e in expect(family.get("/meetings"), 200).json()["items"] if e["id"] == evening["id"]]
    evening_slot = next(t for t in ev["teachers"] if t["name"] == "M. Janssens")["free_slots"][2]
    slot = expect(family.post(f"/meetings/slots/{evening_slot['id']}/booking"), 201).json()
    page.goto(suite.base_url + "/connexion")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("form[action='/connexion'] button[type=submit]").click()
    page.goto(suite.base_url + f"/gestion/reunions/{evening['id']}/horaire")
    janssens = page.get_by_role("region", name="M. Janssens")
    row = janssens.get_by_role("row", name=re.compile("^17:30"))
    assert "Lina Martin" in row.inner_text() and "4B" in row.inner_text()
    assert slot["teacher_name"] == "M. Janssens"
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Imprimer").is_visible()
    assert not page.locator("header.top").is_visible()
    assert (
        page.locator(".meeting-schedule").nth(1).evaluate("el => getComputedStyle(el).breakBefore") == "page"
    )
