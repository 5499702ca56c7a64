"""The CSRF rules: a browser (session cookie) must show its X-CSRF-Token to change anything through
the JSON API, and its form's csrf_token on the pages; a Bearer client needs neither."""

from __future__ import annotations

from cartable.finance.v1 import finance_pb2 as pb


def _started(req):
    return pb.StartPaymentResponse(
        payment=pb.Payment(id="pay-1", status="open", amount_cents=req.amount_cents)
    )


def test_a_cookie_request_without_its_csrf_token_is_refused_before_any_service_call(client, fakes):
    fakes.on("finance", "StartTopUp", _started)
    parent = fakes.parent()
    client.set_cookie("cartable_session", parent.token)

    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        resp = client.post("/api/v1/wallets/w-1/top-ups", json={"amount_cents": 1000}, headers=headers)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    assert fakes.requests("finance", "StartTopUp") == []

    resp = client.post(
        "/api/v1/wallets/w-1/top-ups", json={"amount_cents": 1000}, headers={"X-CSRF-Token": parent.csrf}
    )
    assert resp.status_code == 201


def test_a_cookie_request_may_read_without_the_token_and_a_bearer_client_never_needs_it(client, fakes):
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse())
    fakes.on("finance", "StartTopUp", _started)
    parent = fakes.parent()

    client.set_cookie("cartable_session", parent.token)
    assert client.get("/api/v1/wallets").status_code == 200
    client.delete_cookie("cartable_session")

    resp = client.post("/api/v1/wallets/w-1/top-ups", json={"amount_cents": 1000}, headers=parent.bearer)
    assert resp.status_code == 201


def test_a_page_form_without_its_csrf_token_is_refused(client, fakes):
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[pb.Wallet(id="w-1", name="Repas")]))
    fakes.on(
        "finance", "GetSettings", pb.GetSettingsResponse(settings=pb.Settings(top_up_methods=["online"]))
    )
    fakes.on("finance", "StartTopUp", _started)
    client.set_cookie("cartable_session", fakes.parent().token)

    resp = client.post("/soldes/portefeuilles/w-1/recharger", data={"amount": "10"})

    assert resp.status_code == 400
    assert "La session du formulaire a expiré" in resp.get_data(as_text=True)
    assert fakes.requests("finance", "StartTopUp") == []
