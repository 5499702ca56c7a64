"""The parents' direct-debit pages in-process (issue #18): the Domiciliation page (mandates, the sign
form with the mandate's text, errors on their fields under a focused summary, the confirmation), the
revocation after a confirmation page, a wallet's automatic top-up form, and what /soldes and an
invoice's page show of them. Each form reaches finance as the API does: the requests finance received
are asserted (the active child, the evidence of a signature, accept, the amounts in cents)."""

from __future__ import annotations

import html
import re

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2
from gateway.tests.conftest import form_fields
from gateway.tests.test_mandates_api import MANDATE, REVOKED, finance_like_set, finance_like_sign
from kit.errors import Conflict

SETTINGS = pb.Settings(
    iban="BE68539007547034",
    beneficiary="École du Parc",
    school_name="École du Parc",
    top_up_methods=["online", "transfer"],
    creditor_id="BE69ZZZ0203201340",
)
WALLET = pb.Wallet(
    id="w-1",
    student_id="child-1",
    name="Repas",
    balance_cents=350,
    structured_communication="+++1+++",
    auto_top_up=pb.AutoTopUpState(enabled=True, threshold_cents=500, amount_cents=2000),
    collection_pending_cents=2000,
)
OTHER = pb.Wallet(id="w-2", student_id="child-1", name="Activités", balance_cents=0)
INVOICE = pb.Invoice(
    id="i-1",
    student_id="child-1",
    number="2026-0001",
    title="Classe verte",
    issued_on="2026-04-01",
    due_on="2026-05-01",
    total_cents=4500,
    status="unpaid",
    structured_communication="+++123/4567/89002+++",
    collection_pending=True,
)


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _words(resp) -> str:
    """The page's text as read, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", _text(resp)).split())


def _mine(parent) -> sepa_pb2.Mandate:
    m = sepa_pb2.Mandate()
    m.CopyFrom(MANDATE)
    m.parent_account_id = parent.session.account.id
    return m


@pytest.fixture
def parent(client, fakes):
    fakes.on("finance", "GetSettings", pb.GetSettingsResponse(settings=SETTINGS))
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[WALLET, OTHER]))
    fakes.on("finance", "ListInvoices", pb.ListInvoicesResponse(invoices=[INVOICE]))
    fakes.on("finance", "GetInvoice", pb.GetInvoiceResponse(invoice=INVOICE))
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse())
    fakes.on("direct_debits", "SignMandate", finance_like_sign)
    signed = fakes.parent()
    client.set_cookie("cartable_session", signed.token)
    return signed


def _sign(client, body: dict, **kw):
    page = client.get("/recharger/domiciliation")
    fields = form_fields(_text(page), "/recharger/domiciliation")
    return client.post("/recharger/domiciliation", data={**fields, **body}, **kw), fields


# -- the Domiciliation page ------------------------------------------------------------------------


def test_the_page_shows_the_mandate_text_naming_the_school_and_its_creditor_id(client, fakes, parent):
    resp = client.get("/recharger/domiciliation")
    assert resp.status_code == 200
    words = _words(resp)
    assert "Aucun mandat n'est encore signé pour votre famille." in words
    assert "Créancier : École du Parc, identifiant du créancier : BE69ZZZ0203201340" in words
    assert "vous autorisez École du Parc à envoyer des instructions à votre banque" in words
    assert "J'accepte le texte du mandat et j'autorise École du Parc à débiter mon compte." in words
    page = _text(resp)
    assert re.search(r'<input id="accept" name="accept" type="checkbox" value="yes" required>', page)
    assert 'name="csrf_token"' in page and 'for="iban"' in page and 'for="holder_name"' in page
    assert fakes.requests("direct_debits", "ListMandates")[0].student_id == "child-1"


def test_the_mandate_text_is_in_the_readers_language(client, parent):
    words = _words(client.get("/recharger/domiciliation?lang=nl"))
    assert "Schuldeiser: École du Parc" in words and "BE69ZZZ0203201340" in words
    words = _words(client.get("/recharger/domiciliation?lang=en"))
    assert "you authorise École du Parc to send instructions to your bank" in words


def test_without_a_creditor_id_the_page_says_direct_debit_is_not_offered(client, fakes, parent):
    fakes.on("finance", "GetSettings", pb.GetSettingsResponse(settings=pb.Settings(school_name="École")))
    resp = client.get("/recharger/domiciliation")
    assert resp.status_code == 200
    assert "Votre école ne propose pas la domiciliation." in _words(resp)
    assert 'name="iban"' not in _text(resp)


def test_mandates_are_listed_active_and_revoked_with_revoke_only_on_the_signers_active_one(
    client, fakes, parent
):
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[_mine(parent), REVOKED]))
    resp = client.get("/recharger/domiciliation")
    words = _words(resp)
    assert "CART-2026-000001" in words and "BE68 **** **** 7034" in words and "Marie Peeters" in words
    assert "Actif" in words and "1 décembre 2026" in words
    assert "Révoqué le 10 janvier 2026" in words and "CART-2025-000007" in words
    links = re.findall(r'href="(/recharger/domiciliation/[^"]+/revoquer)"', _text(resp))
    assert links == ["/recharger/domiciliation/m-1/revoquer"]
    assert "Signer un nouveau mandat" in words


def test_signing_sends_the_evidence_and_shows_the_confirmation(client, fakes, parent):
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[_mine(parent)]))
    resp, fields = _sign(
        client,
        {"iban": "be68 5390 0754 7034", "holder_name": "Marie Peeters", "accept": "yes"},
        headers={"User-Agent": "Mozilla/5.0 (iPhone)"},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )

    assert resp.status_code == 303
    assert resp.headers["Location"] == "/recharger/domiciliation/m-1?signe=1"
    (asked,) = fakes.requests("direct_debits", "SignMandate")
    assert (asked.iban, asked.holder_name, asked.accept) == ("BE68539007547034", "Marie Peeters", True)
    assert (asked.signed_from, asked.user_agent, asked.language) == (
        "198.51.100.20",
        "Mozilla/5.0 (iPhone)",
        "fr",
    )
    assert asked.idempotency_key == fields["idempotency_key"]

    done = client.get(resp.headers["Location"])
    words = _words(done)
    assert "Votre mandat est signé" in words
    assert "Une copie PDF du mandat sera déposée dans les documents de Emma" in words
    assert "CART-2026-000001" in words and "En signant ce formulaire de mandat" in words


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"iban": "", "holder_name": "", "accept": ""}, ["iban", "holder_name", "accept"]),
        ({"iban": "BE68 5390 0754 7034", "holder_name": "Marie Peeters"}, ["accept"]),
        ({"iban": "pas un iban", "holder_name": "Marie Peeters", "accept": "yes"}, ["iban"]),
    ],
)
def test_a_refused_form_says_why_on_each_field_under_a_focused_summary(client, fakes, parent, body, fields):
    resp, _fields = _sign(client, body)
    assert resp.status_code == 400
    page = _text(resp)
    summary = re.search(
        r'<div class="flash flash-error md-errors" id="md-errors" role="alert" tabindex="-1" autofocus>(.*?)</div>',
        page,
        re.S,
    )
    assert summary, "the errors' summary, focused"
    assert re.findall(r'<a href="#(\w+)">', summary.group(1)) == fields
    for name in fields:
        assert f'id="{name}-error"' in page
        assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', page)
    assert fakes.requests("direct_debits", "SignMandate") == []
    assert f'value="{body["iban"]}"' in page if body["iban"] else True  # what was typed stays


def test_finances_refusal_of_the_iban_is_said_on_its_field(client, fakes, parent):
    resp, _fields = _sign(client, {"iban": "BE68539007547035", "holder_name": "Marie", "accept": "yes"})
    assert resp.status_code == 400
    assert "Cet IBAN n'est pas valide" in _words(resp)
    assert len(fakes.requests("direct_debits", "SignMandate")) == 1


def test_a_school_without_creditor_id_refusing_the_signature_is_said(client, fakes, parent):
    def no_creditor(_req):
        raise Conflict("no creditor id", code="method_disabled")

    fakes.on("direct_debits", "SignMandate", no_creditor)
    resp, _fields = _sign(client, {"iban": "BE68539007547034", "holder_name": "Marie", "accept": "yes"})
    assert resp.status_code == 409
    assert "Votre école ne propose pas la domiciliation : aucun mandat n'a été signé." in _words(resp)


def test_a_form_without_its_csrf_token_is_refused(client, fakes, parent):
    resp = client.post(
        "/recharger/domiciliation", data={"iban": "BE68539007547034", "holder_name": "M", "accept": "yes"}
    )
    assert resp.status_code == 400
    assert fakes.requests("direct_debits", "SignMandate") == []


def test_staff_are_sent_to_their_own_pages(client, fakes):
    client.set_cookie("cartable_session", fakes.staff().token)
    assert client.get("/recharger/domiciliation").status_code in (302, 303)


# -- revoking -------------------------------------------------------------------------------------------


def test_revoking_asks_for_a_confirmation_then_revokes(client, fakes, parent):
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[_mine(parent)]))
    fakes.on(
        "direct_debits", "RevokeMandate", sepa_pb2.RevokeMandateResponse(mandate=REVOKED, revoked_now=True)
    )
    page = client.get("/recharger/domiciliation/m-1/revoquer")
    assert page.status_code == 200
    assert "Révoquer le mandat CART-2026-000001 ?" in _words(page)
    assert fakes.requests("direct_debits", "RevokeMandate") == []

    fields = form_fields(_text(page), "/recharger/domiciliation/m-1/revoquer")
    resp = client.post("/recharger/domiciliation/m-1/revoquer", data=fields)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        "/recharger/domiciliation#mandates-title"
    )
    assert [r.mandate_id for r in fakes.requests("direct_debits", "RevokeMandate")] == ["m-1"]
    after = client.get("/recharger/domiciliation")
    assert "Le mandat CART-2026-000001 est révoqué : plus rien ne sera prélevé sur ce compte." in _words(
        after
    )


def test_another_familys_mandate_or_one_the_parent_did_not_sign_cannot_be_revoked(client, fakes, parent):
    other_parent = sepa_pb2.Mandate()
    other_parent.CopyFrom(MANDATE)  # signed by p-1, not this parent
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[other_parent]))
    assert client.get("/recharger/domiciliation/m-9/revoquer").status_code == 404
    assert client.get("/recharger/domiciliation/m-9").status_code == 404
    assert client.get("/recharger/domiciliation/m-1/revoquer").status_code == 403
    assert "Signé par un autre parent" in _words(client.get("/recharger/domiciliation"))
    assert fakes.requests("direct_debits", "RevokeMandate") == []


# -- the automatic top-up form -------------------------------------------------------------------------


@pytest.fixture
def auto(fakes, parent):
    stored = sepa_pb2.AutoTopUp(wallet_id="w-2")
    fakes.on("direct_debits", "GetAutoTopUp", sepa_pb2.GetAutoTopUpResponse(auto_top_up=stored))
    fakes.on("direct_debits", "SetAutoTopUp", finance_like_set)
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[_mine(parent)]))
    return parent


PATH = "/soldes/portefeuilles/w-2/recharge-automatique"


def _set(client, body):
    fields = form_fields(_text(client.get(PATH)), PATH)
    return client.post(PATH, data={**fields, **body})


def test_an_automatic_top_up_typed_in_euros_reaches_finance_in_cents(client, fakes, auto):
    resp = _set(client, {"enabled": "yes", "threshold": "5", "amount": "20,00"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/soldes#wallet-w-2")
    (asked,) = fakes.requests("direct_debits", "SetAutoTopUp")
    assert (asked.wallet_id, asked.enabled, asked.threshold_cents, asked.amount_cents) == (
        "w-2",
        True,
        500,
        2000,
    )
    assert fakes.requests("finance", "ListWallets")[0].student_id == "child-1"
    shown = _words(client.get("/soldes"))
    assert "Activités · Recharge automatique : 20,00 € quand le solde passe sous 5,00 €." in shown


def test_switching_it_off_keeps_the_stored_amounts(client, fakes, auto):
    stored = sepa_pb2.AutoTopUp(wallet_id="w-2", enabled=True, threshold_cents=700, amount_cents=1500)
    fakes.on("direct_debits", "GetAutoTopUp", sepa_pb2.GetAutoTopUpResponse(auto_top_up=stored))
    page = _text(client.get(PATH))
    assert 'value="7,00"' in page and 'value="15,00"' in page
    resp = _set(client, {"threshold": "", "amount": ""})
    assert resp.status_code == 303
    (asked,) = fakes.requests("direct_debits", "SetAutoTopUp")
    assert (asked.enabled, asked.threshold_cents, asked.amount_cents) == (False, 700, 1500)


def test_amounts_that_are_not_euros_or_out_of_finances_range_are_said_on_their_fields(client, fakes, auto):
    resp = _set(client, {"enabled": "yes", "threshold": "cinq", "amount": "12,345"})
    assert resp.status_code == 400
    page = _text(resp)
    assert re.search(r'id="md-errors" role="alert" tabindex="-1" autofocus', page)
    assert re.search(r'id="threshold"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="amount"[^>]*aria-invalid="true"', page)
    assert fakes.requests("direct_debits", "SetAutoTopUp") == []

    resp = _set(client, {"enabled": "yes", "threshold": "5", "amount": "0,50"})
    assert resp.status_code == 400
    assert "Indiquez un montant entre 1,00 € et 500,00 €." in _words(resp)


def test_without_an_active_mandate_the_refusal_links_to_the_domiciliation_page(client, fakes, auto):
    def no_mandate(_req):
        raise Conflict("no active mandate", code="no_mandate")

    fakes.on("direct_debits", "SetAutoTopUp", no_mandate)
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[REVOKED]))
    resp = _set(client, {"enabled": "yes", "threshold": "5", "amount": "20"})
    assert resp.status_code == 409
    page = _text(resp)
    summary = re.search(r'id="md-errors"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "Aucun mandat de domiciliation actif ne couvre Emma" in html.unescape(summary)
    assert 'href="/recharger/domiciliation"' in summary


def test_a_siblings_wallet_form_is_not_found(client, fakes, auto):
    assert client.get("/soldes/portefeuilles/w-9/recharge-automatique").status_code == 404


# -- /soldes and the invoice's page --------------------------------------------------------------------


def test_the_balances_page_shows_each_wallets_automatic_top_up_and_the_collection_pending(client, parent):
    resp = client.get("/soldes")
    assert resp.status_code == 200
    words = _words(resp)
    assert "Recharge automatique : 20,00 € quand le solde passe sous 5,00 €" in words
    assert "Prélèvement en cours : 20,00 €" in words
    assert "Recharge automatique : désactivée" in words  # the other wallet
    page = _text(resp)
    assert 'href="/soldes/portefeuilles/w-1/recharge-automatique"' in page
    assert 'href="/recharger/domiciliation"' in page  # the "Recharger" menu's entry
    assert "Par domiciliation" in words


def test_an_invoice_being_collected_is_not_offered_for_payment(client, parent):
    page = _text(client.get("/soldes"))
    row = re.search(r'<tr class="invoice[^"]*" data-invoice-id="i-1">(.*?)</tr>', page, re.S).group(1)
    assert "Prélèvement en cours" in row and "Payer" not in row
    detail = client.get("/soldes/factures/i-1/payer")
    assert detail.status_code == 200
    assert "Prélèvement en cours" in _words(detail)
    assert "payer-en-ligne" not in _text(detail) and "Payer avec le portefeuille" not in _text(detail)


def test_the_pages_speak_dutch_and_english(client, fakes, auto):
    assert "Domiciliëring" in _words(client.get("/recharger/domiciliation?lang=nl"))
    assert "Direct debit" in _words(client.get("/recharger/domiciliation?lang=en"))
    assert "Automatic top-up" in _words(client.get(PATH + "?lang=en"))
