"""Online payments through the whole suite: the gateway's API and pages, the finance service, the
provider's stand-in on its own port with a real HTTP webhook back to the gateway, the broker and the
mail. Money is booked only from the webhook (which fetches the status), exactly once."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from kit.testing import wait_for
from tests.factories import anonymous, expect, mails_to, new_family, new_school

IBAN = "BE68 5390 0754 7034"


def open_school(suite, methods=("online", "transfer"), wallet_payments=True, orders_online=False):
    staff = new_school(suite)
    expect(
        staff.put(
            "/admin/settings",
            json={
                "iban": IBAN,
                "bic": "BBRUBEBB",
                "beneficiary": "École Saint-Joseph",
                "top_up_methods": list(methods),
                "internal_wallet_payments": wallet_payments,
                "online_payment_for_orders": orders_online,
                "current_password": staff.password,  # a first IBAN asks for the password again
            },
        ),
        200,
    )
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    return staff


@pytest.fixture
def school(suite):
    staff = open_school(suite)
    family = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    return staff, family


def wallet(family) -> dict:
    (w,) = expect(family.get("/wallets"), 200).json()["items"]
    return w


def top_up(family, cents=1000, key=None, wallet_id=None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    resp = expect(
        family.post(
            f"/wallets/{wallet_id or wallet(family)['id']}/top-ups",
            json={"amount_cents": cents, "method": "online"},
            headers=headers,
        ),
        201,
    )
    return resp.json()


def provider_id(checkout_url: str) -> str:
    return urlsplit(checkout_url).path.rsplit("/", 1)[-1]


def checkout(checkout_url: str, action: str) -> requests.Response:
    """The parent on the provider's page. The stand-in calls the webhook, then redirects (not followed)."""
    return requests.post(checkout_url, data={"action": action}, allow_redirects=False, timeout=30)


def resend_webhook(suite, pid: str) -> dict:
    resp = requests.post(f"http://127.0.0.1:{suite.mollie_port}/_standin/payments/{pid}/webhook", timeout=30)
    return resp.json()


def webhook_attempts(suite, pid: str) -> list[tuple[int, str]]:
    """What the stand-in's log says of the webhook calls for ``pid``: (attempt, "webhook delivered" or
    "webhook failed"), in order."""
    out = []
    for line in (suite.logs / "mollie.log").read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("payment_id") == pid and entry.get("msg") in ("webhook delivered", "webhook failed"):
            out.append((int(entry.get("attempt", 0)), entry["msg"]))
    return out


def webhook_delivered(suite, pid: str) -> bool:
    """Whether the stand-in's log says a webhook for ``pid`` reached the gateway and was accepted."""
    return any(msg == "webhook delivered" for _attempt, msg in webhook_attempts(suite, pid))


def webhook_retries(suite, pid: str, allow: int | None) -> None:
    """Let ``allow`` more of the stand-in's retries of ``pid``'s webhook go when due, then hold them
    (``None``: let them all go)."""
    resp = requests.post(
        f"http://127.0.0.1:{suite.mollie_port}/_standin/payments/{pid}/webhook-retries",
        json={"allow": allow},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


def payment(family, payment_id: str) -> dict:
    return expect(family.get(f"/payments/{payment_id}"), 200).json()


def test_online_top_up_is_booked_once_by_the_webhook(suite, school):
    _staff, family = school
    mark = suite.bus_mark()
    w = wallet(family)
    started = top_up(family, 1000, key=str(uuid.uuid4()))
    assert started["checkout_url"].startswith(f"http://127.0.0.1:{suite.mollie_port}/checkout/tr_")
    assert payment(family, started["payment_id"]) | {"created_at": None} == {
        "id": started["payment_id"],
        "status": "open",
        "amount_cents": 1000,
        "purpose": "top_up",
        "method": "online",
        "wallet_id": w["id"],
        "invoice_id": None,
        "created_at": None,
        "paid_at": None,
    }
    assert wallet(family)["balance_cents"] == 0
    back = checkout(started["checkout_url"], "paid")
    assert back.status_code == 303
    assert back.headers["Location"] == f"{suite.base_url}/paiements/{started['payment_id']}/retour"
    # the stand-in delivered the webhook to the gateway before redirecting: booked already
    assert wallet(family)["balance_cents"] == 1000
    assert payment(family, started["payment_id"])["status"] == "paid"
    page = expect(family.page(back.headers["Location"]), 200)
    assert (
        "Votre paiement est confirmé" in page.text and "10,00" in page.text and 'href="/soldes"' in page.text
    )
    pid = provider_id(started["checkout_url"])
    for _ in range(3):  # the provider repeats itself: nothing more is booked
        assert resend_webhook(suite, pid)["delivered"] is True
    assert wallet(family)["balance_cents"] == 1000
    ops = expect(family.get("/operations"), 200).json()["items"]
    assert [(o["type"], o["payment_method"], o["amount_cents"]) for o in ops] == [("top_up", "online", 1000)]
    # finance.payment.received.v1 reached notifications, which mailed the parent once
    wait_for(
        lambda: [m for m in mails_to(suite, family.email) if "Paiement reçu" in str(m["Subject"])],
        timeout=60,
        what="the payment mail",
    )
    suite.wait_until_settled(mark)  # a doubled event would have made its mail by now
    assert len([m for m in mails_to(suite, family.email) if "Paiement reçu" in str(m["Subject"])]) == 1


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("failed", "a échoué"),
        ("canceled", "a été annulé"),
        ("expired", "a expiré"),
    ],
)
def test_a_failed_canceled_or_expired_payment_books_nothing_and_says_so(suite, school, action, words):
    _staff, family = school
    started = top_up(family, 2500)
    back = checkout(started["checkout_url"], action)
    assert back.status_code == 303
    assert payment(family, started["payment_id"])["status"] == action
    resend_webhook(suite, provider_id(started["checkout_url"]))
    assert wallet(family)["balance_cents"] == 0
    page = expect(family.page(back.headers["Location"]), 200)
    assert words in page.text and "rien n'a été débité" in page.text.replace("&#39;", "'")
    assert "Refresh" not in page.headers


def webhooks_answered_503(caplog, pid: str) -> int:
    """How many webhook calls for ``pid`` the gateway (in this process) answered 503 so far."""
    said = ("webhook not handled now, the provider will retry", "webhook failed")
    return sum(1 for r in caplog.records if getattr(r, "provider_id", None) == pid and r.getMessage() in said)


def test_the_redirect_without_the_webhook_books_nothing_and_the_late_webhook_books_once(
    suite, school, caplog
):
    _staff, family = school
    started = top_up(family, 1500)
    pid = provider_id(started["checkout_url"])
    # The parent comes back to the site before paying anything (browser back, a second tab):
    early = expect(family.page(f"/paiements/{started['payment_id']}/retour"), 200)
    assert "en cours de confirmation" in early.text and early.headers["Refresh"].startswith("4")
    # The stand-in's retries of this webhook go only when the test says: what happens before the late
    # webhook is looked at without racing the retry delays.
    webhook_retries(suite, pid, allow=0)
    try:
        # While finance is down the gateway answers the webhook 503, and the stand-in retries it.
        suite.stop_service("finance")
        try:
            refused = requests.post(
                suite.base_url + "/webhooks/mollie", data={"id": "tr_whatever"}, timeout=30
            )
            assert refused.status_code == 503
            back = checkout(started["checkout_url"], "paid")  # webhook refused (503): only the redirect comes
            assert back.status_code == 303
            assert webhook_attempts(suite, pid) == [(1, "webhook failed")]
            webhook_retries(suite, pid, allow=2)  # the first two retries fail too
            wait_for(
                lambda: len(webhook_attempts(suite, pid)) == 3,
                timeout=90,
                what="the stand-in's first two retries",
            )
            assert webhook_attempts(suite, pid) == [(n, "webhook failed") for n in (1, 2, 3)]
            # The stand-in stops waiting for an answer before the gateway stops waiting for finance: a
            # call still waiting there when finance is back would book the payment. Finance comes back
            # once the gateway has answered all three.
            wait_for(
                lambda: webhooks_answered_503(caplog, pid) == 3,
                timeout=90,
                what="the gateway answering the three webhook calls 503",
            )
        finally:
            suite.start_service("finance")
        suite.wait_ready()
        # Finance is back; the stand-in's next retry is held. Until it comes, following the redirect
        # and reloading the page books nothing.
        for _ in range(3):
            page = expect(family.page(back.headers["Location"]), 200)
            assert "en cours de confirmation" in page.text
            assert wallet(family)["balance_cents"] == 0
            assert payment(family, started["payment_id"])["status"] == "open"
        assert not webhook_delivered(suite, pid)
    finally:
        webhook_retries(suite, pid, allow=None)  # the held retry goes
    # the late webhook books it, once
    wait_for(
        lambda: payment(family, started["payment_id"])["status"] == "paid",
        timeout=60,
        what="the retried webhook",
    )
    assert wallet(family)["balance_cents"] == 1500
    wait_for(lambda: webhook_delivered(suite, pid), timeout=60, what="the stand-in logging the delivery")
    resend_webhook(suite, provider_id(started["checkout_url"]))
    assert wallet(family)["balance_cents"] == 1500
    assert "Votre paiement est confirmé" in expect(family.page(back.headers["Location"]), 200).text


def test_webhooks_for_unknown_or_malformed_ids_are_answered_200(suite):
    for data in ({"id": "tr_unknown12345"}, {"id": "not a payment"}, {}):
        assert requests.post(suite.base_url + "/webhooks/mollie", data=data, timeout=30).status_code == 200


def test_invoice_paid_online(suite, school):
    staff, family = school
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": family.active_child_id,
                "title": "Classe verte",
                "due_on": "2030-06-30",
                "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 12500}],
            },
        ),
        201,
    ).json()
    started = expect(family.post(f"/invoices/{inv['id']}/payments", json={"method": "online"}), 201).json()
    assert set(started) >= {"payment_id", "checkout_url"}
    assert payment(family, started["payment_id"])["purpose"] == "invoice"
    checkout(started["checkout_url"], "paid")
    (got,) = expect(family.get("/invoices"), 200).json()["items"]
    assert (got["status"], got["paid_cents"]) == ("paid", 12500)
    again = family.post(f"/invoices/{inv['id']}/payments", json={"method": "online"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_paid"
    details = expect(family.get(f"/invoices/{inv['id']}/transfer"), 200).json()
    assert (
        details["amount_cents"] == 0
        and details["structured_communication"] == inv["structured_communication"]
    )


def test_disabled_methods_answer_409_and_are_not_offered(suite):
    staff = open_school(suite, methods=("transfer",), wallet_payments=False)
    family = new_family(suite, staff, [{"first_name": "Noah"}])
    w = wallet(family)
    refused = family.post(f"/wallets/{w['id']}/top-ups", json={"amount_cents": 1000, "method": "online"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "method_disabled"
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": family.active_child_id,
                "title": "Photos",
                "lines": [{"label": "Photo", "unit_price_cents": 900}],
            },
        ),
        201,
    ).json()
    refused = family.post(f"/invoices/{inv['id']}/payments", json={"method": "online"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "method_disabled"
    details = expect(family.get(f"/wallets/{w['id']}/transfer"), 200).json()
    assert (
        details["iban"] == "BE68539007547034"
        and details["structured_communication"] == w["structured_communication"]
    )
    assert details["epc_qr_svg"].startswith("<svg")
    balances = expect(family.page("/soldes"), 200).text
    assert "Recharger" in balances and "Par virement bancaire" in balances
    assert 'recharger"' not in balances and "Payer en ligne" not in balances  # no online option offered
    online_only = open_school(suite, methods=("online",))
    other = new_family(suite, online_only, [{"first_name": "Lina"}])
    refused = other.get(f"/wallets/{wallet(other)['id']}/transfer")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "method_disabled"


def test_payments_of_another_family_are_not_found_and_bad_requests_are_400(suite, school):
    staff, family = school
    started = top_up(family, 1000)
    stranger = new_family(suite, staff, [{"first_name": "Zoé"}])
    assert stranger.get(f"/payments/{started['payment_id']}").status_code == 404
    assert (
        stranger.post(f"/wallets/{wallet(family)['id']}/top-ups", json={"amount_cents": 1000}).status_code
        == 404
    )
    assert stranger.get(f"/wallets/{wallet(family)['id']}/transfer").status_code == 404
    assert stranger.page(f"/paiements/{started['payment_id']}/retour").status_code == 404
    assert anonymous(suite).get(f"/payments/{started['payment_id']}").status_code == 401
    w = wallet(family)["id"]
    for body in (
        {"amount_cents": "10"},
        {"amount_cents": 0},
        {"amount_cents": 50},
        {"amount_cents": 1000, "method": "cash"},
    ):
        resp = family.post(f"/wallets/{w}/top-ups", json=body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_request", body


def test_the_same_idempotency_key_answers_the_same_payment(suite, school):
    _staff, family = school
    key = str(uuid.uuid4())
    first, again = top_up(family, 700, key=key), top_up(family, 700, key=key)
    assert again == first
    reused = family.post(
        f"/wallets/{wallet(family)['id']}/top-ups",
        json={"amount_cents": 800},
        headers={"Idempotency-Key": key},
    )
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"


def _form_fields(html: str, action: str) -> dict[str, str]:
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))


def test_the_recharger_menu_of_the_balances_page_pays_online_and_shows_the_transfer(suite, school):
    _staff, family = school
    w = wallet(family)
    balances = expect(family.page("/soldes"), 200).text
    action = f"/soldes/portefeuilles/{w['id']}/recharger"
    fields = _form_fields(balances, action)
    assert set(fields) == {"csrf_token", "idempotency_key"}
    sent = family.page(action, method="POST", data={**fields, "amount": "12,50"}, allow_redirects=False)
    assert sent.status_code == 303 and "/checkout/tr_" in sent.headers["Location"]
    twice = family.page(action, method="POST", data={**fields, "amount": "12,50"}, allow_redirects=False)
    assert twice.headers["Location"] == sent.headers["Location"]  # the same form sent twice: one payment
    back = checkout(sent.headers["Location"], "paid")
    page = expect(family.page(back.headers["Location"]), 200).text
    assert "Votre paiement est confirmé" in page and "12,50" in page
    assert wallet(family)["balance_cents"] == 1250
    bad = family.page(
        action,
        method="POST",
        data={**_form_fields(expect(family.page("/soldes"), 200).text, action), "amount": "douze"},
    )
    assert bad.status_code == 400 and "par exemple 10 ou 12,50" in bad.text
    transfer = expect(family.page(f"/soldes/portefeuilles/{w['id']}/virement"), 200).text
    assert "BE68539007547034" in transfer and w["structured_communication"] in transfer and "<svg" in transfer
    assert "importer les extraits de compte" in transfer
    english = expect(family.page(f"/soldes/portefeuilles/{w['id']}/virement?lang=en"), 200).text
    assert "By bank transfer" in english and "Transfer QR code" in english


def test_an_order_paid_online_when_the_school_takes_orders_online(suite):
    from datetime import UTC, datetime, timedelta

    staff = open_school(suite, methods=(), orders_online=True)
    family = new_family(suite, staff, [{"first_name": "Léo", "class_name": "1A"}])
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels",
                "notes": "",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=1)).isoformat(),
                "class_names": ["1A"],
            },
        ),
        201,
    ).json()["id"]
    item = expect(
        staff.post(
            f"/admin/order-periods/{period}/items",
            json={
                "subject": "Math",
                "title": "Atlas",
                "comment": "",
                "type": "purchase",
                "price_cents": 2150,
            },
        ),
        201,
    ).json()["id"]
    placed = expect(
        family.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": [item], "confirm": True},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    ).json()
    assert placed["checkout_url"] and placed["grand_total_cents"] == 2150
    back = checkout(placed["checkout_url"], "paid")
    payment_id = back.headers["Location"].rsplit("/", 2)[-2]
    got = payment(family, payment_id)
    assert (got["status"], got["purpose"], got["amount_cents"], got["invoice_id"]) == (
        "paid",
        "order",
        2150,
        placed["invoice_id"],
    )
    (inv,) = expect(family.get("/invoices"), 200).json()["items"]
    assert (inv["id"], inv["status"]) == (placed["invoice_id"], "paid")


def test_a_refund_at_the_provider_shows_in_the_operations_and_the_wallet(suite, school):
    """The school refunds part of an online top-up at the provider: the same webhook books it, once."""
    _staff, family = school
    started = top_up(family, 1500, key=str(uuid.uuid4()))
    checkout(started["checkout_url"], "paid")
    assert wallet(family)["balance_cents"] == 1500
    pid = provider_id(started["checkout_url"])
    made = requests.post(
        f"http://127.0.0.1:{suite.mollie_port}/_standin/payments/{pid}/refunds",
        json={"amount": {"currency": "EUR", "value": "4.00"}, "status": "refunded"},
        timeout=30,
    )
    assert made.status_code == 201 and made.json()["webhook"]["delivered"] is True
    assert wallet(family)["balance_cents"] == 1100
    for _ in range(2):  # the provider repeats itself: nothing more is booked
        assert resend_webhook(suite, pid)["delivered"] is True
    assert wallet(family)["balance_cents"] == 1100
    ops = expect(family.get("/operations"), 200).json()["items"]
    assert [(o["type"], o["payment_method"], o["amount_cents"]) for o in ops] == [
        ("refund", "online", -400),
        ("top_up", "online", 1500),
    ]
    assert ops[0]["label"].startswith("Remboursement du paiement en ligne du ")
    assert payment(family, started["payment_id"])["status"] == "paid"
