"""The broker cut under the whole suite (issue #15): every process reaches RabbitMQ through a TCP relay
the test cuts (open connections dropped, new ones refused) while parents sign in, top up through the
payment provider's stand-in (the webhook path), pay invoices from their wallets (two parents at the
same moment on the same invoice) and the school issues invoices and deposits a document.

While it is cut every call answers as it would with the broker there (no 5xx) and every server stays
ready: only the parts beside them (``<svc>.broker``, ``<svc>.consume``) show the outage. Once it is
back, what waited in the outboxes goes out and is handled exactly once: one PDF and one mail per
invoice, one mail per payment, one mail per document, a balanced ledger, wallets holding top-ups
minus payments, and nothing dead-lettered."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from kit.testing import BrokerNamespace, ThrowawayDatabases, preferred_backend, wait_for
from services.finance.db import ledger_sums
from services.finance.domain import ledger
from tests.factories import (
    ParentClient,
    StaffClient,
    anonymous,
    expect,
    mail_text,
    mails_to,
    new_family,
    new_school,
)
from tests.suite import Suite

pytestmark = pytest.mark.broker

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Generous: the machine running the suite is shared and loaded; a passing run waits only as long as
# the event takes.
DEADLINE = 120


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[Suite]:
    """A suite of its own whose every process reaches the broker through ``suite.broker_proxy``, on
    PostgreSQL when the tests have it (as every end-to-end test: once, on the preferred backend)."""
    dbs = ThrowawayDatabases(preferred_backend(), tmp_path)
    broker = BrokerNamespace()
    s = Suite(tmp_path, dbs, broker, broker_proxy=True)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        broker.cleanup()
        dbs.cleanup()


# -- what the test watches ----------------------------------------------------------------------------


class Answers:
    """Every HTTP answer the clients it watches received (a requests response hook)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def hook(self, resp: requests.Response, *_args, **_kw) -> None:
        with self._lock:
            self.seen.append((resp.request.method or "", resp.url, resp.status_code))

    def watch(self, client):
        client.http.hooks["response"].append(self.hook)
        return client

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [a for a in self.seen if a[2] >= 500]


def readiness(suite: Suite) -> tuple[int, dict]:
    """The gateway's /readyz: its status code and body (``status``, ``services``, ``parts``)."""
    answer = requests.get(suite.base_url + "/readyz", timeout=10)
    return answer.status_code, answer.json()


def broker_parts(body: dict) -> dict[str, str]:
    """The parts that need the broker, as /readyz shows them: each server's ``<svc>.broker`` and the
    consuming services' ``<svc>.consume``."""
    return {k: v for k, v in body["parts"].items() if k.endswith((".broker", ".consume"))}


def wait_for_parts(suite: Suite, wanted: str, what: str) -> dict:
    """Wait until /readyz answers 200 with every service serving and every broker part ``wanted``
    (the servers evaluate their parts every 10 s); the body."""
    seen: list[object] = [None]

    def there() -> dict:
        code, body = readiness(suite)
        seen[0] = (code, body)
        assert code == 200 and set(body["services"].values()) == {"serving"}, seen[0]
        parts = broker_parts(body)
        return body if parts and set(parts.values()) == {wanted} else {}

    return wait_for(there, DEADLINE, interval=0.5, what=what, describe=lambda: seen[0])


def assert_ready(suite: Suite) -> None:
    """/readyz: 200, every service serving (whatever its parts say)."""
    code, body = readiness(suite)
    assert code == 200 and set(body["services"].values()) == {"serving"}, body


# -- the flows ------------------------------------------------------------------------------------------


def open_school(suite: Suite) -> StaffClient:
    staff = new_school(suite)
    settings = {
        "iban": "BE68 5390 0754 7034",
        "bic": "BBRUBEBB",
        "beneficiary": "École du Chaos",
        "top_up_methods": ["online", "transfer"],
        "internal_wallet_payments": True,
        "online_payment_for_orders": False,
        "current_password": staff.password,  # a first IBAN asks for the password again
    }
    expect(staff.put("/admin/settings", json=settings), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    return staff


def meals_wallet(parent: ParentClient) -> dict:
    (w,) = expect(parent.get("/wallets"), 200).json()["items"]
    return w


def sign_in(parent: ParentClient) -> ParentClient:
    """The parent signs in again (a new session, POST /session) with the one child active."""
    again = parent.sign_in_again()
    if again.active_child_id is None:
        again.select_child(again.children[0]["id"])
    return again


def sign_in_staff(suite: Suite, staff: StaffClient) -> StaffClient:
    """The manager signs in again (a new session, POST /session)."""
    body = {"username": staff.username, "password": staff.password}
    session = expect(anonymous(suite).post("/session", json=body), 200).json()
    return StaffClient(
        suite,
        school_id=staff.school_id,
        school_name=staff.school_name,
        account_id=staff.account_id,
        username=staff.username,
        password=staff.password,
        session=session,
    )


def top_up_online(parent: ParentClient, cents: int) -> dict:
    """An online top-up through the stand-in: the checkout page calls the webhook, then redirects."""
    started = expect(
        parent.post(
            f"/wallets/{meals_wallet(parent)['id']}/top-ups",
            json={"amount_cents": cents, "method": "online"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    ).json()
    back = requests.post(started["checkout_url"], data={"action": "paid"}, allow_redirects=False, timeout=30)
    assert back.status_code == 303, back.text
    got = expect(parent.get(f"/payments/{started['payment_id']}"), 200).json()
    assert (got["status"], got["amount_cents"]) == ("paid", cents)  # booked by the webhook already
    return started


def issue_invoice(staff: StaffClient, student_id: str, title: str, cents: int) -> dict:
    return expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": student_id,
                "title": title,
                "due_on": "2099-06-30",
                "lines": [{"label": title, "quantity": 1, "unit_price_cents": cents}],
            },
        ),
        201,
    ).json()


def pay_from_wallet(parent: ParentClient, invoice: dict, barrier: threading.Barrier | None = None):
    body = {"method": "wallet", "wallet_id": meals_wallet(parent)["id"]}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if barrier is not None:
        barrier.wait(timeout=30)
    return parent.post(f"/invoices/{invoice['id']}/payments", json=body, headers=headers)


def mails(suite: Suite, parent: ParentClient, subject_start: str) -> list:
    return [m for m in mails_to(suite, parent.email) if str(m["Subject"]).startswith(subject_start)]


def documents_titled(parent: ParentClient, title: str) -> list[dict]:
    return [d for d in expect(parent.get("/documents"), 200).json()["items"] if d["title"] == title]


# -- the test -----------------------------------------------------------------------------------------


def test_a_broker_outage_loses_nothing_doubles_nothing_and_keeps_every_service_ready(suite: Suite):
    proxy = suite.broker_proxy
    assert proxy is not None

    # With the broker there: a school, two families (the first with two parents of one child).
    staff = open_school(suite)
    emma = staff.create_student("Emma", "Chaos", "3A")
    noah = staff.create_student("Noah", "Panne", "2B")
    mum = new_family(suite, staff, [emma], first_name="Marie")
    dad = new_family(suite, staff, [emma], first_name="Paul")
    lina = new_family(suite, staff, [noah], first_name="Lina")
    parents = (mum, dad, lina)
    wait_for_parts(suite, "serving", "every server to see the broker and its consumers")
    mark = suite.bus_mark()
    answers = Answers()

    proxy.cut()
    try:
        # Parents and the manager sign in: auth answers without the broker.
        mum, dad, lina = (answers.watch(sign_in(p)) for p in parents)
        staff = answers.watch(sign_in_staff(suite, staff))
        assert_ready(suite)

        # Top-ups through the provider's stand-in: its webhook books them.
        top_up_online(mum, 5000)
        top_up_online(lina, 3000)

        # The school invoices; both of Emma's parents click "Payer" at the same moment.
        trip = issue_invoice(staff, emma["id"], "Classe de neige", 2150)
        books = issue_invoice(staff, noah["id"], "Manuels", 1275)
        photos = issue_invoice(staff, noah["id"], "Photos de classe", 990)
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            racing = list(pool.map(lambda p: pay_from_wallet(p, trip, barrier), (mum, dad)))
        statuses = sorted(r.status_code for r in racing)
        assert statuses == [200, 409], [(r.status_code, r.text) for r in racing]
        refused = next(r for r in racing if r.status_code == 409)
        assert refused.json()["error"]["code"] == "already_paid", refused.text
        paid = next(r for r in racing if r.status_code == 200).json()
        assert paid["invoice"]["status"] == "paid" and paid["wallet_balance_cents"] == 5000 - 2150
        books_paid = expect(pay_from_wallet(lina, books), 200).json()
        assert books_paid["wallet_balance_cents"] == 3000 - 1275

        # And deposits a document for both children.
        made = staff.post(
            "/admin/documents",
            data={"title": "Circulaire panne", "student_ids": f"{emma['id']},{noah['id']}"},
            files={"file": ("circulaire.pdf", PDF, "application/pdf")},
        )
        assert sorted(d["student_id"] for d in expect(made, 201).json()["items"]) == sorted(
            [emma["id"], noah["id"]]
        )

        # Parents look at what they have: all served from the databases.
        for parent in (mum, dad, lina):
            expect(parent.get("/invoices"), 200)
            expect(parent.get("/operations"), 200)
            expect(parent.page("/tableau-de-bord"), 200)
        assert meals_wallet(dad)["balance_cents"] == 2850

        # Every server still ready; what they see beside them shows the outage.
        degraded = wait_for_parts(suite, "degraded", "/readyz to show every broker part degraded")
        assert degraded["status"] == "degraded", degraded
        assert suite.unsettled(mark), "the events written while cut wait in the outboxes"
    finally:
        proxy.restore()

    # Back: everything published, handled, mailed; the consumers back on their queues.
    suite.wait_until_settled(mark, timeout=DEADLINE)
    wait_for_parts(suite, "serving", "every server to see the broker and its consumers again")
    queues = {svc: suite.broker.prefix + f"{svc}.events" for svc in suite.bound}
    wait_for(
        lambda: all(suite.broker.message_count(q) == 0 for q in queues.values()),
        DEADLINE,
        what="every queue to be drained",
        describe=lambda: {q: suite.broker.message_count(q) for q in queues.values()},
    )
    suite.wait_until_settled(mark, timeout=DEADLINE)  # what a redelivery did in the meantime, if any
    assert answers.server_errors() == []
    code, body = readiness(suite)
    assert (code, body["status"]) == (200, "ready"), body

    # Each invoice: its PDF once in the child's documents, its mail once to each parent.
    for invoice, readers in ((trip, (mum, dad)), (books, (lina,)), (photos, (lina,))):
        for parent in readers:
            assert len(documents_titled(parent, f"Facture – {invoice['title']}")) == 1, invoice
            assert len(mails(suite, parent, f"Nouvelle facture {invoice['number']}")) == 1, invoice
    # The document: once, and its mail once.
    for parent in (mum, dad, lina):
        assert len(documents_titled(parent, "Circulaire panne")) == 1
        subjects = [str(m["Subject"]) for m in mails(suite, parent, "Nouveau document")]
        assert len([t for t in subjects if t.endswith(": Circulaire panne")]) == 1, subjects
    # Each payment's mail once: the top-up and the invoice paid from the wallet.
    for parent, invoice in ((mum, trip), (dad, trip), (lina, books)):
        received = [mail_text(m) for m in mails(suite, parent, "Paiement reçu")]
        assert len(received) == 2, received
        assert sum("rechargé le portefeuille" in t for t in received) == 1, received
        assert sum(f"Il règle la facture {invoice['number']}" in t for t in received) == 1, received

    # The money: wallets hold top-ups minus payments, the ledger sums to zero.
    emma_wallet, noah_wallet = meals_wallet(mum), meals_wallet(lina)
    assert (emma_wallet["balance_cents"], noah_wallet["balance_cents"]) == (5000 - 2150, 3000 - 1275)
    for parent, wallet in ((mum, emma_wallet), (lina, noah_wallet)):
        operations = expect(parent.get("/operations"), 200).json()["items"]
        assert sum(o["amount_cents"] for o in operations) == wallet["balance_cents"]
    finance_db = create_engine(suite.urls["finance"])  # no command or API answers the ledger's sums
    try:
        with Session(finance_db) as s:
            sums = {account: cents for account, cents in ledger_sums(s, staff.school_id).items() if cents}
    finally:
        finance_db.dispose()
    assert sum(sums.values()) == 0, sums
    assert sums == {
        ledger.wallet_account(emma_wallet["id"]): 2850,
        ledger.wallet_account(noah_wallet["id"]): 1725,
        ledger.psp_clearing_account(staff.school_id): -8000,
        ledger.school_revenue_account(staff.school_id): 2150 + 1275 + 990,
        ledger.invoice_receivable_account(photos["id"]): -990,
    }

    # Nothing dead-lettered.
    assert {q: suite.broker.message_count(q + ".dlq") for q in queues.values()} == dict.fromkeys(
        queues.values(), 0
    )
