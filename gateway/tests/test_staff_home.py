"""The staff's home page, in-process: a card for each back-office page that exists (the money pages
too: invoices, direct debits, refunds, settings), in French, Dutch and English."""

from __future__ import annotations

import html

from gateway.tests.test_people_pages import staff  # noqa: F401 - the fixture signing a manager in

CARDS = ["/gestion/factures", "/gestion/domiciliations", "/gestion/remboursements", "/gestion/reglages"]


def cards(page: str) -> list[str]:
    return [href for href in CARDS if f'<li class="card"><h2><a href="{href}">' in page]


def test_the_home_page_has_a_card_for_each_money_page_in_each_language(client, staff):  # noqa: F811
    fr = html.unescape(client.get("/gestion").get_data(as_text=True))
    assert cards(fr) == CARDS
    assert "Rembourser le solde d'un portefeuille" in fr
    assert "en attendant leurs pages" not in fr
    nl = html.unescape(client.get("/gestion?lang=nl").get_data(as_text=True))
    assert cards(nl) == CARDS
    assert "De SEPA-mandaten van de gezinnen" in nl
    assert "Rembourser le solde" not in nl
    en = html.unescape(client.get("/gestion?lang=en").get_data(as_text=True))
    assert "Refund a wallet's balance to a bank account" in en
    assert "Facturer une classe" not in en
