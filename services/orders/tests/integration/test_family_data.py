"""A family's data in orders (issue #21), over the real gRPC server with signed tokens: the export
(``FamilyDataService.ExportFamilyData``) gives a parent, or the school's staff, the orders, lines and
book-return credits of that family and nothing of another family or another school; the erasure
(``auth.family.erased.v1`` through the service's consumer) leaves no name of the family in any table,
keeps the orders' amounts and dates (finance invoiced them), leaves the other family as it was and
runs twice without harm."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import select, update

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.orders.v1 import orders_pb2 as pb
from cartable.orders.v1 import orders_pb2_grpc
from cartable.privacy.v1 import privacy_pb2 as privacy_pb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit import bus
from kit.privacy import ERASED_STUDENT, find_text, pseudonym
from kit.service import bootstrap, make_consumer, start_grpc
from kit.testing import test_settings
from services.orders import db
from services.orders.app import spec
from services.orders.tests.conftest import Clock, FakeInvoicer, snapshot
from services.orders.use_cases.ordering import Invoiced

OURS, THEIRS = "sch-1", "sch-2"
# The family erased: names unique enough that finding them anywhere means they were left behind.
KID, PARENT = "kid-zq", "parent-zq"
NAMES = ["Zéphyrine", "Quorndel"]
# The family beside it, in the same school.
OTHER_KID, OTHER_PARENT = "kid-nv", "parent-nv"


class CheckoutInvoicer(FakeInvoicer):
    """Finance stood in, answering each invoice with an online payment link."""

    def __call__(self, who, student_id, title, lines, credit_cents, key, return_url):
        invoiced = super().__call__(who, student_id, title, lines, credit_cents, key, return_url)
        return Invoiced(invoiced.invoice_id, f"https://pay.example/checkout/{invoiced.invoice_id}")


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@dataclass
class World:
    rt: object
    orders: orders_pb2_grpc.OrdersServiceStub
    privacy: privacy_pb2_grpc.FamilyDataServiceStub
    staff: str
    their_staff: str
    parent: str  # PARENT's token (child KID)
    other_parent: str  # OTHER_PARENT's token (child OTHER_KID)
    order_id: str
    other_order_id: str

    def export(self, token: str, parent_id: str, student_ids: list[str]) -> dict[str, object]:
        answer = self.privacy.ExportFamilyData(
            privacy_pb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=student_ids),
            metadata=md(token),
        )
        assert all(f.content_type == "application/json" for f in answer.files)
        return {f.name: json.loads(f.content.decode("utf-8")) for f in answer.files}


@pytest.fixture
def world(databases, keys):
    url = databases.migrated("orders")
    rt = bootstrap(spec(), test_settings("orders", url, keys, None), invoicer=CheckoutInvoicer())
    rt.clock = Clock()
    server = start_grpc(rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = orders_pb2_grpc.OrdersServiceStub(channel)
    staff = keys.token(role="staff", school_id=OURS, account_id="boss-1")
    now = rt.clock.now
    period = stub.CreatePeriod(
        pb.CreatePeriodRequest(
            title="Manuels 2026-2027",
            opens_at=(now - timedelta(days=1)).isoformat(),
            closes_at=(now + timedelta(days=7)).isoformat(),
        ),
        metadata=md(staff),
    ).id
    loan = stub.AddItem(
        pb.AddItemRequest(
            period_id=period, subject="Maths", title="Actimath 1", type="loan", price_cents=1250
        ),
        metadata=md(staff),
    ).id
    book = stub.AddItem(
        pb.AddItemRequest(
            period_id=period, subject="Français", title="Bescherelle", type="purchase", price_cents=890
        ),
        metadata=md(staff),
    ).id
    parent = keys.token(role="parent", school_id=OURS, students={KID: "1A"}, account_id=PARENT)
    other = keys.token(role="parent", school_id=OURS, students={OTHER_KID: "1B"}, account_id=OTHER_PARENT)

    def family(token: str, kid: str, note: str, key: str) -> str:
        stub.RecordBookReturn(
            pb.RecordBookReturnRequest(student_id=kid, credit_cents=500, note=note), metadata=md(staff)
        )
        rt.clock.now += timedelta(minutes=5)  # the order after the return
        return stub.PlaceOrder(
            pb.PlaceOrderRequest(
                period_id=period, student_id=kid, item_ids=[loan, book], idempotency_key=key
            ),
            metadata=md(token),
        ).order_id

    order_id = family(parent, KID, "3 livres rendus par Zéphyrine Quorndel", "zq-1")
    other_order_id = family(other, OTHER_KID, "Rendu par Noah Vandenbroucke", "nv-1")
    yield World(
        rt,
        stub,
        privacy_pb2_grpc.FamilyDataServiceStub(channel),
        staff,
        keys.token(role="staff", school_id=THEIRS, account_id="boss-2"),
        parent,
        other,
        order_id,
        other_order_id,
    )
    channel.close()
    server.stop(0)
    rt.db.dispose()


def test_a_parent_gets_the_orders_lines_and_book_credits_of_their_child(world):
    files = world.export(world.parent, PARENT, [KID])
    assert sorted(files) == ["orders/book_credits.json", "orders/orders.json"]
    (order,) = files["orders/orders.json"]
    assert order["id"] == world.order_id
    assert (order["student_id"], order["placed_by_account_id"]) == (KID, PARENT)
    assert order["period_title"] == "Manuels 2026-2027"
    assert order["status"] == "placed" and order["invoice_id"] == "inv-1"
    # 1250 + 890, the 500 of credit taken off the loan
    assert (order["subtotal_cents"], order["credit_cents"], order["grand_total_cents"]) == (2140, 500, 1640)
    assert order["created_at"].startswith("2026-08-20T10:05:00")
    assert order["lines"] == [  # as the summary listed them, by subject
        {"subject": "Français", "title": "Bescherelle", "type": "purchase", "price_cents": 890},
        {"subject": "Maths", "title": "Actimath 1", "type": "loan", "price_cents": 1250},
    ]
    (credit,) = files["orders/book_credits.json"]
    assert (credit["student_id"], credit["balance_cents"]) == (KID, 0)
    assert [
        (e["amount_cents"], e["note"], e["order_id"], e["created_at"][:16]) for e in credit["entries"]
    ] == [
        (500, "3 livres rendus par Zéphyrine Quorndel", None, "2026-08-20T10:00"),
        (-500, "order", world.order_id, "2026-08-20T10:05"),
    ]
    text = json.dumps(files, ensure_ascii=False)
    for other in (OTHER_KID, OTHER_PARENT, world.other_order_id, "Vandenbroucke", "inv-2"):
        assert other not in text


def test_a_parent_cannot_ask_for_another_parent_or_a_child_not_theirs(world):
    for parent_id, students in (
        (OTHER_PARENT, [OTHER_KID]),
        (PARENT, [OTHER_KID]),
        (PARENT, [KID, OTHER_KID]),
    ):
        with pytest.raises(grpc.RpcError) as err:
            world.export(world.parent, parent_id, students)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, (parent_id, students)


def test_staff_of_the_school_get_the_same_data_and_another_schools_staff_nothing(world):
    theirs = world.export(world.parent, PARENT, [KID])
    assert world.export(world.staff, PARENT, [KID]) == theirs
    assert world.export(world.their_staff, PARENT, [KID]) == {
        "orders/orders.json": [],
        "orders/book_credits.json": [],
    }


def _published(rt) -> None:
    """The relay's work: every outbox row out (the erasure purges the published ones)."""
    with rt.db.unit_of_work() as s:
        s.execute(
            update(db.outbox).where(db.outbox.c.published_at.is_(None)).values(published_at=rt.clock.now)
        )


def _erased(parent_ids: list[str], student_ids: list[str]) -> bytes:
    event = auth_events.FamilyErased(
        school_id=OURS,
        parent_ids=parent_ids,
        student_ids=student_ids,
        reason="request",
        erased_at="2026-08-21T09:00:00+00:00",
        keep_financial_until="2033-12-31",
    )
    return bus.make_envelope("auth.family.erased.v1", event, OURS).SerializeToString()


def _names_left(rt, names: list[str]) -> list[tuple[str, str]]:
    with rt.db.engine.connect() as conn:
        return find_text(conn, rt.spec.metadata.sorted_tables, names)


def test_an_erased_family_leaves_no_name_and_its_orders_keep_their_amounts(world):
    rt = world.rt
    assert _names_left(rt, NAMES) == [("credit_entries", "note")]  # what the erasure has to clear
    before = world.export(world.staff, PARENT, [KID])
    other_before = world.export(world.staff, OTHER_PARENT, [OTHER_KID])
    _published(rt)
    consumer = make_consumer(rt)
    body = _erased([PARENT], [KID])
    assert consumer.handle(body) == "handled"

    assert _names_left(rt, NAMES) == []
    after = world.export(world.staff, PARENT, [KID])
    (order,) = after["orders/orders.json"]
    (kept,) = before["orders/orders.json"]
    assert order["checkout_url"] is None and kept["checkout_url"] == "https://pay.example/checkout/inv-1"
    assert {**order, "checkout_url": kept["checkout_url"]} == kept  # amounts, dates, lines, ids kept
    (credit,) = after["orders/book_credits.json"]
    assert [(e["amount_cents"], e["note"]) for e in credit["entries"]] == [
        (500, pseudonym(ERASED_STUDENT, KID)),
        (-500, "order"),
    ]
    with rt.db.unit_of_work() as s:
        scopes = set(s.execute(select(db.idempotency_keys.c.scope)).scalars())
        assert scopes == {f"order:{OTHER_PARENT}"}  # the erased parent's stored answers gone
        assert s.execute(select(db.outbox.c.id)).all() == []  # published payloads purged
    # the other family as it was
    assert world.export(world.staff, OTHER_PARENT, [OTHER_KID]) == other_before
    assert _names_left(rt, ["Vandenbroucke"]) == [("credit_entries", "note")]

    # delivered twice: once; a second erasure of the same family (a retention run): nothing changes
    state = snapshot(rt)
    assert consumer.handle(body) == "duplicate"
    assert consumer.handle(_erased([PARENT], [KID])) == "handled"
    assert {k: v for k, v in snapshot(rt).items() if k != "inbox"} == {
        k: v for k, v in state.items() if k != "inbox"
    }


def test_a_child_still_enrolled_keeps_its_book_return_notes_when_only_its_parent_is_erased(world):
    consumer = make_consumer(world.rt)
    assert consumer.handle(_erased([PARENT], [])) == "handled"
    (credit,) = world.export(world.staff, PARENT, [KID])["orders/book_credits.json"]
    assert credit["entries"][0]["note"] == "3 livres rendus par Zéphyrine Quorndel"
    (order,) = world.export(world.staff, PARENT, [KID])["orders/orders.json"]
    assert order["checkout_url"] is None and order["grand_total_cents"] == 1640


def test_an_erasure_in_another_school_leaves_this_schools_orders_and_credits_as_they_were(world):
    # (the bus tables and stored answers aside: published rows are purged whatever the school, and
    # stored answers are keyed by account, an id of one school only)
    def business(state: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
        return {k: v for k, v in state.items() if k not in ("inbox", "outbox", "idempotency_keys")}

    before = business(snapshot(world.rt))
    event = auth_events.FamilyErased(
        school_id=THEIRS, parent_ids=[PARENT], student_ids=[KID], reason="request"
    )
    body = bus.make_envelope("auth.family.erased.v1", event, THEIRS).SerializeToString()
    assert make_consumer(world.rt).handle(body) == "handled"
    assert business(snapshot(world.rt)) == before
