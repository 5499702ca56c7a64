"""The finance web pages through the gateway (no browser): who may see them, the "Payer" form with its
CSRF token and idempotency key, refusals explained on the page, the period picker's errors."""

from __future__ import annotations

import re

from tests.e2e.test_finance_wallets_invoices import finance_school, invoice, top_up, wallets_by_name
from tests.factories import anonymous, expect, new_family


def _form_fields(html: str, action: str) -> dict[str, str]:
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', form))


def test_pages_are_for_signed_in_parents(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma"}])
    for path, heading in (
        ("/soldes", "Soldes"),
        ("/operations", "Opérations financières"),
        ("/journal-des-ventes", "Journal des ventes"),
    ):
        page = expect(parent.page(path))
        assert f"<h1>{heading}" in page.text
        assert 'aria-current="page"' in page.text
        assert anonymous(suite).page(path, allow_redirects=False).status_code in (302, 303)
        refused = staff.page(path, allow_redirects=False)  # staff are sent to their own pages
        assert refused.status_code == 403 or (
            refused.status_code in (302, 303) and path not in refused.headers["Location"]
        )
    assert "<h1>Saldi" in expect(parent.page("/soldes?lang=nl")).text
    assert "<h1>Balances" in expect(parent.page("/soldes?lang=en")).text


def test_the_payer_form_pays_once_and_explains_a_refusal(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma"}])
    wallets = wallets_by_name(parent)
    top_up(staff, wallets["Repas"]["id"], 1000)
    cheap, dear = (
        invoice(staff, parent.active_child_id, 400, "Piscine"),
        invoice(staff, parent.active_child_id, 5000),
    )
    action = f"/soldes/factures/{cheap['id']}/payer"
    html = expect(parent.page("/soldes")).text
    fields = _form_fields(html, action)
    assert set(fields) == {"csrf_token", "idempotency_key"}
    no_csrf = parent.page(action, method="POST", data={"wallet_id": wallets["Repas"]["id"]})
    assert no_csrf.status_code == 400
    done = parent.page(
        action, method="POST", data={**fields, "wallet_id": wallets["Repas"]["id"]}, allow_redirects=False
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/soldes#factures")
    again = parent.page(
        action, method="POST", data={**fields, "wallet_id": wallets["Repas"]["id"]}, allow_redirects=False
    )
    assert again.status_code == 303  # the same form sent twice: paid once
    assert wallets_by_name(parent)["Repas"]["balance_cents"] == 600
    html = expect(parent.page("/soldes")).text
    assert "Payée" in html and "La facture" in html

    dear_action = f"/soldes/factures/{dear['id']}/payer"
    fields = _form_fields(expect(parent.page(dear_action)).text, dear_action)
    refused = parent.page(dear_action, method="POST", data={**fields, "wallet_id": wallets["Repas"]["id"]})
    assert refused.status_code == 409
    assert "Le solde de ce portefeuille ne couvre pas le montant de la facture." in refused.text
    assert wallets_by_name(parent)["Repas"]["balance_cents"] == 600


def test_another_familys_invoice_page_is_not_found(suite):
    staff = finance_school(suite)
    ours = new_family(suite, staff, [{"first_name": "Emma"}])
    theirs = new_family(suite, staff, [{"first_name": "Lucas"}])
    their_invoice = invoice(staff, theirs.active_child_id, 100)
    assert ours.page(f"/soldes/factures/{their_invoice['id']}/payer").status_code == 404


def test_the_period_picker_explains_a_bad_custom_range(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma"}])
    r = parent.page("/operations?period=custom&from=2026-03-10&to=2026-03-01")
    assert r.status_code == 400 and "La date de début doit précéder la date de fin." in r.text
    r = parent.page("/journal-des-ventes?period=custom&from=&to=")
    assert r.status_code == 400 and "Choisissez une date de début et une date de fin" in r.text
    assert expect(parent.page("/operations?period=custom&from=2026-03-01&to=2026-03-10")).status_code == 200
    assert expect(parent.page("/operations?period=nonsense&type=nonsense")).status_code == 200  # falls back
