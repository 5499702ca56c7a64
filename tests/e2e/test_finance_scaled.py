"""Two finance servers on the same PostgreSQL behind the gateway (gRPC round robin over both): the
money invariants hold under concurrent payments spread over the two."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.factories import expect, new_family, new_school
from tests.suite import free_port, wait_serving


def _served(metrics_port: int) -> float:
    body = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return sum(
        float(v)
        for v in re.findall(
            r'^cartable_rpc_requests_total\{[^}]*service="finance"[^}]*\} ([0-9.e+]+)$', body, re.M
        )
    )


@pytest.fixture
def two_finances(suite):
    if not suite.urls["finance"].startswith("postgresql"):
        pytest.skip("two instances of a service share a PostgreSQL database (TEST_DATABASE_URL)")
    ports = [free_port(), free_port()]
    metrics = [free_port(), free_port()]
    for i in range(2):
        suite.start_instance("finance", ports[i], metrics[i], f"finance-extra-{i}")
    for p in ports:
        wait_serving(p)
    from werkzeug.serving import make_server

    targets = {svc: f"127.0.0.1:{port}" for svc, port in suite.ports.items()}
    targets["finance"] = "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in ports)
    app = suite.make_app(GRPC_TARGETS=targets)
    http_port = free_port()
    server = make_server("127.0.0.1", http_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http_port}", metrics
    server.shutdown()
    for i in range(2):
        suite.stop_service(f"finance-extra-{i}")


def test_concurrent_wallet_payments_over_two_finance_servers_never_overdraw(suite, two_finances):
    base, metrics = two_finances
    staff = new_school(suite)
    expect(
        staff.put(
            "/admin/settings",
            json={
                "iban": "BE68539007547034",
                "bic": "GKCCBEBB",
                "beneficiary": "École",
                "top_up_methods": ["online", "transfer"],
                "internal_wallet_payments": True,
                "online_payment_for_orders": False,
                "current_password": staff.password,  # a first IBAN asks for the password again
            },
        ),
        200,
    )
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    kid = staff.create_student("Emma", "Dupont", "1A")
    parent = new_family(suite, staff, [kid])
    wallet = expect(parent.get("/wallets")).json()["items"][0]
    expect(
        staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json={"amount_cents": 10_000, "method": "cash"}),
        201,
    )
    invoices = [
        expect(
            staff.post(
                "/admin/invoices",
                json={
                    "student_id": kid["id"],
                    "title": f"Activité {i}",
                    "due_on": "2027-03-01",
                    "lines": [{"label": "Entrée", "quantity": 1, "unit_price_cents": 500}],
                },
            ),
            201,
        ).json()["id"]
        for i in range(40)
    ]
    before = [_served(m) for m in metrics]

    def pay(inv_id: str):
        r = requests.post(
            f"{base}/api/v1/invoices/{inv_id}/payments",
            json={"method": "wallet", "wallet_id": wallet["id"]},
            headers={"Authorization": f"Bearer {parent.session_token}", "Idempotency-Key": f"pay-{inv_id}"},
            timeout=30,
        )
        return r.status_code, (r.json().get("error") or {}).get("code")

    # every invoice paid twice at once (two parents clicking "Payer"), 80 calls over both servers
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(pay, invoices + invoices))
    if any(status >= 500 for status, _ in results):
        errors = [
            line
            for log in suite.logs.glob("finance*.log")
            for line in log.read_text(errors="replace").splitlines()
            if '"level": "error"' in line
        ]
        raise AssertionError(f"server errors {results}: {errors[-5:]}")
    paid = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 409]
    assert len(paid) + len(refused) == 80, results
    assert {code for _, code in refused} <= {"insufficient_balance", "already_paid"}
    statuses = {i["id"]: i["status"] for i in expect(parent.get("/invoices")).json()["items"]}
    assert (
        sum(1 for i in invoices if statuses[i] == "paid") == 20
    )  # 10 000 cents pay 20 invoices of 500, no more
    assert expect(parent.get("/wallets")).json()["items"][0]["balance_cents"] == 0

    after = [_served(m) for m in metrics]
    assert all(a > b for a, b in zip(after, before, strict=True)), (
        "both finance servers must have served calls"
    )

    engine = create_engine(suite.urls["finance"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        assert c.execute(text("SELECT COALESCE(SUM(amount_cents), 0) FROM ledger_postings")).scalar_one() == 0
        bad = c.execute(
            text(
                "SELECT COUNT(*) FROM wallets w WHERE w.balance_cents <> COALESCE("
                "(SELECT SUM(p.amount_cents) FROM ledger_postings p WHERE p.account = 'wallet:' || w.id), 0)"
            )
        ).scalar_one()
        assert bad == 0
        assert c.execute(text("SELECT COUNT(*) FROM wallets WHERE balance_cents < 0")).scalar_one() == 0
    engine.dispose()
