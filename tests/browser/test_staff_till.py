"""The till in the browser, on a phone (issue #17): a child found in a few keystrokes, items tapped into
the cart with no page load between taps, the sale booked with the new balance said and the search
focused for the next child; a short balance refused with a clear message and nothing booked; the same
flow without JavaScript (plain forms); the price list's page. axe-core finds no serious or critical
violation on any of these pages and states."""

from __future__ import annotations

import re

import pytest

from tests.browser.axe import axe_audit
from tests.browser.focus import focus_reaches
from tests.browser.test_staff_events import fits_the_screen, press, staff_sign_in
from tests.factories import expect, new_school, unique

pytestmark = pytest.mark.browser


@pytest.fixture
def school(suite):
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    staff.klass = unique("K")
    staff.last = unique("Caisse").capitalize()
    staff.emma = staff.create_student("Emma", staff.last, staff.klass)
    staff.noah = staff.create_student("Noah", staff.last, staff.klass)
    wallet = staff.emma["wallets"][0]["id"]
    expect(staff.post(f"/admin/wallets/{wallet}/top-ups", json={"amount_cents": 500, "method": "cash"}), 201)
    for label, cents, childcare in (
        ("Soupe", 120, False),
        ("Garderie", 250, True),
        ("Repas chaud", 395, False),
    ):
        body = {"label": label, "price_cents": cents, "childcare": childcare}
        expect(staff.post("/admin/till/items", json=body), 201)
    return staff


def balance(staff, student) -> int:
    return expect(staff.get(f"/admin/students/{student['id']}/wallets")).json()["items"][0]["balance_cents"]


def sales(staff, student) -> list:
    return expect(staff.get("/admin/sales", params={"student_id": student["id"], "period": "today"})).json()[
        "items"
    ]


def item(page, label: str):
    """The price list's button of ``label`` (its name: the label, the price, maybe "garderie")."""
    return page.locator(".till-items").get_by_role("button", name=re.compile(rf"^{re.escape(label)}\b"))


def sell(page, amount: str):
    """The "Encaisser" button, checking the amount it shows."""
    button = page.get_by_role("button", name=re.compile(r"^Encaisser"))
    assert " ".join(button.inner_text().split()) == f"Encaisser {amount}"
    return button


def total(page) -> str:
    return " ".join(page.inner_text("#till-total").split())


def test_a_child_is_found_items_tapped_and_the_sale_booked_without_a_page_load(suite, page, school):
    staff_sign_in(page, suite, school)
    press(page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Caisse"))
    assert page.get_by_role("heading", level=1).inner_text() == "Caisse"
    focus_reaches(page, "till-q")
    assert fits_the_screen(page)
    axe_audit(page)
    page.evaluate("() => { window.tillStayed = true; }")  # gone if the page is ever loaded again

    page.keyboard.type(school.last[:6].lower())  # a few keystrokes, no Enter
    emma = page.get_by_role("link", name=f"Emma {school.last} {school.klass}")
    emma.wait_for()
    assert "2 élèves trouvés" in page.inner_text("#till-results")
    axe_audit(page)
    emma.click()
    page.get_by_role("heading", name=f"Emma {school.last}").wait_for()
    assert "5,00" in page.inner_text(".till-wallets")
    axe_audit(page)

    soup = item(page, "Soupe")
    soup.click()
    soup.click()
    item(page, "Garderie").click()
    assert total(page) == "Total 4,90 €"
    assert page.get_by_role("button", name="Un de moins : Soupe").is_visible()
    page.get_by_role("button", name="Un de plus : Garderie").click()
    page.get_by_role("button", name="Un de moins : Garderie").click()
    assert total(page) == "Total 4,90 €"
    assert sell(page, "4,90 €").is_enabled()
    assert fits_the_screen(page)
    axe_audit(page)

    sell(page, "4,90 €").click()
    notice = page.locator(".till-notice")
    notice.wait_for()
    assert " ".join(notice.inner_text().split()) == (
        f"Vendu à Emma {school.last} : 4,90 € du portefeuille Repas. Nouveau solde : 0,10 €."
    )
    focus_reaches(page, "till-q")  # the next child
    assert page.evaluate("() => window.tillStayed === true")  # no page load since the till opened
    assert balance(school, school.emma) == 10
    assert [ln["label"] for ln in sales(school, school.emma)] == ["Soupe", "Garderie"]
    axe_audit(page)

    # the next child is Emma again, by her class: her 0,10 € do not pay for a soup
    page.keyboard.type(school.klass)
    page.get_by_role("link", name=f"Emma {school.last} {school.klass}").click()
    page.get_by_role("heading", name=f"Emma {school.last}").wait_for()
    item(page, "Soupe").click()
    assert page.locator("[data-short]").is_visible()
    sell(page, "1,20 €").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Solde insuffisant" in alert.inner_text() and "Rien n'a été encaissé." in alert.inner_text()
    focus_reaches(page, "till-error")
    assert total(page) == "Total 1,20 €"  # the cart stays
    assert balance(school, school.emma) == 10 and len(sales(school, school.emma)) == 2
    assert page.evaluate("() => window.tillStayed === true")
    axe_audit(page)


def test_the_till_works_without_javascript(suite, browser, school):
    """The same pages as above (axe-core audits them there: it needs JavaScript to run)."""
    ctx = browser.new_context(
        viewport={"width": 820, "height": 1180}, locale="fr-BE", java_script_enabled=False
    )
    page = ctx.new_page()
    page.set_default_timeout(30000)
    try:
        staff_sign_in(page, suite, school)
        page.goto(suite.base_url + "/gestion/caisse")
        page.fill("#till-q", school.last.lower())
        press(page, page.get_by_role("button", name="Chercher"))
        press(page, page.get_by_role("link", name=f"Emma {school.last} {school.klass}"))
        press(page, item(page, "Repas chaud"))
        assert total(page) == "Total 3,95 €"
        press(page, sell(page, "3,95 €"))
        assert "Nouveau solde : 1,05 €" in " ".join(page.inner_text(".flashes").split())
        assert balance(school, school.emma) == 105
    finally:
        ctx.close()


def test_the_price_list_is_managed_on_its_page(suite, page, school):
    staff_sign_in(page, suite, school)
    page.goto(suite.base_url + "/gestion/caisse/articles")
    assert page.get_by_role("heading", level=1).inner_text() == "Articles de la caisse"
    assert fits_the_screen(page)
    axe_audit(page)
    page.fill("#label", "Croissant")
    page.fill("#price", "un euro")
    press(page, page.get_by_role("button", name="Ajouter l'article"))
    assert "Indiquez un prix en euros" in page.inner_text("#price-error")
    axe_audit(page)
    page.fill("#price", "1,30")
    page.get_by_label("Garderie (accueil extrascolaire").check()
    press(page, page.get_by_role("button", name="Ajouter l'article"))
    assert "« Croissant » ajouté à la caisse." in page.inner_text(".flashes")
    items = expect(school.get("/admin/till/items")).json()["items"]
    assert [(i["label"], i["price_cents"], i["childcare"]) for i in items][-1] == ("Croissant", 130, True)

    press(page, page.get_by_role("link", name="Archiver Croissant"))
    axe_audit(page)
    press(page, page.get_by_role("button", name="Archiver l'article"))
    assert "Croissant" not in [i["label"] for i in expect(school.get("/admin/till/items")).json()["items"]]
