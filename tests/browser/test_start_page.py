"""The gateway's start page in a real browser, on a phone-sized screen."""

import pytest

pytestmark = pytest.mark.browser


def test_start_page_greets_in_french_and_switches_language(suite, page):
    page.goto(suite.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Bienvenue sur Cartable"
    assert page.get_by_role("link", name="Connexion", exact=True).is_visible()
    page.get_by_role("link", name="Nederlands").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Welkom bij Cartable"
    page.goto(suite.base_url + "/")  # the choice is remembered
    assert page.get_by_role("heading", level=1).inner_text() == "Welkom bij Cartable"


def test_start_page_can_be_used_with_the_keyboard(suite, page):
    page.goto(suite.base_url + "/?lang=fr")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Aller au contenu"  # the skip link comes first
