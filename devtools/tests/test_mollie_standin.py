"""The payment provider's stand-in: Mollie's API rules through the test client, then the whole
checkout, webhook and redirect served for real over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from devtools.mollie_standin import create_app, parse_delays
from kit.testing import wait_for
from services.finance.providers.mollie import MollieClient

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer test_standin_key_123"}


def body(**over) -> dict:
    b = {
        "amount": {"currency": "EUR", "value": "10.00"},
        "description": "Repas de novembre — Léa",
        "redirectUrl": "http://127.0.0.1:8000/paiements/retour",
        "webhookUrl": "http://127.0.0.1:8000/webhooks/mollie",
        "method": "bancontact",
        "metadata": {"payment_id": "p-1"},
    }
    b.update(over)
    return b


@pytest.fixture
def client():
    app = create_app(public_url="http://standin.test", webhook_retry_delays=())
    return app.test_client()


def create(client, headers=None, **over):
    return client.post("/v2/payments", json=body(**over), headers={**AUTH, **(headers or {})})


# -- API rules ------------------------------------------------------------------------------------


def test_create_answers_an_open_payment_with_a_checkout_link(client):
    r = create(client)
    assert r.status_code == 201
    p = r.get_json()
    assert p["resource"] == "payment" and p["mode"] == "test" and p["status"] == "open"
    assert p["id"].startswith("tr_") and p["id"][3:].isalnum()
    assert p["amount"] == {"currency": "EUR", "value": "10.00"}
    assert p["description"] == "Repas de novembre — Léa"
    assert p["method"] == "bancontact"
    assert p["metadata"] == {"payment_id": "p-1"}
    assert p["redirectUrl"] == "http://127.0.0.1:8000/paiements/retour"
    assert p["webhookUrl"] == "http://127.0.0.1:8000/webhooks/mollie"
    assert p["createdAt"] < p["expiresAt"]
    assert p["_links"]["self"]["href"] == f"http://standin.test/v2/payments/{p['id']}"
    assert p["_links"]["checkout"]["href"] == f"http://standin.test/checkout/{p['id']}"

    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH)
    assert got.status_code == 200
    assert got.get_json()["status"] == "open"


def test_links_use_the_request_host_without_a_public_url(monkeypatch):
    monkeypatch.delenv("MOLLIE_STANDIN_PUBLIC_URL", raising=False)
    c = create_app().test_client()
    p = c.post("/v2/payments", json=body(), headers=AUTH, base_url="http://localhost:9999").get_json()
    assert p["_links"]["checkout"]["href"] == f"http://localhost:9999/checkout/{p['id']}"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no header"),
        ({"Authorization": "Bearer live_abcdef"}, "live key"),
        ({"Authorization": "Bearer test_"}, "empty key"),
        ({"Authorization": "Basic test_abc"}, "not bearer"),
        ({"Authorization": "Bearer nope"}, "no prefix"),
    ],
)
def test_auth_is_required_mollie_style(client, headers, why):
    r = client.post("/v2/payments", json=body(), headers=headers)
    assert r.status_code == 401, why
    e = r.get_json()
    assert e["status"] == 401 and e["title"] == "Unauthorized Request" and e["detail"]
    pid = create(client).get_json()["id"]
    assert client.get(f"/v2/payments/{pid}", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"amount": {"currency": "USD", "value": "10.00"}}, "amount.currency"),
        ({"amount": {"currency": "EUR", "value": "10"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "10.0"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "10.000"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": 10.00}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "-1.00"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "0.00"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "1,50"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": " 1.50"}}, "amount.value"),
        ({"amount": {"currency": "EUR"}}, "amount"),
        ({"amount": "10.00"}, "amount"),
        ({"description": ""}, "description"),
        ({"description": "x" * 256}, "description"),
        ({"redirectUrl": None}, "redirectUrl"),
        ({"redirectUrl": "/relative"}, "redirectUrl"),
        ({"redirectUrl": "javascript:alert(1)"}, "redirectUrl"),
        ({"webhookUrl": "ftp://x/y"}, "webhookUrl"),
        ({"method": "creditcard"}, "method"),
        ({"metadata": {"x": "y" * 1100}}, "metadata"),
    ],
)
def test_invalid_creates_are_refused_with_the_field(client, over, field):
    r = create(client, **over)
    assert r.status_code == 422, r.get_json()
    e = r.get_json()
    assert e["status"] == 422 and e["title"] == "Unprocessable Entity" and e["field"] == field


def test_smallest_amount_and_malformed_json(client):
    assert create(client, amount={"currency": "EUR", "value": "0.01"}).status_code == 201
    r = client.post("/v2/payments", data="{nope", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["status"] == 400


def test_unknown_payment_is_a_mollie_404(client):
    r = client.get("/v2/payments/tr_doesnotexist", headers=AUTH)
    assert r.status_code == 404
    assert r.get_json()["title"] == "Not Found"
    assert "tr_doesnotexist" in r.get_json()["detail"]
    assert client.get("/checkout/tr_doesnotexist").status_code == 404


def test_idempotency_key_replays_the_same_payment_and_refuses_another_body(client):
    first = create(client, headers={"Idempotency-Key": "k-1"})
    again = create(client, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other = create(client, headers={"Idempotency-Key": "k-1"}, description="Autre chose")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["detail"]
    fresh = create(client, headers={"Idempotency-Key": "k-2"})
    without = create(client)
    ids = {first.get_json()["id"], fresh.get_json()["id"], without.get_json()["id"]}
    assert len(ids) == 3
    listed = client.get("/_standin/payments").get_json()
    assert listed["count"] == 3


def test_checkout_page_is_french_accessible_and_escaped(client):
    p = create(
        client,
        description="<script>alert(1)</script> Classe de neige",
        amount={"currency": "EUR", "value": "1234.50"},
    ).get_json()
    r = client.get(f"/checkout/{p['id']}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert 'name="viewport"' in html
    assert "<h1>Bancontact</h1>" in html
    assert "1\u202f234,50\u00a0€" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    for action in ("paid", "failed", "canceled", "expired"):
        assert f'name="action" value="{action}"' in html
    assert f'method="post" action="/checkout/{p["id"]}"' in html


@pytest.mark.parametrize("action", ["paid", "failed", "canceled", "expired"])
def test_settling_sets_the_status_once_then_409(client, action):
    p = create(client, webhookUrl=None).get_json()
    r = client.post(f"/checkout/{p['id']}", data={"action": action})
    assert r.status_code == 303
    assert r.headers["Location"] == p["redirectUrl"]
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["status"] == action
    assert got[f"{action}At"]
    assert "checkout" not in got["_links"]
    again = client.post(f"/checkout/{p['id']}", data={"action": "paid"})
    assert again.status_code == 409
    assert "ne peut plus changer" in again.get_data(as_text=True)
    assert client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()["status"] == action


def test_unknown_action_is_refused(client):
    p = create(client, webhookUrl=None).get_json()
    assert client.post(f"/checkout/{p['id']}", data={"action": "refund"}).status_code == 400
    assert client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()["status"] == "open"


def test_state_file_survives_a_new_app(tmp_path):
    state = tmp_path / "state.json"
    c1 = create_app(state_file=state, public_url="http://s.test", webhook_retry_delays=()).test_client()
    p = c1.post(
        "/v2/payments", json=body(webhookUrl=None), headers={**AUTH, "Idempotency-Key": "k"}
    ).get_json()
    c1.post(f"/checkout/{p['id']}", data={"action": "paid"})
    assert not [f for f in tmp_path.iterdir() if f.name != "state.json"], "temporary state file left"

    c2 = create_app(state_file=state, public_url="http://s.test", webhook_retry_delays=()).test_client()
    assert c2.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()["status"] == "paid"
    replay = c2.post("/v2/payments", json=body(webhookUrl=None), headers={**AUTH, "Idempotency-Key": "k"})
    assert replay.get_json()["id"] == p["id"]


def test_an_unreadable_state_file_is_moved_aside(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{half a file")
    c = create_app(state_file=state, webhook_retry_delays=()).test_client()
    assert c.get("/_standin/payments").get_json()["count"] == 0
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith("state.json.unreadable-")]


# -- served for real ------------------------------------------------------------------------------


class WebhookReceiver:
    """A real HTTP webhook endpoint; like Cartable's, it fetches the status from the provider."""

    def __init__(self, api_url: str, fail_first: int = 0) -> None:
        self.api_url = api_url
        self.fail_first = fail_first
        self.calls: list[dict] = []
        self.called = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's hook name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                call = {"path": self.path, "body": raw, "content_type": self.headers.get("Content-Type")}
                if raw.startswith("id="):
                    fetched = requests.get(
                        f"{receiver.api_url}/v2/payments/{raw[3:]}", headers=AUTH, timeout=5
                    )
                    call["fetched_status"] = fetched.json().get("status")
                receiver.calls.append(call)
                failing = len(receiver.calls) <= receiver.fail_first
                if not failing:  # before answering: the caller may look as soon as it has the answer
                    receiver.called.set()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/mollie"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served():
    app = create_app(webhook_retry_delays=(0.05, 0.1, 0.2))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", app
    app.extensions["mollie_standin"]["stopping"].set()
    server.shutdown()


def test_paid_on_the_checkout_calls_the_webhook_with_only_the_id_then_redirects(served):
    base, _app = served
    receiver = WebhookReceiver(base)
    try:
        client = MollieClient(base, "test_standin_key_123")
        created = client.create_payment(
            amount_cents=1250,
            description="Voyage scolaire",
            redirect_url="http://127.0.0.1:1/retour?p=1",
            webhook_url=receiver.url,
            metadata={"payment_id": "p-9"},
            idempotency_key="idem-9",
        )
        assert created.status == "open" and created.amount_cents == 1250
        assert created.checkout_url == f"{base}/checkout/{created.id}"

        page = requests.get(created.checkout_url, timeout=5)
        assert page.status_code == 200 and "Bancontact" in page.text and "12,50" in page.text

        r = requests.post(created.checkout_url, data={"action": "paid"}, allow_redirects=False, timeout=15)
        assert r.status_code == 303
        assert r.headers["Location"] == "http://127.0.0.1:1/retour?p=1"

        assert receiver.called.is_set(), "the webhook is called before the redirect"
        [call] = receiver.calls
        assert call["path"] == "/webhooks/mollie"
        assert call["body"] == f"id={created.id}"
        assert call["content_type"] == "application/x-www-form-urlencoded"
        assert call["fetched_status"] == "paid"
        assert client.get_payment(created.id).status == "paid"

        replay = requests.post(f"{base}/_standin/payments/{created.id}/webhook", timeout=15)
        assert replay.status_code == 200 and replay.json()["delivered"] is True
        assert len(receiver.calls) == 2 and receiver.calls[1]["body"] == f"id={created.id}"
    finally:
        receiver.close()


def test_a_failing_webhook_is_retried_in_the_background(served):
    base, _app = served
    receiver = WebhookReceiver(base, fail_first=2)
    try:
        p = requests.post(
            f"{base}/v2/payments", json=body(webhookUrl=receiver.url), headers=AUTH, timeout=5
        ).json()
        r = requests.post(
            f"{base}/checkout/{p['id']}", data={"action": "failed"}, allow_redirects=False, timeout=15
        )
        assert r.status_code == 303  # the redirect does not wait for the webhook to succeed
        assert receiver.called.wait(30), receiver.calls
        assert [c["body"] for c in receiver.calls] == [f"id={p['id']}"] * 3
        assert receiver.calls[-1]["fetched_status"] == "failed"
    finally:
        receiver.close()


def test_the_process_keeps_payments_across_a_restart(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        MOLLIE_STANDIN_ADDR=f"127.0.0.1:{port}",
        MOLLIE_STANDIN_PUBLIC_URL=base,
        MOLLIE_STANDIN_STATE=str(tmp_path / "standin.json"),
    )

    def start():
        proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.mollie_standin"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def answers() -> bool:
            try:
                requests.get(f"{base}/_standin/payments", timeout=1)
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                return False
            return True

        wait_for(answers, timeout=60, what="the stand-in to start")
        return proc

    def stop(proc):
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err.decode()
        return [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]

    proc = start()
    try:
        p = requests.post(f"{base}/v2/payments", json=body(webhookUrl=None), headers=AUTH, timeout=5).json()
        assert p["_links"]["checkout"]["href"] == f"{base}/checkout/{p['id']}"
    finally:
        logs = stop(proc)
    assert {"listening", "payment created", "stopped"} <= {rec["msg"] for rec in logs}

    proc = start()
    try:
        got = requests.get(f"{base}/v2/payments/{p['id']}", headers=AUTH, timeout=5)
        assert got.status_code == 200 and got.json()["status"] == "open"
    finally:
        stop(proc)


# -- refunds and chargebacks ----------------------------------------------------------------------


def amount(value: str) -> dict:
    return {"amount": {"currency": "EUR", "value": value}}


def paid(client) -> dict:
    p = create(client, webhookUrl=None).get_json()
    assert client.post(f"/checkout/{p['id']}", data={"action": "paid"}).status_code == 303
    return p


def test_a_paid_payment_is_refunded_in_parts_and_lists_its_refunds(client):
    p = paid(client)
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["amountRefunded"] == {"currency": "EUR", "value": "0.00"}
    assert got["amountRemaining"] == {"currency": "EUR", "value": "10.00"}
    assert "amountChargedBack" not in got
    first = client.post(f"/_standin/payments/{p['id']}/refunds", json=amount("2.50"))
    assert first.status_code == 201
    r1 = first.get_json()
    assert r1["resource"] == "refund" and r1["id"].startswith("re_") and r1["id"][3:].isalnum()
    assert (r1["status"], r1["amount"], r1["paymentId"]) == (
        "pending",
        {"currency": "EUR", "value": "2.50"},
        p["id"],
    )
    assert r1["webhook"] == {"delivered": True, "outcome": "no webhookUrl"}
    r2 = client.post(
        f"/_standin/payments/{p['id']}/refunds", json={**amount("1.00"), "status": "refunded"}
    ).get_json()
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["status"] == "paid"  # a refunded payment stays paid, as at Mollie
    assert got["amountRefunded"]["value"] == "3.50" and got["amountRemaining"]["value"] == "6.50"
    assert got["_links"]["refunds"]["href"] == f"http://standin.test/v2/payments/{p['id']}/refunds"
    listed = client.get(f"/v2/payments/{p['id']}/refunds", headers=AUTH).get_json()
    assert listed["count"] == 2 and listed["_links"]["next"] is None
    assert [r["id"] for r in listed["_embedded"]["refunds"]] == [r2["id"], r1["id"]]  # newest first
    assert client.get(f"/v2/payments/{p['id']}/refunds").status_code == 401
    # a refund canceled while pending gives its amount back to what can be refunded
    moved = client.post(f"/_standin/payments/{p['id']}/refunds/{r1['id']}", json={"status": "canceled"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "canceled"
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["amountRefunded"]["value"] == "1.00" and got["amountRemaining"]["value"] == "9.00"
    # a refunded refund is final
    again = client.post(f"/_standin/payments/{p['id']}/refunds/{r2['id']}", json={"status": "canceled"})
    assert again.status_code == 422 and again.get_json()["field"] == "status"


def test_refunds_are_refused_mollie_style_when_they_cannot_be(client):
    p = create(client, webhookUrl=None).get_json()
    r = client.post(f"/_standin/payments/{p['id']}/refunds", json=amount("1.00"))
    assert r.status_code == 422 and "only a paid payment" in r.get_json()["detail"]  # still open
    p = paid(client)
    for body_, field in (
        (amount("10.01"), "amount.value"),
        (amount("1"), "amount.value"),
        (amount("0.00"), "amount.value"),
        ({"amount": {"currency": "USD", "value": "1.00"}}, "amount.currency"),
        ({}, "amount"),
        ({**amount("1.00"), "status": "failed"}, "status"),
    ):
        r = client.post(f"/_standin/payments/{p['id']}/refunds", json=body_)
        assert r.status_code == 422 and r.get_json()["field"] == field, (body_, r.get_json())
    assert client.post("/_standin/payments/tr_nope/refunds", json=amount("1.00")).status_code == 404
    assert (
        client.post(f"/_standin/payments/{p['id']}/refunds/re_nope", json={"status": "failed"}).status_code
        == 404
    )
    r = client.post(f"/_standin/payments/{p['id']}/refunds", data="{", content_type="application/json")
    assert r.status_code == 400


def test_a_chargeback_and_its_reversal(client):
    p = paid(client)
    client.post(f"/_standin/payments/{p['id']}/refunds", json=amount("4.00"))
    too_much = client.post(f"/_standin/payments/{p['id']}/chargebacks", json=amount("6.01"))
    assert too_much.status_code == 422
    made = client.post(f"/_standin/payments/{p['id']}/chargebacks", json=amount("6.00"))
    assert made.status_code == 201
    chb = made.get_json()
    assert chb["resource"] == "chargeback" and chb["id"].startswith("chb_") and chb["reversedAt"] is None
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["amountChargedBack"]["value"] == "6.00" and got["amountRemaining"]["value"] == "0.00"
    listed = client.get(f"/v2/payments/{p['id']}/chargebacks", headers=AUTH).get_json()
    assert [c["id"] for c in listed["_embedded"]["chargebacks"]] == [chb["id"]]
    rev = client.post(f"/_standin/payments/{p['id']}/chargebacks/{chb['id']}/reverse")
    assert rev.status_code == 200 and rev.get_json()["reversedAt"]
    assert client.post(f"/_standin/payments/{p['id']}/chargebacks/{chb['id']}/reverse").status_code == 422
    got = client.get(f"/v2/payments/{p['id']}", headers=AUTH).get_json()
    assert got["amountChargedBack"]["value"] == "0.00" and got["amountRemaining"]["value"] == "6.00"


def test_a_refund_calls_the_webhook_and_the_client_reads_it(served):
    base, _app = served
    receiver = WebhookReceiver(base, fail_first=1)
    try:
        client = MollieClient(base, "test_standin_key_123")
        created = client.create_payment(
            amount_cents=2000,
            description="Voyage scolaire",
            redirect_url="http://127.0.0.1:1/retour",
            webhook_url=receiver.url,
            metadata={},
            idempotency_key="idem-refund",
        )
        requests.post(created.checkout_url, data={"action": "paid"}, allow_redirects=False, timeout=15)
        assert receiver.called.wait(30)  # the settlement's webhook (failed once, then retried)
        receiver.called.clear()
        made = requests.post(
            f"{base}/_standin/payments/{created.id}/refunds", json=amount("5.00"), timeout=15
        ).json()
        assert receiver.called.wait(30)
        assert receiver.calls[-1]["body"] == f"id={created.id}"
        assert receiver.calls[-1]["fetched_status"] == "paid"
        requests.post(f"{base}/_standin/payments/{created.id}/chargebacks", json=amount("3.00"), timeout=15)
        fetched = client.get_payment(created.id)
        assert (fetched.status, fetched.amount_refunded_cents, fetched.amount_charged_back_cents) == (
            "paid",
            500,
            300,
        )
        (refund,) = client.list_refunds(created.id)
        assert (refund.id, refund.kind, refund.amount_cents, refund.status, refund.books_money) == (
            made["id"],
            "refund",
            500,
            "pending",
            True,
        )
        (chargeback,) = client.list_chargebacks(created.id)
        assert (chargeback.kind, chargeback.amount_cents, chargeback.reversed_at, chargeback.books_money) == (
            "chargeback",
            300,
            "",
            True,
        )
    finally:
        receiver.close()


def test_a_refund_that_fails_its_webhook_is_retried_in_the_background(served):
    base, _app = served
    receiver = WebhookReceiver(base)
    try:
        p = requests.post(
            f"{base}/v2/payments", json=body(webhookUrl=receiver.url), headers=AUTH, timeout=5
        ).json()
        requests.post(
            f"{base}/checkout/{p['id']}", data={"action": "paid"}, allow_redirects=False, timeout=15
        )
        assert receiver.called.wait(30)
        receiver.called.clear()
        receiver.fail_first = len(receiver.calls) + 2  # the next two deliveries fail
        r = requests.post(f"{base}/_standin/payments/{p['id']}/refunds", json=amount("1.00"), timeout=15)
        assert r.status_code == 201 and r.json()["webhook"]["delivered"] is False
        assert receiver.called.wait(30), receiver.calls
        assert [c["body"] for c in receiver.calls[1:]] == [f"id={p['id']}"] * 3
    finally:
        receiver.close()


# -- retries a test controls ----------------------------------------------------------------------


def test_retry_delays_are_read_from_the_environment(monkeypatch):
    assert parse_delays("1, 5,15") == (1.0, 5.0, 15.0)
    assert parse_delays("") == () and parse_delays(" , ") == ()
    for bad, why in (("x", "could not convert"), ("1,-2", "retry delays are seconds >= 0")):
        with pytest.raises(ValueError, match=why):
            parse_delays(bad)
    monkeypatch.setenv("MOLLIE_STANDIN_RETRY_DELAYS", "0.05")
    app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    receiver = WebhookReceiver(base, fail_first=1)
    try:
        p = requests.post(
            f"{base}/v2/payments", json=body(webhookUrl=receiver.url), headers=AUTH, timeout=5
        ).json()
        requests.post(
            f"{base}/checkout/{p['id']}", data={"action": "paid"}, allow_redirects=False, timeout=15
        )
        assert receiver.called.wait(30), receiver.calls  # the one retry the environment asked for
        assert len(receiver.calls) == 2
    finally:
        receiver.close()
        app.extensions["mollie_standin"]["stopping"].set()
        server.shutdown()


def test_a_payments_webhook_retries_are_held_and_let_go_by_the_test(served):
    base, _app = served
    receiver = WebhookReceiver(base, fail_first=2)
    try:
        p = requests.post(
            f"{base}/v2/payments", json=body(webhookUrl=receiver.url), headers=AUTH, timeout=5
        ).json()
        retries = f"{base}/_standin/payments/{p['id']}/webhook-retries"
        held = requests.post(retries, json={"allow": 0}, timeout=5)
        assert held.status_code == 200 and held.json() == {"id": p["id"], "allow": 0, "waiting": 0}
        requests.post(
            f"{base}/checkout/{p['id']}", data={"action": "paid"}, allow_redirects=False, timeout=15
        )
        wait_for(lambda: requests.get(retries, timeout=5).json()["waiting"] == 1, what="the first retry held")
        assert len(receiver.calls) == 1  # only the settlement's own call went, and failed
        assert requests.post(retries, json={"allow": 1}, timeout=5).json()["allow"] == 1
        wait_for(
            lambda: len(receiver.calls) == 2 and requests.get(retries, timeout=5).json()["waiting"] == 1,
            what="one retry let go (it failed) and the next one held",
        )
        assert requests.get(retries, timeout=5).json()["allow"] == 0
        assert not receiver.called.is_set()
        assert requests.post(retries, json={"allow": None}, timeout=5).json()["allow"] is None
        assert receiver.called.wait(30), receiver.calls
        assert [c["body"] for c in receiver.calls] == [f"id={p['id']}"] * 3
        for bad in ({"allow": -1}, {"allow": "2"}, {"allow": True}, {}, []):
            refused = requests.post(retries, json=bad, timeout=5)
            assert refused.status_code == 422 and refused.json()["field"] == "allow", bad
        assert (
            requests.get(f"{base}/_standin/payments/tr_unknown123/webhook-retries", timeout=5).status_code
            == 404
        )
    finally:
        receiver.close()
