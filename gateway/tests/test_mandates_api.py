"""The parents' SEPA direct-debit routes (API.md, issue #18) in-process against a fake
DirectDebitService: what finance is asked (the active child, the evidence of a signature, the
Idempotency-Key), the shapes answered, bad input refused on its fields before finance, and
finance's refusals (method_disabled, no_mandate, another family's mandate) passed on."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2
from gateway.tests.conftest import not_found
from kit.errors import Conflict, InvalidRequest

MANDATE = sepa_pb2.Mandate(
    id="m-1",
    reference="CART-2026-000001",
    iban_last4="7034",
    iban_masked="BE68 **** **** 7034",
    holder_name="Marie Peeters",
    signed_at="2026-12-01T10:15:00+01:00",
    status="active",
    student_ids=["child-1", "child-2"],
    parent_account_id="p-1",
    creditor_id="BE69ZZZ0203201340",
    school_name="École du Parc",
    mandate_text="En signant ce formulaire de mandat…",
)
REVOKED = sepa_pb2.Mandate(
    id="m-0",
    reference="CART-2025-000007",
    iban_last4="0123",
    holder_name="Marie Peeters",
    signed_at="2025-09-01T08:00:00+02:00",
    status="revoked",
    revoked_at="2026-01-10T09:00:00+01:00",
    revoked_reason="parent",
)
WALLET = pb.Wallet(id="w-1", student_id="child-1", name="Repas", balance_cents=350)
MANDATE_KEYS = {"id", "reference", "iban_last4", "holder_name", "signed_at", "status"}


def finance_like_sign(req: sepa_pb2.SignMandateRequest) -> sepa_pb2.SignMandateResponse:
    """SignMandate as finance answers it: its own IBAN rule (a Belgian check here), then the mandate."""
    if req.iban != "BE68539007547034":
        raise InvalidRequest("not a valid IBAN", fields={"iban": "check digits do not match"})
    signed = sepa_pb2.Mandate()
    signed.CopyFrom(MANDATE)
    signed.holder_name = req.holder_name
    return sepa_pb2.SignMandateResponse(mandate=signed, created=True)


@pytest.fixture
def parent(fakes):
    return fakes.parent("Emma", "Noah", active=1)


def sign(client, who, body, **headers):
    return client.post("/api/v1/mandates", json=body, headers={**who.bearer, **headers})


GOOD = {"iban": "BE68 5390 0754 7034", "holder_name": "Marie Peeters", "accept": True}


# -- listing ----------------------------------------------------------------------------------------


def test_the_mandates_of_the_active_childs_family_are_listed_with_the_api_shape(client, fakes, parent):
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[MANDATE, REVOKED]))

    resp = client.get("/api/v1/mandates", headers=parent.bearer)

    assert resp.status_code == 200
    body = resp.get_json()
    assert body["next_cursor"] is None
    first, second = body["items"]
    assert set(first) >= MANDATE_KEYS
    assert {k: first[k] for k in MANDATE_KEYS} == {
        "id": "m-1",
        "reference": "CART-2026-000001",
        "iban_last4": "7034",
        "holder_name": "Marie Peeters",
        "signed_at": "2026-12-01T10:15:00+01:00",
        "status": "active",
    }
    assert first["iban_masked"] == "BE68 **** **** 7034" and first["creditor_id"] == "BE69ZZZ0203201340"
    assert "iban" not in first and "parent_account_id" not in first
    assert second["status"] == "revoked" and second["revoked_at"] == "2026-01-10T09:00:00+01:00"
    (asked,) = fakes.requests("direct_debits", "ListMandates")
    assert asked.student_id == "child-2"  # the active child, never ""


def test_listing_needs_a_chosen_child_and_a_parent(client, fakes):
    several = fakes.parent("Emma", "Noah", active=None)
    resp = client.get("/api/v1/mandates", headers=several.bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "child_not_selected"
    resp = client.get("/api/v1/mandates", headers=fakes.staff().bearer)
    assert resp.status_code == 403
    assert client.get("/api/v1/mandates").status_code == 401
    assert fakes.requests("direct_debits", "ListMandates") == []


# -- signing ----------------------------------------------------------------------------------------


def test_signing_passes_the_evidence_to_finance_and_answers_201_with_the_mandate(client, fakes, parent):
    fakes.on("direct_debits", "SignMandate", finance_like_sign)

    resp = client.post(
        "/api/v1/mandates?lang=nl",
        json=GOOD,
        headers={
            **parent.bearer,
            "Idempotency-Key": "sign-1",
            "User-Agent": "CartableApp/2.1 (Android 14)",
        },
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["id"] == "m-1" and body["status"] == "active" and body["iban_last4"] == "7034"
    assert body["student_ids"] == ["child-1", "child-2"]
    (asked,) = fakes.requests("direct_debits", "SignMandate")
    assert asked.iban == "BE68539007547034"  # spaces dropped, as typed from a bank card
    assert (asked.holder_name, asked.accept, asked.idempotency_key) == ("Marie Peeters", True, "sign-1")
    assert asked.signed_from == "198.51.100.7"
    assert asked.user_agent == "CartableApp/2.1 (Android 14)"
    assert asked.language == "nl"


def test_the_signers_address_is_the_one_sign_in_throttling_reads_behind_our_proxy(app, client, fakes, parent):
    app.config["TRUSTED_PROXIES"] = 1
    fakes.on("direct_debits", "SignMandate", finance_like_sign)

    resp = client.post(
        "/api/v1/mandates",
        json=GOOD,
        headers={**parent.bearer, "X-Forwarded-For": "203.0.113.9, 203.0.113.50"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    assert resp.status_code == 201
    assert fakes.requests("direct_debits", "SignMandate")[0].signed_from == "203.0.113.50"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**GOOD, "accept": False}, {"accept"}),
        ({**GOOD, "accept": "true"}, {"accept"}),
        ({"iban": GOOD["iban"], "holder_name": "Marie Peeters"}, {"accept"}),
        ({**GOOD, "holder_name": "  "}, {"holder_name"}),
        ({**GOOD, "holder_name": "M" * 71}, {"holder_name"}),
        ({**GOOD, "iban": "not an iban"}, {"iban"}),
        ({**GOOD, "iban": 1234}, {"iban"}),
        ({"accept": True}, {"iban", "holder_name"}),
        ({}, {"iban", "holder_name", "accept"}),
    ],
)
def test_a_signature_that_is_not_well_formed_is_refused_on_its_fields_before_finance(
    client, fakes, parent, body, fields
):
    fakes.on("direct_debits", "SignMandate", finance_like_sign)
    resp = sign(client, parent, body)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == fields
    assert fakes.requests("direct_debits", "SignMandate") == []


def test_finances_iban_refusal_reaches_the_caller_on_the_iban_field(client, fakes, parent):
    fakes.on("direct_debits", "SignMandate", finance_like_sign)
    resp = sign(client, parent, {**GOOD, "iban": "BE68539007547035"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"iban": "check digits do not match"}


def test_a_school_without_a_creditor_id_is_a_409_method_disabled(client, fakes, parent):
    def no_creditor(_req):
        raise Conflict("the school has no SEPA creditor id", code="method_disabled")

    fakes.on("direct_debits", "SignMandate", no_creditor)
    resp = sign(client, parent, GOOD)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "method_disabled"


def test_the_same_idempotency_key_is_passed_on_each_time(client, fakes, parent):
    fakes.on("direct_debits", "SignMandate", finance_like_sign)
    first = sign(client, parent, GOOD, **{"Idempotency-Key": "k-7"})
    again = sign(client, parent, GOOD, **{"Idempotency-Key": "k-7"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert [r.idempotency_key for r in fakes.requests("direct_debits", "SignMandate")] == ["k-7", "k-7"]


def test_staff_and_cookie_callers_without_the_csrf_header_cannot_sign(client, fakes, parent):
    fakes.on("direct_debits", "SignMandate", finance_like_sign)
    assert sign(client, fakes.staff(), GOOD).status_code == 403
    client.set_cookie("cartable_session", parent.token)
    resp = client.post("/api/v1/mandates", json=GOOD)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    resp = client.post("/api/v1/mandates", json=GOOD, headers={"X-CSRF-Token": parent.csrf})
    assert resp.status_code == 201
    assert len(fakes.requests("direct_debits", "SignMandate")) == 1


# -- revoking ---------------------------------------------------------------------------------------


def test_revoking_answers_204_and_another_familys_mandate_is_404(client, fakes, parent):
    def revoke(req):
        if req.mandate_id != "m-1":
            return not_found(req)
        return sepa_pb2.RevokeMandateResponse(mandate=REVOKED, revoked_now=True)

    fakes.on("direct_debits", "RevokeMandate", revoke)
    resp = client.delete("/api/v1/mandates/m-1", headers=parent.bearer)
    assert resp.status_code == 204 and resp.get_data() == b""
    resp = client.delete("/api/v1/mandates/m-9", headers=parent.bearer)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    assert [r.mandate_id for r in fakes.requests("direct_debits", "RevokeMandate")] == ["m-1", "m-9"]
    assert client.delete("/api/v1/mandates/m-1", headers=fakes.staff().bearer).status_code == 403


# -- automatic top-ups ------------------------------------------------------------------------------


def finance_like_set(req: sepa_pb2.SetAutoTopUpRequest) -> sepa_pb2.SetAutoTopUpResponse:
    if req.enabled and not 100 <= req.amount_cents <= 50_000:
        raise InvalidRequest("out of range", fields={"amount_cents": "100 to 50000"})
    return sepa_pb2.SetAutoTopUpResponse(
        auto_top_up=sepa_pb2.AutoTopUp(
            wallet_id=req.wallet_id,
            enabled=req.enabled,
            threshold_cents=req.threshold_cents,
            amount_cents=req.amount_cents,
            mandate_id="m-1" if req.enabled else "",
        )
    )


@pytest.fixture
def wallets(fakes):
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[WALLET]))
    fakes.on("direct_debits", "SetAutoTopUp", finance_like_set)


def put(client, who, body, wallet="w-1"):
    return client.put(f"/api/v1/wallets/{wallet}/auto-top-up", json=body, headers=who.bearer)


def test_an_automatic_top_up_is_set_on_the_active_childs_wallet(client, fakes, wallets):
    parent = fakes.parent()
    resp = put(client, parent, {"enabled": True, "threshold_cents": 500, "amount_cents": 2000})

    assert resp.status_code == 200
    body = resp.get_json()
    assert {k: body[k] for k in ("enabled", "threshold_cents", "amount_cents")} == {
        "enabled": True,
        "threshold_cents": 500,
        "amount_cents": 2000,
    }
    assert body["mandate_id"] == "m-1" and body["pending_cents"] == 0
    (asked,) = fakes.requests("direct_debits", "SetAutoTopUp")
    assert (asked.wallet_id, asked.enabled, asked.threshold_cents, asked.amount_cents) == (
        "w-1",
        True,
        500,
        2000,
    )
    assert fakes.requests("finance", "ListWallets")[0].student_id == "child-1"


def test_disabling_without_amounts_keeps_the_stored_ones(client, fakes, wallets):
    stored = sepa_pb2.AutoTopUp(wallet_id="w-1", enabled=True, threshold_cents=700, amount_cents=1500)
    fakes.on("direct_debits", "GetAutoTopUp", sepa_pb2.GetAutoTopUpResponse(auto_top_up=stored))
    resp = put(client, fakes.parent(), {"enabled": False})
    assert resp.status_code == 200 and resp.get_json()["enabled"] is False
    (asked,) = fakes.requests("direct_debits", "SetAutoTopUp")
    assert (asked.enabled, asked.threshold_cents, asked.amount_cents) == (False, 700, 1500)


def test_without_an_active_mandate_it_is_a_409_no_mandate(client, fakes, wallets):
    def no_mandate(_req):
        raise Conflict("no active mandate covers this student", code="no_mandate")

    fakes.on("direct_debits", "SetAutoTopUp", no_mandate)
    resp = put(client, fakes.parent(), {"enabled": True, "threshold_cents": 500, "amount_cents": 2000})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "no_mandate"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"enabled": True, "threshold_cents": 500}, {"amount_cents"}),
        ({"enabled": True, "threshold_cents": "5", "amount_cents": 2000}, {"threshold_cents"}),
        ({"enabled": True, "threshold_cents": -1, "amount_cents": 20.5}, {"threshold_cents", "amount_cents"}),
        ({"enabled": True, "threshold_cents": True, "amount_cents": 2000}, {"threshold_cents"}),
        ({"enabled": "yes", "threshold_cents": 500, "amount_cents": 2000}, {"enabled"}),
        ({"threshold_cents": 500, "amount_cents": 2000}, {"enabled"}),
    ],
)
def test_bad_numbers_are_refused_on_their_fields_before_finance(client, fakes, wallets, body, fields):
    resp = put(client, fakes.parent(), body)
    assert resp.status_code == 400
    assert set(resp.get_json()["error"]["fields"]) == fields
    assert fakes.requests("direct_debits", "SetAutoTopUp") == []


def test_finances_range_refusal_names_its_field(client, fakes, wallets):
    resp = put(client, fakes.parent(), {"enabled": True, "threshold_cents": 500, "amount_cents": 50})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"amount_cents": "100 to 50000"}


def test_a_wallet_that_is_not_the_active_childs_is_404_and_finance_is_not_asked_to_change_it(
    client, fakes, wallets
):
    resp = put(client, fakes.parent(), {"enabled": True, "threshold_cents": 500, "amount_cents": 2000}, "w-9")
    assert resp.status_code == 404
    assert fakes.requests("direct_debits", "SetAutoTopUp") == []


# -- the OpenAPI document ---------------------------------------------------------------------------


def test_every_parent_direct_debit_route_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/mandates"]) == {"get", "post"}
    assert set(paths["/api/v1/mandates/{id}"]) == {"delete"}
    assert set(paths["/api/v1/wallets/{id}/auto-top-up"]) == {"put"}
    assert "409" in paths["/api/v1/mandates"]["post"]["responses"]
    assert set(spec["components"]["schemas"]["Mandate"]["required"]) == MANDATE_KEYS
    assert "auto_top_up" in spec["components"]["schemas"]["Wallet"]["properties"]
    assert "collection_pending" in spec["components"]["schemas"]["Invoice"]["properties"]
