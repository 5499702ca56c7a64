"""Amounts typed in the pages' forms are read by kit.money (one parser): the mail preferences'
threshold, the "Recharger" amount and the price of an album's photos."""

from __future__ import annotations

import html
import re

import pytest

from cartable.finance.v1 import finance_pb2 as fpb
from cartable.notifications.v1 import notifications_pb2 as npb

PREFS = npb.MailPreferences(language="fr", email="parent@example.be", low_balance_threshold_cents=500)


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
def prefs_page(client, fakes):
    fakes.on("notifications", "GetMailPreferences", npb.GetMailPreferencesResponse(preferences=PREFS))
    fakes.on(
        "notifications",
        "UpdateMailPreferences",
        lambda req: npb.UpdateMailPreferencesResponse(preferences=req.preferences),
    )
    client.set_cookie("cartable_session", fakes.parent().token)

    def post(threshold: str):
        page = client.get("/compte/courriels")
        assert page.status_code == 200
        data = {"csrf_token": _csrf(page.get_data(as_text=True)), "language": "nl", "threshold": threshold}
        return client.post("/compte/courriels", data=data)

    return post


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("5,00", 500), ("5", 500), ("12,5", 1250), ("1 000", 100_000), ("7,25 €", 725), ("", 0), ("  ", 0)],
)
def test_the_threshold_is_read_in_euros(prefs_page, fakes, typed, cents):
    resp = prefs_page(typed)
    assert resp.status_code == 302, typed
    (sent,) = fakes.requests("notifications", "UpdateMailPreferences")
    assert sent.preferences.low_balance_threshold_cents == cents
    assert sent.preferences.language == "nl"


@pytest.mark.parametrize("typed", ["cinq", "-5", "5,001", "1e3"])
def test_a_threshold_that_is_not_an_amount_is_said_on_its_field(prefs_page, fakes, typed):
    resp = prefs_page(typed)
    assert resp.status_code == 400, typed
    assert "Un montant en euros, par exemple 5,00." in html.unescape(resp.get_data(as_text=True))
    assert fakes.requests("notifications", "UpdateMailPreferences") == []


@pytest.mark.parametrize(
    ("typed", "cents"), [("10", 1000), ("12,50", 1250), ("1 234,5", 123_450), ("20 €", 2000)]
)
def test_the_top_up_amount_is_read_in_euros(client, fakes, typed, cents):
    fakes.on("finance", "ListWallets", fpb.ListWalletsResponse(wallets=[fpb.Wallet(id="w-1", name="Repas")]))
    fakes.on(
        "finance", "GetSettings", fpb.GetSettingsResponse(settings=fpb.Settings(top_up_methods=["online"]))
    )
    fakes.on(
        "finance",
        "StartTopUp",
        fpb.StartPaymentResponse(payment=fpb.Payment(id="pay-1"), checkout_url="https://provider.test/c"),
    )
    client.set_cookie("cartable_session", fakes.parent().token)
    page = client.get("/soldes/portefeuilles/w-1/recharger")
    resp = client.post(
        "/soldes/portefeuilles/w-1/recharger",
        data={"csrf_token": _csrf(page.get_data(as_text=True)), "amount": typed},
    )
    assert resp.status_code == 303, typed
    assert fakes.requests("finance", "StartTopUp")[0].amount_cents == cents
