"""A parent's first connection in a real browser on a phone-sized screen, as the guide tells it: the
token from the mail, the password typed twice, signed in at once, then the choice of a child."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import (
    DEFAULT_PASSWORD,
    client_address_header,
    invite_parent,
    new_family,
    new_school,
    tokens_mailed_to,
    unique,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def staff(suite):
    return new_school(suite)


def test_first_connection_with_the_mailed_token_then_child_choice(suite, staff, page):
    emma = staff.create_student("Emma", unique("Peeters").capitalize(), "3A")
    noah = staff.create_student("Noah", emma["last_name"], "1B")
    invited = invite_parent(suite, staff, children=[emma, noah])

    page.goto(suite.base_url + "/connexion")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="JETON DE CONNEXION").click()
    expect(page).to_have_url(re.compile(r"/jeton$"))

    # the token as copied from the mail, with spaces around it
    token_field = page.get_by_label("Jeton de connexion")
    assert token_field.get_attribute("autocomplete") == "one-time-code"
    token_field.fill(f"  {invited['token']}  ")
    page.get_by_role("button", name="CONNEXION").click()

    # second step: the password twice; the token is not in the URL
    expect(page).to_have_url(re.compile(r"/jeton/mot-de-passe$"))
    assert invited["token"] not in page.url
    expect(page.get_by_text(invited["username"])).to_be_visible()
    page.get_by_label("Nouveau mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill("something else entirely")
    page.get_by_role("button", name="MODIFIER").click()
    error = page.get_by_role("alert").filter(has_text="Les deux mots de passe sont différents.")
    expect(error).to_be_visible()
    assert page.get_by_label("Confirmez le mot de passe").get_attribute("aria-invalid") == "true"

    page.get_by_label("Nouveau mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="MODIFIER").click()

    # signed in at once; two children: the choice
    expect(page).to_have_url(re.compile(r"/enfants$"))
    buttons = page.get_by_role("button", name=re.compile("^Se connecter avec ce compte"))
    expect(buttons).to_have_count(2)
    expect(page.get_by_role("heading", name=re.compile("^Emma "))).to_be_visible()
    page.get_by_role("button", name=re.compile("Se connecter avec ce compte : Noah")).click()

    expect(page).to_have_url(re.compile(r"/tableau-de-bord$"))
    menu = page.locator("details.menu summary")
    expect(menu).to_contain_text("Noah")

    # the account menu: switch child, then sign out
    menu.click()
    page.get_by_role("link", name="Changer d'enfant").click()
    expect(page).to_have_url(re.compile(r"/enfants$"))
    page.get_by_role("button", name=re.compile("Se connecter avec ce compte : Emma")).click()
    expect(page.locator("details.menu summary")).to_contain_text("Emma")
    page.locator("details.menu summary").click()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    page.goto(suite.base_url + "/tableau-de-bord")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))

    # next connection: username and password
    page.get_by_label("Nom d'utilisateur").fill(invited["username"])
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="CONNEXION").click()
    expect(page).to_have_url(re.compile(r"/enfants$"))  # several children: the choice again (guide, 2°)


def test_a_used_token_gets_a_clear_message(suite, staff, page):
    family = new_family(suite, staff)
    used = tokens_mailed_to(suite, family.email)[0]
    page.goto(suite.base_url + "/jeton")
    page.get_by_label("Jeton de connexion").fill(used)
    page.get_by_role("button", name="CONNEXION").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("déjà été utilisé")
    field = page.get_by_label("Jeton de connexion")
    assert field.get_attribute("aria-invalid") == "true"
    assert "token-error" in field.get_attribute("aria-describedby")


def test_with_one_child_the_parent_lands_on_the_dashboard(suite, staff, page):
    family = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "2C"}])
    page.goto(suite.base_url + "/connexion")
    page.get_by_label("Nom d'utilisateur").fill(family.username)
    page.get_by_label("Mot de passe").fill(family.password)
    page.keyboard.press("Enter")  # the keyboard is enough
    expect(page).to_have_url(re.compile(r"/tableau-de-bord$"))
    expect(page.locator("details.menu summary")).to_contain_text("Lina")
    page.locator("details.menu summary").click()
    expect(page.get_by_role("link", name="Changer d'enfant")).to_have_count(0)


def test_wrong_password_and_forgotten_password_pages(suite, staff, page):
    family = new_family(suite, staff)
    page.set_extra_http_headers(client_address_header())  # its own address: its own reset limit
    page.goto(suite.base_url + "/connexion")
    page.get_by_label("Nom d'utilisateur").fill(family.username)
    page.get_by_label("Mot de passe").fill("not the password")
    page.get_by_role("button", name="CONNEXION").click()
    expect(page.get_by_role("alert")).to_contain_text("Nom d'utilisateur ou mot de passe incorrect.")

    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_label("Adresse e-mail").fill(f"{unique('inconnu-')}@example.test")
    page.get_by_role("button", name="ENVOYER").click()
    expect(page.get_by_role("status").last).to_contain_text(
        "Si vous ne recevez rien, contactez le gestionnaire de votre établissement scolaire."
    )
    unknown_text = page.locator("main").inner_text()
    page.goto(suite.base_url + "/mot-de-passe-oublie")
    page.get_by_label("Adresse e-mail").fill(family.email)
    page.get_by_role("button", name="ENVOYER").click()
    expect(page.get_by_role("status").last).to_be_visible()
    assert page.locator("main").inner_text() == unknown_text  # the same page, known or not


def test_pages_in_dutch(suite, staff, page):
    page.goto(suite.base_url + "/connexion?lang=nl")
    expect(page.get_by_label("Gebruikersnaam")).to_be_visible()
    expect(page.get_by_role("button", name="AANMELDEN")).to_be_visible()
    page.get_by_role("link", name="VERBINDINGSCODE").click()
    expect(page.get_by_label("Verbindingscode")).to_be_visible()


def test_password_change_from_the_account_menu(suite, staff, page):
    family = new_family(suite, staff, children=[{"first_name": "Lina"}, {"first_name": "Hugo"}])
    chosen = family.children[1]
    family.browser_login(page, child_id=chosen["id"])
    expect(page).to_have_url(re.compile(r"/tableau-de-bord$"))
    page.locator("details.menu summary").click()
    page.get_by_role("link", name="Changer le mot de passe").click()
    expect(page).to_have_url(re.compile(r"/mot-de-passe$"))
    page.get_by_label("Mot de passe actuel").fill("not my password")
    page.get_by_label("Nouveau mot de passe").fill("Cerf-volant rouge au vent 9")
    page.get_by_label("Confirmez le mot de passe").fill("Cerf-volant rouge au vent 9")
    page.get_by_role("button", name="MODIFIER").click()
    expect(page.get_by_role("alert")).to_contain_text("Le mot de passe actuel est incorrect.")
    assert page.get_by_label("Mot de passe actuel").get_attribute("aria-invalid") == "true"

    page.get_by_label("Mot de passe actuel").fill(family.password)
    page.get_by_label("Nouveau mot de passe").fill("password")
    page.get_by_label("Confirmez le mot de passe").fill("password")
    page.get_by_role("button", name="MODIFIER").click()
    expect(page.get_by_role("alert")).to_contain_text("trop courant")

    page.get_by_label("Mot de passe actuel").fill(family.password)
    page.get_by_label("Nouveau mot de passe").fill("Cerf-volant rouge au vent 9")
    page.get_by_label("Confirmez le mot de passe").fill("Cerf-volant rouge au vent 9")
    page.get_by_role("button", name="MODIFIER").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord$"))
    expect(page.get_by_text("Votre mot de passe a été modifié.")).to_be_visible()
    expect(page.locator("details.menu summary")).to_contain_text(
        chosen["first_name"]
    )  # still the chosen child
