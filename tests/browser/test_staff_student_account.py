"""A student's statement of account in a real browser on a 375 px phone screen, with the keyboard: from
the student's page to the statement, a period refused on its field (focused), then a valid one;
axe-core and no sideways scroll on every page."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from kit.dates import BRUSSELS
from tests.browser.test_staff_second_factor import PHONE, checked, press, sign_in_with_keyboard
from tests.factories import expect as expect_status
from tests.factories import new_school, unique

pytestmark = pytest.mark.browser


def test_a_manager_reads_a_students_statement_of_account(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    expect_status(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    last = unique("Maes").capitalize()
    student = staff.create_student("Lina", last, unique("2B-"))

    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    page.goto(f"{suite.base_url}/gestion/eleves/{student['id']}")
    checked(page)
    press(page, page.locator("#statement-link"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Relevé de compte de Lina {last}")
    expect(page.locator("table.statement caption")).to_have_text("Repas")
    expect(page.locator("td.closing")).to_contain_text("0,00")
    checked(page)

    tomorrow = (dt.datetime.now(BRUSSELS).date() + dt.timedelta(days=2)).isoformat()
    page.goto(f"{suite.base_url}/gestion/eleves/{student['id']}/releve-de-compte?to={tomorrow}")
    expect(page.locator("#to-error")).to_contain_text("ne peut pas être après aujourd'hui")
    expect(page.locator("#to")).to_be_focused()
    checked(page)
