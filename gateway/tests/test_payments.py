"""Online top-ups through the gateway in-process: the API and the "Recharger" page reach finance the
same way, and finance's refusals (its InvalidRequest with its fields) reach the caller."""

from __future__ import annotations

import re

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import InvalidRequest

WALLET = pb.Wallet(
    id="w-1", student_id="child-1", name="Repas", balance_cents=1250, structured_communication="+++1+++"
)


def finance_like_top_up(req: pb.StartTopUpRequest) -> pb.StartPaymentResponse:
    """StartTopUp as finance answers it: its own amount rule, then a payment and a checkout URL."""
    if not 100 <= req.amount_cents <= 500_000:
        raise InvalidRequest("the amount is out of range", fields={"amount_cents": "100 to 500000"})
    return pb.StartPaymentResponse(
        payment=pb.Payment(id="pay-1", status="open", amount_cents=req.amount_cents, purpose="top_up"),
        checkout_url="https://provider.test/checkout/tr_1",
    )


def _wallet_page(fakes):
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[WALLET]))
    fakes.on(
        "finance", "GetSettings", pb.GetSettingsResponse(settings=pb.Settings(top_up_methods=["online"]))
    )
    fakes.on("finance", "StartTopUp", finance_like_top_up)


def test_an_online_top_up_answers_the_checkout_url(client, fakes):
    fakes.on("finance", "StartTopUp", finance_like_top_up)
    parent = fakes.parent()

    resp = client.post(
        "/api/v1/wallets/w-1/top-ups",
        json={"amount_cents": 1250, "method": "online"},
        headers={**parent.bearer, "Idempotency-Key": "k-1"},
    )

    assert resp.status_code == 201
    assert resp.get_json() == {
        "payment_id": "pay-1",
        "checkout_url": "https://provider.test/checkout/tr_1",
        "status": "open",
        "amount_cents": 1250,
        "purpose": "top_up",
    }
    (asked,) = fakes.requests("finance", "StartTopUp")
    assert (asked.wallet_id, asked.amount_cents, asked.method, asked.idempotency_key, asked.student_id) == (
        "w-1",
        1250,
        "online",
        "k-1",
        "child-1",
    )


def test_a_top_up_out_of_finances_range_is_a_400_on_amount_cents(client, fakes):
    fakes.on("finance", "StartTopUp", finance_like_top_up)
    parent = fakes.parent()
    for cents in (50, 500_001):
        resp = client.post("/api/v1/wallets/w-1/top-ups", json={"amount_cents": cents}, headers=parent.bearer)
        error = resp.get_json()["error"]
        assert resp.status_code == 400 and error["code"] == "invalid_request", cents
        assert set(error["fields"]) == {"amount_cents"}, cents


def test_finances_refusal_reaches_the_api_caller_with_its_fields(client, fakes):
    fakes.on("finance", "StartTopUp", finance_like_top_up)
    parent = fakes.parent()
    resp = client.post("/api/v1/wallets/w-1/top-ups", json={"amount_cents": 50}, headers=parent.bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"amount_cents": "100 to 500000"}


def test_a_top_up_that_is_not_an_amount_never_reaches_finance(client, fakes):
    parent = fakes.parent()
    for body in (
        {"amount_cents": "10"},
        {"amount_cents": 0},
        {"amount_cents": 10.5},
        {"amount_cents": 1000, "method": "cash"},
    ):
        resp = client.post("/api/v1/wallets/w-1/top-ups", json=body, headers=parent.bearer)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_request", body
    assert fakes.requests("finance", "StartTopUp") == []


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _post_amount(client, amount: str):
    page = client.get("/soldes/portefeuilles/w-1/recharger")
    assert page.status_code == 200
    return client.post(
        "/soldes/portefeuilles/w-1/recharger",
        data={
            "csrf_token": _csrf(page.get_data(as_text=True)),
            "idempotency_key": "k-page",
            "amount": amount,
        },
    )


def test_the_recharger_page_sends_the_parent_to_the_checkout(client, fakes):
    _wallet_page(fakes)
    client.set_cookie("cartable_session", fakes.parent().token)

    resp = _post_amount(client, "12,50")

    assert resp.status_code == 303 and resp.headers["Location"] == "https://provider.test/checkout/tr_1"
    (asked,) = fakes.requests("finance", "StartTopUp")
    assert (asked.wallet_id, asked.amount_cents, asked.idempotency_key, asked.student_id) == (
        "w-1",
        1250,
        "k-page",
        "child-1",
    )


def test_the_recharger_page_says_what_an_amount_is(client, fakes):
    _wallet_page(fakes)
    client.set_cookie("cartable_session", fakes.parent().token)

    resp = _post_amount(client, "douze")

    assert resp.status_code == 400
    assert "Indiquez un montant en euros, par exemple 10 ou 12,50." in resp.get_data(as_text=True)
    assert fakes.requests("finance", "StartTopUp") == []


def test_the_recharger_page_says_finances_range_in_euros(client, fakes):
    _wallet_page(fakes)
    client.set_cookie("cartable_session", fakes.parent().token)
    for amount in ("0,50", "6000"):
        resp = _post_amount(client, amount)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, amount
        # the range is finance's (its InvalidRequest on amount_cents), written by kit.money
        assert "Le montant doit être compris entre 1,00\u00a0€ et 5\u202f000,00\u00a0€." in html, amount
    assert [r.amount_cents for r in fakes.requests("finance", "StartTopUp")] == [50, 600_000]


def test_the_recharger_page_says_the_range_in_the_readers_language(client, fakes):
    _wallet_page(fakes)
    client.set_cookie("cartable_session", fakes.parent().token)
    page = client.get("/soldes/portefeuilles/w-1/recharger?lang=en")
    resp = client.post(
        "/soldes/portefeuilles/w-1/recharger",
        data={"csrf_token": _csrf(page.get_data(as_text=True)), "amount": "0.50"},
    )
    assert resp.status_code == 400
    assert "The amount must be between €1.00 and €5,000.00." in resp.get_data(as_text=True)


def test_another_refusal_of_finance_is_said_as_finance_said_it(client, fakes):
    _wallet_page(fakes)

    def refuse(_req):
        raise InvalidRequest("only online top-ups are started here", fields={"method": "online"})

    fakes.on("finance", "StartTopUp", refuse)
    client.set_cookie("cartable_session", fakes.parent().token)
    resp = _post_amount(client, "10")
    assert resp.status_code == 400 and "only online top-ups are started here" in resp.get_data(as_text=True)
