"""A finance service on a throwaway database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
used through its use cases or served over gRPC on a free port."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, cast

import grpc
import pytest
from flask import Flask, request
from sqlalchemy import select
from werkzeug.serving import make_server

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import finance_pb2_grpc
from devtools.mollie_standin import create_app as standin_app
from kit.clock import FakeClock
from kit.identity import Identity
from kit.service import bootstrap, start_grpc
from kit.testing import test_settings
from services.finance.app import UseCases, spec, use_cases
from services.finance.db import invoices, ledger_postings, ledger_sums, ledger_transactions, wallets

# Ids as long as auth's (UUIDs), so PostgreSQL's column lengths are exercised.
SCHOOL = "5c0e1a7e-0000-4000-8000-000000000001"
ACCOUNTS = {
    name: f"{i:08d}-acc0-4000-8000-{name[:12].ljust(12, '0')}"
    for i, name in enumerate(("manager", "mum", "stranger", "elsewhere", "canteen"))
}
IBAN = "BE68 5390 0754 7034"


@pytest.fixture
def finance_rt(databases, keys):
    url = databases.migrated("finance")
    sp = spec()
    rt = bootstrap(sp, test_settings("finance", url, keys, None))
    rt.clock = FakeClock()  # 2026-03-16 09:30 UTC, moved by hand
    yield rt
    rt.db.dispose()


class NoProvider:
    """The payment provider of tests that pay nothing online: any call to it is a test's bug."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the payment provider was called ({name}) in a test that has none")


NO_PROVIDER = NoProvider()


class CountingProvider:
    """A payment provider that records every call (method name, first argument) before passing it on
    to ``inner`` (the stand-in's client; NO_PROVIDER: a call fails the test after being recorded)."""

    def __init__(self, inner: Any = NO_PROVIDER) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str):
        method = getattr(self.inner, name) if not isinstance(self.inner, NoProvider) else None

        def call(*args, **kw):
            first = args[0] if args else kw.get("idempotency_key", "")
            self.calls.append((name, str(first)))
            if method is None:
                raise AssertionError(f"the payment provider was called ({name})")
            return method(*args, **kw)

        return call


class Served:
    """A WSGI app on a free local port, in a thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.received: list[str] = []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def provider():
    """The Mollie stand-in, in memory, webhooks not retried."""
    served = Served(standin_app(state_file=None, webhook_retry_delays=()))
    yield served
    served.close()


@pytest.fixture
def webhooks():
    """Where the stand-in's webhooks land: the ids are recorded, the test decides when to handle them."""
    received: list[str] = []
    app = Flask("webhooks")

    @app.post("/webhooks/mollie")
    def hook():
        received.append(request.form.get("id", ""))
        return ""

    served = Served(app)
    served.received = received
    yield served
    served.close()


@pytest.fixture
def finance(finance_rt) -> UseCases:
    """Every use case of the service, on the test's database, with no payment provider."""
    return use_cases(finance_rt, provider=NO_PROVIDER)


STAFF = Identity(account_id=ACCOUNTS["manager"], role="staff", school_id=SCHOOL)
MUM = Identity(
    account_id=ACCOUNTS["mum"], role="parent", school_id=SCHOOL, students={"emma": "1A", "leo": "3B"}
)
STRANGER = Identity(account_id=ACCOUNTS["stranger"], role="parent", school_id=SCHOOL, students={"noah": "2B"})
OTHER_SCHOOL_STAFF = Identity(
    account_id=ACCOUNTS["elsewhere"], role="staff", school_id="5c0e1a7e-0000-4000-8000-000000000002"
)


def reauthenticated(who: Identity, rt, ago_seconds: int = 0) -> Identity:
    """``who`` as auth's Reauthenticate answers it: the password typed again ``ago_seconds`` before the
    service's clock says now (what changing the school's IBAN asks for)."""
    return dataclasses.replace(who, reauthenticated_at=int(rt.clock().timestamp()) - ago_seconds)


def reauthenticated_token(keys, rt, who: Identity, ago_seconds: int = 0) -> str:
    """An identity token for ``who``, reauthenticated ``ago_seconds`` before the service's clock."""
    return keys.signer.sign(reauthenticated(who, rt, ago_seconds))[0]


def settings(**over) -> pb.UpdateSettingsRequest:
    base: dict[str, Any] = dict(
        iban=IBAN,
        bic="BBRUBEBB",
        beneficiary="École Saint-Joseph",
        top_up_methods=["online", "transfer"],
        internal_wallet_payments=True,
        online_payment_for_orders=False,
    )
    base.update(over)
    return pb.UpdateSettingsRequest(settings=pb.Settings(**base))


class World:
    """A school with payment settings, the wallet types Repas and Activités, and students."""

    def __init__(self, finance: UseCases) -> None:
        self.finance = finance
        # The school's first IBAN: typed by a manager who gave their password again.
        finance.settings.update_settings(reauthenticated(STAFF, finance.settings.rt), settings())
        self.types = {
            name: finance.wallets.create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name=name)).wallet_type
            for name in ("Repas", "Activités")
        }
        self.wallets: dict[str, dict[str, pb.Wallet]] = {}
        for student, level in (("emma", "primary"), ("leo", "secondary"), ("noah", "primary")):
            self.add_student(student, level)

    def add_student(self, student: str, level: str = "primary") -> dict[str, pb.Wallet]:
        opened = self.finance.wallets.open_student_wallets(
            STAFF,
            pb.OpenStudentWalletsRequest(
                student_id=student,
                level=level,
                first_name=student.title(),
                last_name="Dupont",
                class_name="1A",
            ),
        )
        self.wallets[student] = {w.name: w for w in opened.wallets}
        return self.wallets[student]

    def wallet(self, student: str, name: str = "Repas") -> pb.Wallet:
        return self.wallets[student][name]

    def top_up(self, student: str, cents: int, name: str = "Repas", key: str = "") -> pb.RecordTopUpResponse:
        return self.finance.operations.record_top_up(
            STAFF,
            pb.RecordTopUpRequest(
                wallet_id=self.wallet(student, name).id,
                amount_cents=cents,
                method="cash",
                idempotency_key=key,
            ),
        )

    def invoice(
        self, student: str, cents: int, title: str = "Visite à Bruges", key: str = "", **kw
    ) -> pb.Invoice:
        return self.finance.invoices.create_invoice(
            STAFF,
            pb.CreateInvoiceRequest(
                student_id=student,
                title=title,
                idempotency_key=key,
                lines=[pb.InvoiceLineInput(label=title, quantity=1, unit_price_cents=cents)],
                **kw,
            ),
        ).invoice

    def pay(self, who: Identity, invoice_id: str, wallet_id: str, key: str = "") -> pb.PayInvoiceResponse:
        return self.finance.wallet_payments.pay_invoice(
            who,
            pb.PayInvoiceRequest(
                invoice_id=invoice_id, method="wallet", wallet_id=wallet_id, idempotency_key=key
            ),
        )

    def sale(self, student: str, lines: list[tuple[str, int, int]], name: str = "Repas", key: str = ""):
        return self.finance.operations.record_sale(
            STAFF,
            pb.RecordSaleRequest(
                student_id=student,
                wallet_id=self.wallet(student, name).id,
                idempotency_key=key,
                lines=[pb.SaleLineInput(label=lb, quantity=q, unit_price_cents=u) for lb, q, u in lines],
            ),
        )

    def balance(self, student: str, name: str = "Repas") -> int:
        listed = self.finance.wallets.list_wallets(STAFF, student).wallets
        return next(w.balance_cents for w in listed if w.name == name)


@pytest.fixture
def world(finance) -> World:
    return World(finance)


def assert_ledger_invariants(rt, school_id: str | None = None) -> None:
    """The ledger sums to zero, every wallet's cached balance equals its postings and is never
    negative, and every invoice's paid amount equals the payments posted on it."""
    with rt.db.unit_of_work() as s:
        sums = ledger_sums(s, school_id)
        assert sum(sums.values()) == 0
        q = select(wallets.c.id, wallets.c.balance_cents)
        if school_id:
            q = q.where(wallets.c.school_id == school_id)
        for wallet_id, balance in s.execute(q):
            assert balance == sums.get(f"wallet:{wallet_id}", 0)
            assert balance >= 0
        t = ledger_transactions
        iq = select(invoices)
        if school_id:
            iq = iq.where(invoices.c.school_id == school_id)
        for inv in s.execute(iq):
            paid = (
                s.execute(
                    select(ledger_postings.c.amount_cents)
                    .join(t, t.c.id == ledger_postings.c.transaction_id)
                    .where(
                        ledger_postings.c.account == f"invoice:{inv.id}:receivable",
                        t.c.kind == "invoice_payment",
                    )
                )
                .scalars()
                .all()
            )
            assert inv.paid_cents == sum(paid)
            # What is still owed on the invoice (negative): the total less what was paid and credited.
            assert (
                sums.get(f"invoice:{inv.id}:receivable", 0)
                == -inv.total_cents + inv.paid_cents + inv.credited_cents
            )
            assert 0 <= inv.paid_cents <= inv.total_cents


@pytest.fixture
def finance_server(finance_rt):
    server = start_grpc(finance_rt, "127.0.0.1:0")
    yield server
    server.stop(0)


@pytest.fixture
def stub(finance_server):
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    yield finance_pb2_grpc.FinanceServiceStub(channel)
    channel.close()


def snapshot(rt) -> dict[str, list[tuple]]:
    """Every row of every table of the service (outbox, inbox and idempotency keys included): equal
    before and after a call when the call wrote nothing."""
    with rt.db.unit_of_work() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr)
            for t in rt.spec.metadata.sorted_tables
        }


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def error_code(exc: grpc.RpcError) -> str:
    # (key, value) pairs at run time; the stubs type them as an opaque _Metadatum.
    pairs = cast("tuple[tuple[str, str], ...]", exc.trailing_metadata() or ())
    return dict(pairs).get("x-error-code", "")
