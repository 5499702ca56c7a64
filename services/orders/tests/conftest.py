from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import select

from cartable.orders.v1 import orders_pb2_grpc
from kit.identity import Identity
from kit.service import bootstrap, start_grpc
from kit.testing import test_settings
from services.orders.app import spec, use_cases
from services.orders.use_cases.ordering import Invoiced


class FakeInvoicer:
    """Stands in for finance: records calls, answers one invoice per idempotency key."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.by_key: dict[str, str] = {}
        self.fail_next = False
        self.lock = threading.Lock()

    def __call__(self, who, student_id, title, lines, credit_cents, key, return_url):
        with self.lock:
            if self.fail_next:
                self.fail_next = False
                from kit.errors import Unavailable

                raise Unavailable("finance is down")
            self.calls.append((student_id, title, tuple(lines), credit_cents, key))
            inv = self.by_key.setdefault(key, f"inv-{len(self.by_key) + 1}")
        return Invoiced(invoice_id=inv, checkout_url="")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 8, 20, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def orders_world(databases, keys):
    url = databases.migrated("orders")
    sp = spec()
    rt = bootstrap(sp, test_settings("orders", url, keys, None))
    rt.clock = Clock()
    invoicer = FakeInvoicer()
    svc = use_cases(rt, invoicer)
    staff = Identity(account_id="boss", role="staff", school_id="sch-1")
    parent = Identity(account_id="mum", role="parent", school_id="sch-1", students={"emma": "1A"})
    period = svc.periods.create_period(
        staff,
        "Manuels 2026-2027",
        "Cochez les livres nécessaires.",
        (rt.clock.now - timedelta(days=1)).isoformat(),
        (rt.clock.now + timedelta(days=7)).isoformat(),
        ["1A", "1B"],
    ).id
    items = {
        "maths": svc.catalog.add_item(
            staff, period, "Mathématiques", "Actimath 1", "Obligatoire", "loan", 1250
        ).id,
        "cahier": svc.catalog.add_item(
            staff, period, "Mathématiques", "Cahier d'exercices", "", "purchase", 890
        ).id,
        "french": svc.catalog.add_item(
            staff, period, "Français", "Grammaire", "Option latin: non", "loan", 2000
        ).id,
    }
    yield rt, svc, invoicer, staff, parent, period, items
    rt.db.dispose()


def snapshot(rt) -> dict[str, list[tuple]]:
    """Every row of every table of the service (outbox, inbox and idempotency keys included): equal
    before and after a call when the call wrote nothing."""
    with rt.db.unit_of_work() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr)
            for t in rt.spec.metadata.sorted_tables
        }


@pytest.fixture
def orders_grpc(databases, keys):
    """The orders servicer over gRPC on a free port (finance stood in by a FakeInvoicer); (rt, stub)."""
    url = databases.migrated("orders")
    sp = spec()
    rt = bootstrap(sp, test_settings("orders", url, keys, None), invoicer=FakeInvoicer())
    rt.clock = Clock()
    server = start_grpc(rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield rt, orders_pb2_grpc.OrdersServiceStub(channel)
    channel.close()
    server.stop(0)
    rt.db.dispose()
