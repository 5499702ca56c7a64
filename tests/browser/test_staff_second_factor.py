"""Two-step verification in a real browser on a 375 px phone screen, with the keyboard: a manager sets
it up from the security page (the QR code, the key typed into a pyotp "phone", a first code, the
recovery codes saved), signs out, and signs in again with a code, then with a recovery code; axe-core
finds no serious or critical violation on any of these pages."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.axe import axe_audit
from tests.factories import new_school

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


class Authenticator:
    """The manager's phone: each TOTP step's code used once (auth never takes one twice)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = -1

    def code(self) -> str:
        step = max(int(time.time()) // 30, self.last_step + 1)
        while step > int(time.time()) // 30 + 1:
            time.sleep(1)
        self.last_step = step
        return self.totp.at(step * 30)


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def checked(page) -> None:
    """What every page here must be: no serious or critical axe-core violation, no sideways scroll."""
    axe_audit(page)
    assert fits_the_screen(page), f"{page.url} is wider than the phone"


def press(page, locator, key: str = "Enter") -> None:
    """Focus ``locator`` and press ``key`` (the keyboard only), waiting for the page it leads to."""
    locator.focus()
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in_with_keyboard(page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/connexion")
    page.get_by_label("Nom d'utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    press(page, page.get_by_label("Mot de passe"))


def sign_out(page) -> None:
    page.locator("details.menu summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Se déconnecter").click()


def set_up_second_factor(page, base_url: str) -> tuple[Authenticator, list[str]]:
    """From the security page: the QR code, the key by hand, the first code, the codes saved."""
    page.goto(base_url + "/compte/securite")
    press(page, page.get_by_role("button", name="Configurer la validation en deux étapes"))
    expect(page).to_have_url(re.compile(r"/compte/securite/configurer$"))
    qr = page.get_by_role("img", name="Code QR à scanner avec votre application d'authentification")
    expect(qr).to_be_visible()
    checked(page)
    phone = Authenticator(page.locator("#secret").inner_text().replace(" ", ""))
    field = page.get_by_label("Code de validation")
    assert field.get_attribute("autocomplete") == "one-time-code"
    field.fill("000000")
    press(page, field)
    expect(page.get_by_role("alert")).to_contain_text("Ce code n'est pas le bon.")
    assert page.get_by_label("Code de validation").get_attribute("aria-invalid") == "true"
    checked(page)
    page.get_by_label("Code de validation").fill(phone.code())
    press(page, page.get_by_label("Code de validation"))

    expect(page).to_have_url(re.compile(r"/compte/securite/codes-de-secours$"))
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    checked(page)
    press(page, page.get_by_role("button", name="Continuer"))  # not ticked yet
    expect(page.get_by_role("alert")).to_contain_text("ne seront plus affichés")
    box = page.get_by_label("J'ai enregistré ces codes en lieu sûr")
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    press(page, page.get_by_role("button", name="Continuer"))
    return phone, codes


def test_a_manager_sets_up_two_step_verification_and_signs_in_with_it(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    expect(page).to_have_url(re.compile(r"/gestion$"))
    checked(page)

    phone, codes = set_up_second_factor(page, suite.base_url)
    expect(page).to_have_url(re.compile(r"/gestion$"))
    expect(page.get_by_role("status").first).to_contain_text("La validation en deux étapes est activée.")
    page.goto(suite.base_url + "/compte/securite")
    expect(page.get_by_text("Activée", exact=True)).to_be_visible()
    assert codes[0] not in page.content()  # shown once
    checked(page)
    sign_out(page)

    # the password alone no longer opens
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    expect(page).to_have_url(re.compile(r"/connexion/code$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Validation en deux étapes")
    checked(page)
    code_field = page.get_by_label("Code de validation")
    code_field.fill("123 456" if phone.totp.now() != "123456" else "654 321")
    press(page, code_field)
    expect(page.get_by_role("alert")).to_contain_text("Ce code n'est pas le bon.")
    assert "otp-error" in page.get_by_label("Code de validation").get_attribute("aria-describedby")
    checked(page)
    page.get_by_label("Code de validation").fill(phone.code())
    press(page, page.get_by_label("Code de validation"))
    expect(page).to_have_url(re.compile(r"/gestion$"))
    sign_out(page)

    # a recovery code, from the link on the code page
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    press(page, page.get_by_role("link", name="Utiliser un code de secours"))
    checked(page)
    page.get_by_label("Code de secours").fill(codes[4].lower())  # as typed: case does not matter
    press(page, page.get_by_label("Code de secours"))
    expect(page).to_have_url(re.compile(r"/gestion$"))


def test_a_school_requiring_it_sends_a_manager_without_one_to_the_set_up(suite, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    page.goto(suite.base_url + "/gestion/securite")
    checked(page)
    box = page.get_by_label("Exiger la validation en deux étapes pour tout le personnel")
    box.focus()
    page.keyboard.press("Space")
    press(page, page.get_by_role("button", name="Enregistrer"))
    # the manager has none yet: every page now leads to the set-up, without the navigation
    page.goto(suite.base_url + "/gestion/parents")
    expect(page).to_have_url(re.compile(r"/compte/securite$"))
    expect(page.get_by_text("Votre établissement exige la validation en deux étapes")).to_be_visible()
    expect(page.get_by_role("navigation", name="Gestion")).to_have_count(0)
    checked(page)
    set_up_second_factor(page, suite.base_url)
    expect(page).to_have_url(re.compile(r"/gestion$"))
    expect(page.get_by_role("navigation", name="Gestion")).to_be_visible()
    page.goto(suite.base_url + "/gestion/securite")
    expect(page.get_by_label("Exiger la validation en deux étapes pour tout le personnel")).to_be_checked()
    expect(page.get_by_text("Tout le personnel l'a configurée.")).to_be_visible()
