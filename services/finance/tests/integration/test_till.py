"""The till's price list (TillService, issue #17): items added, changed field by field and archived,
their checks, their order, the wallet type they are sold from, created once per key; and the
childcare flag and days of care (issue #19) a sale line carries from the till into the sales journal."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from cartable.events.v1 import audit_pb2, envelope_pb2
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import till_pb2 as tpb
from cartable.finance.v1 import till_pb2_grpc
from gateway.calls.till import sale_lines
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.finance.db import outbox
from services.finance.tests.conftest import MUM, OTHER_SCHOOL_STAFF, STAFF, md, snapshot
from services.finance.use_cases.till import Till


@pytest.fixture
def till(finance_rt) -> Till:
    return Till(finance_rt)


def save(till: Till, who=STAFF, **fields) -> tpb.SaveTillItemResponse:
    return till.save_item(who, tpb.SaveTillItemRequest(**fields))


def listed(till: Till, who=STAFF, include_archived: bool = False) -> list[tpb.TillItem]:
    return list(till.list_items(who, tpb.ListTillItemsRequest(include_archived=include_archived)).items)


def journal(world, student: str = "emma") -> list[pb.SaleLine]:
    req = pb.ListSalesRequest(student_id=student, period=pb.PeriodFilter(period="today"))
    return list(world.finance.operations.list_sales(STAFF, req).lines)


def audit_actions(rt) -> list[str]:
    """The actions of the audit entries recorded so far (through the outbox), oldest first."""
    with rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.audit.recorded.v1")
            .order_by(outbox.c.id)
        ).scalars()
        out = []
        for body in bodies:
            entry = audit_pb2.AuditRecorded()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(entry)
            out.append(entry.action)
        return out


def audit_text(rt) -> str:
    """Every audit entry's description so far, one a line."""
    with rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(outbox.c.body).where(outbox.c.event_name == "finance.audit.recorded.v1")
        ).scalars()
        out = []
        for body in bodies:
            entry = audit_pb2.AuditRecorded()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(entry)
            out.append(entry.detail)
        return "\n".join(out)


def test_items_are_added_at_the_end_of_the_list_active_and_listed_by_position(till, finance_rt):
    soup = save(till, label="  Soupe   du jour ", price_cents=120)
    assert soup.created
    assert (soup.item.label, soup.item.price_cents, soup.item.position) == ("Soupe du jour", 120, 0)
    assert soup.item.active and not soup.item.childcare and not soup.item.archived
    assert soup.item.wallet_type_id == "" and soup.item.updated_at
    save(till, label="Garderie du matin", price_cents=150, childcare=True)
    save(till, label="Bic", price_cents=80, position=0)  # before the soup: same position, by label
    items = listed(till)
    assert [(i.label, i.position, i.childcare) for i in items] == [
        ("Bic", 0, False),
        ("Soupe du jour", 0, False),
        ("Garderie du matin", 1, True),
    ]
    assert audit_actions(finance_rt) == ["finance.till_item.created"] * 3


def test_bad_values_are_refused_on_their_field_and_nothing_is_written(till, finance_rt):
    before = snapshot(finance_rt)
    for fields, bad in (
        ({"price_cents": 100}, "label"),
        ({"label": "Pomme"}, "price_cents"),
        ({"label": "   ", "price_cents": 100}, "label"),
        ({"label": "x" * 121, "price_cents": 100}, "label"),
        ({"label": "Pomme", "price_cents": 0}, "price_cents"),
        ({"label": "Pomme", "price_cents": -5}, "price_cents"),
        ({"label": "Pomme", "price_cents": 10_000_001}, "price_cents"),
        ({"label": "Pomme", "price_cents": 50, "position": -1}, "position"),
        ({"label": "Pomme", "price_cents": 50, "position": 100_001}, "position"),
    ):
        with pytest.raises(InvalidRequest) as exc:
            save(till, **fields)
        assert bad in exc.value.fields, (fields, exc.value.fields)
    assert snapshot(finance_rt) == before


def test_an_item_is_sold_from_one_wallet_type_of_the_school_or_from_any(world, till):
    repas = world.types["Repas"]
    item = save(till, label="Repas chaud", price_cents=395, wallet_type_id=repas.id).item
    assert (item.wallet_type_id, item.wallet_type_name) == (repas.id, "Repas")
    theirs = world.finance.wallets.create_wallet_type(
        OTHER_SCHOOL_STAFF, pb.CreateWalletTypeRequest(name="Cantine")
    ).wallet_type
    with pytest.raises(NotFound):
        save(till, label="Repas froid", price_cents=300, wallet_type_id=theirs.id)
    with pytest.raises(NotFound):
        save(till, item_id=item.id, wallet_type_id=theirs.id)
    cleared = save(till, item_id=item.id, wallet_type_id="").item
    assert (cleared.wallet_type_id, cleared.wallet_type_name) == ("", "")


def test_a_change_sets_only_the_fields_given(till, finance_rt):
    item = save(till, label="Jus", price_cents=90, childcare=True).item
    changed = save(till, item_id=item.id, price_cents=110)
    assert not changed.created
    assert (changed.item.label, changed.item.price_cents, changed.item.childcare) == ("Jus", 110, True)
    off = save(till, item_id=item.id, active=False, childcare=False, position=7).item
    assert (off.active, off.childcare, off.position, off.price_cents) == (False, False, 7, 110)
    assert [i.id for i in listed(till)] == [item.id]  # inactive: still on the list (not at the till)
    with pytest.raises(InvalidRequest) as exc:
        save(till, item_id=item.id, label="")
    assert "label" in exc.value.fields
    assert audit_actions(finance_rt) == ["finance.till_item.created"] + ["finance.till_item.updated"] * 2
    save(till, item_id=item.id, price_cents=110)  # nothing changes: nothing recorded
    assert len(audit_actions(finance_rt)) == 3


def test_an_archived_item_leaves_the_list_and_its_past_sales_keep_their_lines(world, till):
    item = save(till, label="Croissant", price_cents=130).item
    world.top_up("emma", 1000)
    world.finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=world.wallet("emma").id,
            lines=[pb.SaleLineInput(label=item.label, quantity=2, unit_price_cents=item.price_cents)],
        ),
    )
    gone = till.remove_item(STAFF, item.id)
    assert gone.archived_now and gone.item.archived
    assert listed(till) == []
    assert [i.id for i in listed(till, include_archived=True)] == [item.id]
    assert not till.remove_item(STAFF, item.id).archived_now  # again: nothing more
    with pytest.raises(Conflict) as exc:
        save(till, item_id=item.id, price_cents=150)
    assert exc.value.code == "item_archived"
    assert [(ln.label, ln.quantity, ln.amount_cents) for ln in journal(world)] == [("Croissant", 2, 260)]


def test_a_new_item_is_created_once_per_idempotency_key(till):
    first = save(till, label="Gaufre", price_cents=200, idempotency_key="k-1")
    again = save(till, label="Gaufre", price_cents=200, idempotency_key="k-1")
    assert first == again and len(listed(till)) == 1
    with pytest.raises(Conflict) as exc:
        save(till, label="Crêpe", price_cents=200, idempotency_key="k-1")
    assert exc.value.code == "idempotency_key_reused"
    assert len(listed(till)) == 1


def test_each_school_sees_and_changes_only_its_own_items(till):
    ours = save(till, label="Pomme", price_cents=50).item
    theirs = save(till, OTHER_SCHOOL_STAFF, label="Poire", price_cents=60).item
    assert [i.id for i in listed(till)] == [ours.id]
    assert [i.id for i in listed(till, OTHER_SCHOOL_STAFF)] == [theirs.id]
    with pytest.raises(NotFound):
        save(till, item_id=theirs.id, price_cents=1)
    with pytest.raises(NotFound):
        till.remove_item(STAFF, theirs.id)
    with pytest.raises(NotFound):
        till.remove_item(STAFF, "")
    assert listed(till, OTHER_SCHOOL_STAFF)[0].price_cents == 60


def test_parents_may_not_read_or_change_the_price_list(till):
    for call in (
        lambda: listed(till, MUM),
        lambda: save(till, MUM, label="Pomme", price_cents=50),
        lambda: till.remove_item(MUM, "x"),
    ):
        with pytest.raises(Forbidden):
            call()


def test_a_sale_line_carries_its_childcare_flag_into_the_sales_journal(world):
    world.top_up("emma", 2000)
    sold = world.finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=world.wallet("emma").id,
            idempotency_key="k-sale",
            lines=[
                pb.SaleLineInput(label="Garderie du soir", quantity=1, unit_price_cents=250, childcare=True),
                pb.SaleLineInput(label="Goûter", quantity=2, unit_price_cents=60),
            ],
        ),
    )
    assert (sold.amount_cents, sold.balance_cents) == (370, 1630)
    assert [(ln.label, ln.childcare) for ln in journal(world)] == [
        ("Garderie du soir", True),
        ("Goûter", False),
    ]
    # the flag is part of the request: the same key with the flag changed is another request
    with pytest.raises(Conflict) as exc:
        world.finance.operations.record_sale(
            STAFF,
            pb.RecordSaleRequest(
                student_id="emma",
                wallet_id=world.wallet("emma").id,
                idempotency_key="k-sale",
                lines=[
                    pb.SaleLineInput(label="Garderie du soir", quantity=1, unit_price_cents=250),
                    pb.SaleLineInput(label="Goûter", quantity=2, unit_price_cents=60),
                ],
            ),
        )
    assert exc.value.code == "idempotency_key_reused"


def test_a_childcare_item_pays_for_days_of_care_one_by_default(till, finance_rt):
    morning = save(till, label="Garderie du matin", price_cents=150, childcare=True).item
    assert (morning.childcare, morning.days) == (True, 1)
    week = save(till, label="Stage de Pâques", price_cents=9000, childcare=True, days=5).item
    assert week.days == 5
    free = save(till, label="Garderie offerte", price_cents=1, childcare=True, days=0).item
    assert free.days == 0
    soup = save(till, label="Soupe", price_cents=120).item
    assert (soup.childcare, soup.days) == (False, 0)
    assert [(i.label, i.days) for i in listed(till)] == [
        ("Garderie du matin", 1),
        ("Stage de Pâques", 5),
        ("Garderie offerte", 0),
        ("Soupe", 0),
    ]
    assert "childcare, 5 day(s) per unit" in audit_text(finance_rt)


def test_days_change_with_the_item_and_leave_it_when_it_is_no_longer_childcare(till):
    item = save(till, label="Accueil", price_cents=200, childcare=True).item
    assert save(till, item_id=item.id, days=3).item.days == 3
    assert save(till, item_id=item.id, price_cents=250).item.days == 3  # not given: unchanged
    off = save(till, item_id=item.id, childcare=False).item
    assert (off.childcare, off.days) == (False, 0)
    on = save(till, item_id=item.id, childcare=True).item  # childcare again without days: 1
    assert (on.childcare, on.days) == (True, 1)
    both = save(till, item_id=item.id, childcare=True, days=366).item
    assert both.days == 366
    soup = save(till, label="Soupe", price_cents=120).item
    made = save(till, item_id=soup.id, childcare=True, days=2).item
    assert (made.childcare, made.days) == (True, 2)


def test_bad_days_are_refused_on_their_field_and_nothing_is_written(till, finance_rt):
    care = save(till, label="Accueil", price_cents=200, childcare=True, days=2).item
    soup = save(till, label="Soupe", price_cents=120).item
    before = snapshot(finance_rt)
    for fields in (
        {"label": "Pomme", "price_cents": 50, "days": 1},  # not childcare
        {"label": "Pomme", "price_cents": 50, "childcare": True, "days": -1},
        {"label": "Pomme", "price_cents": 50, "childcare": True, "days": 367},
        {"item_id": care.id, "days": 367},
        {"item_id": care.id, "childcare": False, "days": 2},
        {"item_id": soup.id, "days": 1},
    ):
        with pytest.raises(InvalidRequest) as exc:
            save(till, **fields)
        assert list(exc.value.fields) == ["days"], (fields, exc.value.fields)
    with pytest.raises(InvalidRequest) as exc:
        save(till, label="", price_cents=50, childcare=True, days=400)
    assert set(exc.value.fields) == {"label", "days"}
    assert snapshot(finance_rt) == before
    assert listed(till)[0].days == 2


def test_a_till_sale_of_a_childcare_item_carries_its_days_times_the_quantity(world, till):
    """The gateway's path: the sale's lines from the price list (``gateway.calls.till.sale_lines``)."""
    morning = save(till, label="Garderie du matin", price_cents=150, childcare=True).item
    week = save(till, label="Stage", price_cents=1000, childcare=True, days=200).item
    snack = save(till, label="Goûter", price_cents=60).item
    items = {i.id: i for i in listed(till)}
    world.top_up("emma", 10_000)
    cart = [(morning.id, 3), (week.id, 2), (snack.id, 2)]
    world.finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=world.wallet("emma").id,
            idempotency_key="k-days",
            lines=sale_lines(cart, items),
        ),
    )
    assert [(ln.label, ln.childcare, ln.days) for ln in journal(world)] == [
        ("Garderie du matin", True, 3),
        ("Stage", True, 366),  # 400 days: capped at a year's
        ("Goûter", False, 0),
    ]


def test_the_finance_server_serves_the_till_to_staff_only(finance_server, keys, till):
    save(till, label="Pomme", price_cents=50)
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    try:
        stub = till_pb2_grpc.TillServiceStub(channel)
        staff = keys.token(role="staff", school_id=STAFF.school_id, account_id=STAFF.account_id)
        got = stub.ListTillItems(tpb.ListTillItemsRequest(), metadata=md(staff), timeout=10)
        assert [i.label for i in got.items] == ["Pomme"]
        made = stub.SaveTillItem(
            tpb.SaveTillItemRequest(label="Poire", price_cents=60), metadata=md(staff), timeout=10
        )
        assert made.created and made.item.position == 1
        parent = keys.token(role="parent", school_id=STAFF.school_id, students={"emma": "1A"})
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListTillItems(tpb.ListTillItemsRequest(), metadata=md(parent), timeout=10)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListTillItems(tpb.ListTillItemsRequest(), timeout=10)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        channel.close()
