"""The school's settings page on a phone, by keyboard: reached from the staff navigation; the first
IBAN refused without the manager's password, then with a wrong one, each said on the password field;
a reminder number that is none said on its field; saved with the right password (the API reads what
the page wrote); a wallet type opened for every student from the same page. axe-core finds no serious
or critical violation in any of these states."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_audit
from tests.browser.test_staff_events import fits_the_screen, press, staff_sign_in
from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser

IBAN = "BE68 5390 0754 7034"


def field_error(page, name: str) -> str:
    return page.locator(f"#{name}-error").inner_text()


def test_a_manager_sets_the_school_account_reminders_and_a_wallet_type(suite, page):
    staff = new_school(suite)
    parent = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "3A"}])
    staff_sign_in(page, suite, staff)
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Réglages"))
    assert page.get_by_role("heading", level=1).inner_text() == "Réglages"
    assert fits_the_screen(page)
    axe_audit(page)

    # the first IBAN, without the password: nothing saved, the password field says why
    page.fill("#iban", IBAN)
    page.fill("#beneficiary", "École Sainte-Marie ASBL")
    page.check("input[name=top_up_methods][value=transfer]")
    press(page, page.get_by_role("button", name="Enregistrer les réglages"))
    assert "indiquez votre mot de passe" in field_error(page, "current_password")
    assert page.get_attribute("#current_password", "aria-invalid") == "true"
    assert expect(staff.get("/admin/settings")).json()["iban"] == ""
    axe_audit(page)

    # a wrong password, and a reminder number that is none
    page.fill("#current_password", "not-the-password")
    press(page, page.get_by_role("button", name="Enregistrer les réglages"))
    assert "n'est pas le bon" in field_error(page, "current_password")
    page.check("input[name=reminders_enabled]")
    page.fill("#first_after_days", "sept")
    page.fill("#current_password", staff.password)
    press(page, page.get_by_role("button", name="Enregistrer les réglages"))
    assert "entre 1 et 180" in field_error(page, "first_after_days")
    axe_audit(page)

    # corrected: saved, and the API reads what the page wrote
    page.fill("#first_after_days", "7")
    page.fill("#repeat_every_days", "10")
    page.fill("#max_count", "3")
    page.fill("#payment_plan_contact", "Mme Martin, économat, 02 123 45 67")
    page.fill("#current_password", staff.password)
    press(page, page.get_by_role("button", name="Enregistrer les réglages"))
    assert "Les réglages sont enregistrés." in page.inner_text("main")
    saved = expect(staff.get("/admin/settings")).json()
    assert (saved["iban"].replace(" ", ""), saved["beneficiary"], saved["top_up_methods"]) == (
        IBAN.replace(" ", ""),
        "École Sainte-Marie ASBL",
        ["transfer"],
    )
    assert saved["reminders"] == {
        "enabled": True,
        "first_after_days": 7,
        "repeat_every_days": 10,
        "max_count": 3,
    }
    assert page.input_value("#current_password") == ""  # never written back into the page
    # whom to contact to spread a payment: kept by notifications, which sends the reminders
    assert page.input_value("#payment_plan_contact") == "Mme Martin, économat, 02 123 45 67"
    axe_audit(page)

    # a wallet type: an empty name said on its field, then one opened for every student
    press(page, page.get_by_role("button", name="Ouvrir ce portefeuille pour chaque élève"))
    assert "Indiquez un nom de portefeuille" in page.locator("#wallet-name-error").inner_text()
    axe_audit(page)
    page.fill("#wallet-name", "Garderie")
    press(page, page.get_by_role("button", name="Ouvrir ce portefeuille pour chaque élève"))
    assert "Le portefeuille « Garderie » est ouvert pour chaque élève." in page.inner_text("main")
    assert "Garderie" in page.locator("#portefeuilles").inner_text()
    assert "Garderie" in [w["name"] for w in expect(parent.get("/wallets")).json()["items"]]
    axe_audit(page)

    # parents are not let in
    assert parent.page("/gestion/reglages").status_code == 403
