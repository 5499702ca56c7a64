"""The parents' direct-debit pages in the browser, on a phone with the keyboard (issue #18): from the
"Recharger" menu of /soldes to /recharger/domiciliation, the sign form walked with the keyboard only
(IBAN, account holder, the mandate's text, an explicit "J'accepte"); an IBAN with a typo said beside
its field under a focused summary whose link leads back to it, then a holder's name too long for the
bank said on its field (kept whole, not cut short as typed), and no mandate signed meanwhile; the
signed mandate, then listed; an automatic top-up set for a wallet (a threshold that is no amount said
on its field) and its state on /soldes; the mandate revoked after a confirmation, which switches the
top-up off. axe-core finds no serious or critical violation on any page and state visited, and
nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest

from tests.browser.focus import focus_reaches, focused
from tests.browser.pages import audited, text
from tests.browser.test_staff_events import press
from tests.e2e.test_direct_debits import CREDITOR_ID, PARENT_IBAN, collecting_school
from tests.factories import expect

pytestmark = pytest.mark.browser


def test_a_parent_signs_a_mandate_sets_an_automatic_top_up_and_revokes_it(suite, page):
    school = collecting_school(suite)
    family = school.family
    (wallet,) = expect(family.get("/wallets")).json()["items"]

    family.browser_login(page)
    press(page, page.get_by_role("navigation", name="Modules").get_by_role("link", name="Soldes"))
    card = page.locator(".wallet", has_text="Repas")
    assert "Recharge automatique : désactivée" in text(page, f".wallet:has(#wallet-{wallet['id']})")
    audited(page)
    card.locator("summary").focus()
    page.keyboard.press("Enter")  # the "Recharger" menu opens with the keyboard
    assert card.locator("details.recharge").evaluate("d => d.open")
    audited(page)
    press(page, card.get_by_role("link", name=re.compile("^Mandat et recharge automatique")))
    assert page.url.endswith("/recharger/domiciliation")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Domiciliation")
    assert "Aucun mandat n'est encore signé pour votre famille." in text(page)
    notice = "chaque encaissement au moins un jour avant celui-ci"  # the pre-notification agreed
    assert CREDITOR_ID in text(page, ".md-text") and notice in text(page, ".md-text")
    audited(page)

    # the sign form with the keyboard only, one Tab from each control to the next; an IBAN with a
    # typo is said beside its field and signs nothing
    page.locator("#iban").focus()
    page.keyboard.type("BE71 0961 2345 6760")
    for control, then in (("holder_name", "Sophie Peeters"), ("accept", " ")):
        page.keyboard.press("Tab")
        assert focused(page) == control
        page.keyboard.type(then)  # the space bar ticks the box
    assert page.is_checked("#accept")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Signer le mandat"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    focus_reaches(page, "md-errors")
    assert "Cet IBAN n'est pas valide" in text(page, "#iban-error")
    assert page.get_attribute("#iban", "aria-invalid") == "true"
    assert page.get_attribute("#iban", "aria-describedby") == "iban-hint iban-error"
    assert page.input_value("#holder_name") == "Sophie Peeters" and page.is_checked("#accept")
    assert page.locator("#holder_name[aria-invalid]").count() == 0
    assert expect(family.get("/mandates")).json()["items"] == []
    audited(page)

    # the summary's link leads to the field; then a holder's name too long for the bank is said on
    # its field, kept whole as typed (not cut short by the browser)
    long_name = "Sophie Peeters-Vandenberghe, Marc Peeters-Vandenberghe et Lucie Vandenberghe"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    focus_reaches(page, "iban")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(PARENT_IBAN)
    page.keyboard.press("Tab")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(long_name)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in a field sends its form
    focus_reaches(page, "md-errors")
    assert "en 70 caractères au plus" in text(page, "#holder_name-error")
    assert page.input_value("#holder_name") == long_name
    assert page.locator("#iban[aria-invalid], #iban-error").count() == 0
    assert expect(family.get("/mandates")).json()["items"] == []
    audited(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    focus_reaches(page, "holder_name")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Sophie Peeters")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    (mandate,) = expect(family.get("/mandates")).json()["items"]
    assert mandate["status"] == "active" and mandate["iban_last4"] == "6769"
    assert page.url.endswith(f"/recharger/domiciliation/{mandate['id']}?signe=1")
    assert page.get_by_role("heading", level=1).inner_text() == "Votre mandat est signé"
    assert mandate["reference"] in text(page, "[role=status]")
    assert "Sophie Peeters" in text(page, ".md-facts") and CREDITOR_ID in text(page, ".md-facts")
    assert notice in text(page, ".md-text")  # the text accepted says what the page said before
    audited(page)

    # listed, with its automatic top-ups
    press(page, page.get_by_role("link", name="Retour à la domiciliation"))
    listed = text(page, f"[data-mandate-id='{mandate['id']}']")
    assert mandate["reference"] in listed and "Actif" in listed and "6769" in listed
    assert "Sophie Peeters" in listed
    assert page.get_by_role("heading", level=2, name="Signer un nouveau mandat").is_visible()
    audited(page)
    press(page, page.get_by_role("link", name="Régler la recharge automatique (Repas)"))
    assert page.get_by_role("heading", level=1).inner_text() == "Recharge automatique · Repas"
    audited(page)

    # a threshold that is no amount is said on its field, then 25 € under 10 €; the empty fields
    # show no grey example value that could pass for one already set
    assert page.is_checked("#enabled")
    assert page.locator("#threshold[placeholder], #amount[placeholder]").count() == 0
    page.fill("#threshold", "dix")
    page.fill("#amount", "25")
    press(page, page.get_by_role("button", name="Enregistrer"))
    focus_reaches(page, "md-errors")
    assert "Indiquez le seuil en euros" in text(page, "#threshold-error")
    assert page.get_attribute("#threshold", "aria-invalid") == "true"
    audited(page)
    page.fill("#threshold", "10")
    press(page, page.get_by_role("button", name="Enregistrer"))
    assert re.search(r"/soldes#wallet-" + wallet["id"] + "$", page.url)
    state = "Recharge automatique : 25,00 € quand le solde passe sous 10,00 €"  # spaces as read
    assert f"Repas · {state}." in text(page, ".flashes")
    assert state in text(page, f".wallet:has(#wallet-{wallet['id']}) .md-auto-state")
    assert page.get_attribute(f".wallet:has(#wallet-{wallet['id']}) .md-auto", "data-auto-top-up") == "on"
    audited(page)
    got = expect(family.get("/wallets")).json()["items"][0]["auto_top_up"]
    assert (got["enabled"], got["threshold_cents"], got["amount_cents"]) == (True, 1000, 2500)

    # revoked after its confirmation: the automatic top-up stops
    page.goto(suite.base_url + "/recharger/domiciliation")
    press(page, page.get_by_role("link", name=f"Révoquer le mandat {mandate['reference']}"))
    assert page.get_by_role("heading", level=1).inner_text() == f"Révoquer le mandat {mandate['reference']} ?"
    assert "Plus rien ne sera prélevé sur ce compte" in text(page)
    audited(page)
    press(page, page.get_by_role("button", name="Révoquer le mandat"))
    assert "révoqué : plus rien ne sera prélevé" in text(page, ".flashes")
    assert "Révoqué le" in text(page, f"[data-mandate-id='{mandate['id']}']")
    assert page.get_by_role("link", name=re.compile("^Révoquer")).count() == 0
    audited(page)
    assert expect(family.get("/mandates")).json()["items"][0]["status"] == "revoked"
    page.goto(suite.base_url + "/soldes")
    assert "Recharge automatique : désactivée" in text(page, f".wallet:has(#wallet-{wallet['id']})")
    audited(page)
