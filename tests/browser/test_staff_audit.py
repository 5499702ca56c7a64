"""The audit log's page (/gestion/journal) in a real browser on a 375 px phone screen, with the keyboard
only: reached from the staff navigation, the manager's actions said in words with their name, one
block of labelled lines per entry (no sideways scroll), "Plus ancien" to the older entries and back;
axe-core finds no serious or critical violation on either page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_second_factor import PHONE, checked, press, sign_in_with_keyboard
from tests.factories import expect as expect_status
from tests.factories import new_school

pytestmark = pytest.mark.browser

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École du Journal",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def test_a_manager_reads_the_journal_on_a_phone_with_the_keyboard(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    mark = suite.bus_mark()
    # more than a page (50) of entries: auth's own, cheap to make; then a student and the IBAN
    for _ in range(52):
        expect_status(staff.put("/admin/security-settings", json={"require_second_factor": False}))
    staff.create_student("Noé", "D'Hondt-Lefèvre", "5B")
    expect_status(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}))
    suite.wait_until_settled(mark)

    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    press(
        page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Journal", exact=True)
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal des actions")
    table = page.get_by_role("table", name="Dernières actions, de la plus récente à la plus ancienne")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(50)
    # newest first: the IBAN (and the settings saved with it), then the student, in words, with the
    # manager's name
    first, second, third = rows.nth(0), rows.nth(1), rows.nth(2)
    expect(first).to_contain_text("a changé l'IBAN")
    expect(first).to_contain_text("Claire Direction")
    expect(first).to_contain_text("Paramètres de l'école")
    expect(first).to_contain_text("BE** **** **** 7034")
    expect(second).to_contain_text("a modifié les paramètres financiers")
    expect(third).to_contain_text("a ajouté un élève")
    expect(third).to_contain_text("Noé D'Hondt-Lefèvre, 5B")
    # on the phone each entry is a block of labelled lines, one above the other
    when, who = first.locator("td").nth(0), first.locator("td").nth(1)
    expect(when).to_contain_text("Quand :")
    assert when.bounding_box()["y"] < who.bounding_box()["y"]
    assert when.bounding_box()["width"] > 250  # the cell takes the screen's width, not a column's
    checked(page)

    # the older ones, by the keyboard, then back to the latest
    press(
        page, page.get_by_role("navigation", name="Pages du journal").get_by_role("link", name="Plus ancien")
    )
    older = page.get_by_role("table", name="Actions plus anciennes, de la plus récente à la plus ancienne")
    # 56 in all: the manager's account (the operator's command), 52 settings, the student, the
    # finance settings and the IBAN
    expect(older.locator("tbody tr")).to_have_count(6)
    expect(older.locator("tbody tr").last).to_contain_text("a ajouté un membre du personnel")
    expect(older.locator("tbody tr").last).to_contain_text("Système (commande d'exploitation)")
    expect(page.get_by_role("link", name="Plus ancien")).to_have_count(0)
    checked(page)
    press(page, page.get_by_role("link", name="Revenir aux actions les plus récentes"))
    expect(
        page.get_by_role("table", name="Dernières actions, de la plus récente à la plus ancienne")
    ).to_be_visible()

    # Dutch for a Dutch-speaking colleague, the same page
    page.goto(suite.base_url + "/gestion/journal?lang=nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logboek van de acties")
    expect(page.locator("tbody tr").first).to_contain_text("heeft het IBAN gewijzigd")
    checked(page)
