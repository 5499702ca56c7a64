"""The school's people in a real browser on a 375 px phone screen, with the keyboard: a manager finds a
parent by name, disables the account (the parent's open session ends, and signing in with the right
password shows why it no longer opens, answered 403), enables it again; the colleagues' page; and
axe-core on every page the staff layout, the people and the account pages touch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_second_factor import (
    PHONE,
    checked,
    press,
    set_up_second_factor,
    sign_in_with_keyboard,
    sign_out,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    ParentClient,
    anonymous,
    new_family,
    new_school,
    unique,
    wait_for_token,
)
from tests.factories import expect as expect_status

pytestmark = pytest.mark.browser

DISABLED = "Ce compte a été désactivé par l'établissement scolaire."


def test_a_manager_disables_a_parent_who_can_then_no_longer_sign_in(suite, browser, page):
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    last = unique("Lemaître-").capitalize()
    family = new_family(suite, staff, first_name="Anaïs", last_name=last, children=[{"first_name": "Lina"}])

    # the parent is signed in on their own phone
    parents_phone = browser.new_context(viewport=PHONE, locale="fr-BE").new_page()
    family.browser_login(parents_phone)
    expect(parents_phone).to_have_url(re.compile(r"/tableau-de-bord$"))

    sign_in_with_keyboard(page, suite.base_url, staff.username, staff.password)
    press(
        page, page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Parents", exact=True)
    )
    checked(page)
    page.get_by_label("Nom ou adresse e-mail").fill(f"anais {last.lower()}")  # no accent typed
    press(page, page.get_by_label("Nom ou adresse e-mail"))
    expect(page.get_by_role("status").filter(has_text="1 parent trouvé.")).to_be_visible()
    checked(page)
    press(page, page.get_by_role("link", name=f"{last} Anaïs"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Anaïs {last}")
    expect(page.locator("#parent-status")).to_have_text("Actif")
    checked(page)

    press(page, page.get_by_role("button", name="Désactiver le compte"))
    expect(page.get_by_role("status").first).to_contain_text("Le compte est désactivé")
    expect(page.locator("#parent-status")).to_have_text("Désactivé")
    expect(page.get_by_role("button", name="Renvoyer un jeton de connexion")).to_have_count(0)
    checked(page)

    # the parent's session ended at once: their next page asks them to sign in
    parents_phone.reload()
    expect(parents_phone).to_have_url(re.compile(r"/connexion\?next="))
    parents_phone.get_by_label("Nom d'utilisateur").fill(family.username)
    parents_phone.get_by_label("Mot de passe").fill(family.password)
    with parents_phone.expect_response(
        lambda r: r.request.method == "POST" and "/connexion" in r.url
    ) as answer:
        parents_phone.get_by_label("Mot de passe").press("Enter")
    assert answer.value.status == 403
    expect(parents_phone.get_by_role("alert")).to_contain_text(DISABLED)
    checked(parents_phone)
    parents_phone.context.close()

    # enabled again: the same password opens
    press(page, page.get_by_role("button", name="Réactiver le compte"))
    expect(page.locator("#parent-status")).to_have_text("Actif")
    expect_status(
        anonymous(suite).post("/session", json={"username": family.username, "password": family.password})
    )


def _family_and_invited(suite, staff) -> tuple[ParentClient, dict]:
    """A parent who made their first connection (of Noé) and one still invited (of Zoé), both
    created before either token mail is waited for (new_family then invite_parent wait in turn)."""
    last = unique("Famille").capitalize()
    noe = staff.create_student("Noé", last, "1A")
    zoe = staff.create_student("Zoé", last, "1A")
    emails = [f"{unique('famille-')}@example.test" for _ in range(2)]
    made = [
        staff.create_parent("Sophie", last, e, [kid["id"]]) for e, kid in zip(emails, (noe, zoe), strict=True)
    ]
    tokens = [wait_for_token(suite, e) for e in emails]
    session = expect_status(
        anonymous(suite).post(
            "/activation",
            json={"token": tokens[0], "password": DEFAULT_PASSWORD, "password_confirm": DEFAULT_PASSWORD},
        )
    ).json()
    family = ParentClient(
        suite,
        parent_id=made[0]["id"],
        username=made[0]["username"],
        password=DEFAULT_PASSWORD,
        email=emails[0],
        session=session,
    )
    return family, {**made[1], "email": emails[1], "token": tokens[1]}


def test_every_page_touched_passes_axe_on_a_phone(suite, browser, page):
    # Each page state is loaded once: the sign-in lands on /gestion, the token form is filled where
    # its French version is checked, the refused sign-in is sent from the page just checked, and the
    # language cookie goes back to French on a page the list checks anyway.
    page.set_viewport_size(PHONE)
    staff = new_school(suite)
    family, invited = _family_and_invited(suite, staff)
    base = suite.base_url

    # (?lang= keeps the language in a cookie)
    for path in ("/connexion?lang=en", "/jeton?lang=nl", "/jeton?lang=fr"):
        page.goto(base + path)
        checked(page)
    page.get_by_label("Jeton de connexion").fill(invited["token"])
    press(page, page.get_by_label("Jeton de connexion"))
    expect(page).to_have_url(re.compile(r"/jeton/mot-de-passe$"))
    checked(page)
    page.goto(base + "/connexion")
    checked(page)
    # a refused form shows its errors tied to the fields
    press(page, page.get_by_role("button", name="CONNEXION"))
    checked(page)

    sign_in_with_keyboard(page, base, staff.username, staff.password)
    expect(page).to_have_url(re.compile(r"/gestion$"))
    for path in (
        None,  # /gestion, where the sign-in landed
        "/gestion/parents",
        "/gestion/parents?status=invited",
        f"/gestion/parents/{family.id}?eleve=zoe",  # with the student picker's answer
        f"/gestion/parents/{invited['id']}",
        "/gestion/collegues",
        "/gestion/securite",
        "/gestion/courriels-en-echec",
        "/gestion/documents",
        "/gestion/extraits",
        "/gestion/photos",
        "/gestion/reunions",
        "/mot-de-passe",
        "/gestion/parents?lang=nl",
        "/gestion/collegues?lang=en",
        "/compte/securite?lang=fr",
    ):
        if path:
            page.goto(base + path)
        expect(page.get_by_role("navigation", name=re.compile("Gestion|Beheer|Management"))).to_have_count(1)
        checked(page)
    set_up_second_factor(page, base)  # checks the set-up and recovery-code pages on the way
    page.goto(base + "/compte/securite")
    checked(page)  # with the turn-off form
    press(page, page.get_by_role("button", name="Désactiver"))  # neither code nor password
    expect(page.get_by_role("alert")).to_be_visible()
    checked(page)
    sign_out(page)

    # the parent's side: the security page (opt-in) and the code asked at sign-in
    family.browser_login(page)
    page.goto(base + "/compte/securite")
    expect(page.get_by_role("navigation", name="Modules")).to_be_visible()
    checked(page)
    set_up_second_factor(page, base)
    sign_out(page)
    sign_in_with_keyboard(page, base, family.username, family.password)
    expect(page).to_have_url(re.compile(r"/connexion/code$"))
    checked(page)
    page.goto(base + "/connexion/code?secours=1&lang=nl")
    checked(page)
