"""Every staff RPC of the orders service refuses, in the service itself, an id of another school:
not_found, like an id that never existed, and nothing written (every table the same before and
after, outbox and idempotency keys included). Through the real servicer over gRPC, with staff tokens.

A staff token names no student: a student is "of another school" when an order of theirs was invoiced
by finance in that school and never in the caller's (see use_cases/common.require_student_here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import grpc
import pytest

from cartable.orders.v1 import orders_pb2 as pb
from services.orders.tests.conftest import snapshot

OURS, THEIRS = "sch-1", "sch-2"


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@dataclass
class Schools:
    rt: object
    stub: object
    staff: str  # a staff member of OURS: the caller of every call below
    us: SimpleNamespace  # ids of OURS: period, item, student
    them: SimpleNamespace  # ids of THEIRS


def _period_with_item(stub, rt, token: str, reference: str) -> tuple[str, str]:
    now = rt.clock.now
    period = stub.CreatePeriod(
        pb.CreatePeriodRequest(
            title="Manuels",
            opens_at=(now - timedelta(days=1)).isoformat(),
            closes_at=(now + timedelta(days=7)).isoformat(),
        ),
        metadata=md(token),
    ).id
    item = stub.AddItem(
        pb.AddItemRequest(
            period_id=period,
            subject="Maths",
            title="Actimath",
            type="loan",
            price_cents=1250,
            reference=reference,
        ),
        metadata=md(token),
    ).id
    return period, item


@pytest.fixture
def schools(orders_grpc, keys) -> Schools:
    rt, stub = orders_grpc
    staff = keys.token(role="staff", school_id=OURS, account_id="boss-1")
    their_staff = keys.token(role="staff", school_id=THEIRS, account_id="boss-2")
    zoe_mum = keys.token(role="parent", school_id=THEIRS, students={"zoe": "1A"}, account_id="zoe-mum")
    our_period, our_item = _period_with_item(stub, rt, staff, "photo:ours")
    their_period, their_item = _period_with_item(stub, rt, their_staff, "photo:theirs")
    # Zoe is theirs as finance says it: her order was invoiced in their school; and she has credit there.
    stub.PlaceOrder(
        pb.PlaceOrderRequest(
            period_id=their_period, student_id="zoe", item_ids=[their_item], idempotency_key="z1"
        ),
        metadata=md(zoe_mum),
    )
    stub.RecordBookReturn(
        pb.RecordBookReturnRequest(student_id="zoe", credit_cents=500), metadata=md(their_staff)
    )
    return Schools(
        rt,
        stub,
        staff,
        us=SimpleNamespace(period=our_period, item=our_item, student="emma"),
        them=SimpleNamespace(period=their_period, item=their_item, student="zoe"),
    )


# (RPC, the request field holding the other school's id) -> the request, built from our ids except
# that field, which takes the ids given (ours in the control test, theirs in the matrix); the code
# another school's id answers.
Build = Callable[[SimpleNamespace, SimpleNamespace], object]
NF, BAD = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT
CASES: dict[tuple[str, str], tuple[Build, grpc.StatusCode]] = {
    ("ListOpenPeriods", "student_id"): (lambda us, x: pb.ListOpenPeriodsRequest(student_id=x.student), NF),
    ("GetCatalog", "period_id"): (
        lambda us, x: pb.GetCatalogRequest(period_id=x.period, student_id=us.student),
        NF,
    ),
    ("GetCatalog", "student_id"): (
        lambda us, x: pb.GetCatalogRequest(period_id=us.period, student_id=x.student),
        NF,
    ),
    ("SummarizeOrder", "period_id"): (
        lambda us, x: pb.SummarizeOrderRequest(period_id=x.period, student_id=us.student, item_ids=[us.item]),
        NF,
    ),
    ("SummarizeOrder", "student_id"): (
        lambda us, x: pb.SummarizeOrderRequest(period_id=us.period, student_id=x.student, item_ids=[us.item]),
        NF,
    ),
    # Items are looked up in the (checked) period: another school's item is as unknown as any item not
    # on sale there, the 400 that names it (item_ids) for every unknown item.
    ("SummarizeOrder", "item_ids"): (
        lambda us, x: pb.SummarizeOrderRequest(period_id=us.period, student_id=us.student, item_ids=[x.item]),
        BAD,
    ),
    ("PlaceOrder", "period_id"): (
        lambda us, x: pb.PlaceOrderRequest(
            period_id=x.period, student_id=us.student, item_ids=[us.item], idempotency_key="k-period"
        ),
        NF,
    ),
    ("PlaceOrder", "student_id"): (
        lambda us, x: pb.PlaceOrderRequest(
            period_id=us.period, student_id=x.student, item_ids=[us.item], idempotency_key="k-student"
        ),
        NF,
    ),
    ("PlaceOrder", "item_ids"): (
        lambda us, x: pb.PlaceOrderRequest(
            period_id=us.period, student_id=us.student, item_ids=[x.item], idempotency_key="k-item"
        ),
        BAD,
    ),
    ("AddItem", "period_id"): (
        lambda us, x: pb.AddItemRequest(
            period_id=x.period,
            subject="S",
            title="T",
            type="purchase",
            price_cents=100,
            idempotency_key="k-add",
        ),
        NF,
    ),
    ("UpdatePeriod", "period_id"): (
        lambda us, x: pb.UpdatePeriodRequest(period_id=x.period, title="Manuels de septembre"),
        NF,
    ),
    ("WithdrawItem", "period_id"): (
        lambda us, x: pb.WithdrawItemRequest(period_id=x.period, item_id=us.item),
        NF,
    ),
    # The item is looked up in the (checked) period: another school's item is not found there.
    ("WithdrawItem", "item_id"): (
        lambda us, x: pb.WithdrawItemRequest(period_id=us.period, item_id=x.item),
        NF,
    ),
    ("ListPeriodOrders", "period_id"): (lambda us, x: pb.ListPeriodOrdersRequest(period_id=x.period), NF),
    ("GetPeriodTotals", "period_id"): (lambda us, x: pb.GetPeriodTotalsRequest(period_id=x.period), NF),
    ("RecordBookReturn", "student_id"): (
        lambda us, x: pb.RecordBookReturnRequest(student_id=x.student, credit_cents=700, note="rendu"),
        NF,
    ),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # References are the school's own labels, matched among its own items only: another school's
    # reference withdraws nothing and answers count 0, as any reference without items does
    # (test_another_schools_references_withdraw_nothing); not_found there would tell one school which
    # references another uses.
    ("WithdrawItems", "references"): "scoped match, count 0",
}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_refused_and_nothing_is_written(schools, rpc, field):
    build, code = CASES[(rpc, field)]
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(build(schools.us, schools.them), metadata=md(schools.staff))
    assert exc.value.code() == code, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    build, _code = CASES[(rpc, field)]
    getattr(schools.stub, rpc)(build(schools.us, schools.us), metadata=md(schools.staff))


def test_another_schools_references_withdraw_nothing(schools):
    before = snapshot(schools.rt)
    resp = schools.stub.WithdrawItems(
        pb.WithdrawItemsRequest(references=["photo:theirs"]), metadata=md(schools.staff)
    )
    assert resp.count == 0
    assert snapshot(schools.rt) == before


def test_a_credit_typed_by_one_school_never_reaches_another_schools_order(orders_grpc, keys):
    """A student orders never invoiced cannot be told apart from a new one of the caller's school, so
    the credit is recorded, but in the caller's school only: the other school's order does not use it."""
    rt, stub = orders_grpc
    ours = keys.token(role="staff", school_id=OURS)
    theirs = keys.token(role="staff", school_id=THEIRS)
    noah_dad = keys.token(role="parent", school_id=THEIRS, students={"noah": "1A"})
    stub.RecordBookReturn(pb.RecordBookReturnRequest(student_id="noah", credit_cents=1250), metadata=md(ours))
    period, item = _period_with_item(stub, rt, theirs, "")
    summary = stub.SummarizeOrder(
        pb.SummarizeOrderRequest(period_id=period, student_id="noah", item_ids=[item]), metadata=md(noah_dad)
    )
    assert (summary.credit_cents, summary.grand_total_cents) == (0, 1250)
    # their own book return for the same id starts from nothing and counts in their school
    own = stub.RecordBookReturn(
        pb.RecordBookReturnRequest(student_id="noah", credit_cents=300), metadata=md(theirs)
    )
    assert own.credit_balance_cents == 300


def test_our_staff_still_record_credit_for_a_student_seen_in_both_schools(schools, keys):
    """A student invoiced in the caller's school as well (moved schools) is the caller's too."""
    zoe_here = keys.token(role="parent", school_id=OURS, students={"zoe": "1A"})
    schools.stub.PlaceOrder(
        pb.PlaceOrderRequest(
            period_id=schools.us.period, student_id="zoe", item_ids=[schools.us.item], idempotency_key="z2"
        ),
        metadata=md(zoe_here),
    )
    done = schools.stub.RecordBookReturn(
        pb.RecordBookReturnRequest(student_id="zoe", credit_cents=200), metadata=md(schools.staff)
    )
    assert done.credit_balance_cents == 200  # their 500 stays theirs


def _id_fields(message, prefix: str = "") -> set[str]:
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name.endswith(("_id", "_ids")) or f.name == "references":
            out.add(prefix + f.name)
    return out


def test_every_id_field_of_every_rpc_is_in_the_matrix():
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    service = pb.DESCRIPTOR.services_by_name["OrdersService"]
    fields = {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)}
    assert fields == set(CASES) | set(EXEMPT)
