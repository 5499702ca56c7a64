"""Students who left the school, in finance (issue #16), on SQLite and PostgreSQL: auth.student.updated.v1
with status left is recorded (a late, older event undoes nothing); then nobody starts anything new for
the student (staff: invoice, sale, cash top-up; parents: online top-up, a top-up's transfer details),
409 ``student_left``, whether the parent's token says it or only finance's record does, and nothing is
written; what is there stays readable and an open invoice stays payable."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.finance.v1 import finance_pb2 as pb
from kit import bus
from kit.errors import Conflict
from kit.service import make_consumer
from services.finance.db import students
from services.finance.tests.conftest import MUM, SCHOOL, STAFF, error_code, md, snapshot


def _said(student_id: str, status: str, left_on: str = "", at: datetime | None = None) -> bytes:
    ev = auth_events.StudentUpdated(
        student_id=student_id,
        status=status,
        left_on=left_on,
        class_name="1A",
        level="primary",
        first_name=student_id.title(),
        last_name="Dupont",
        previous_class_name="1A",
        previous_level="primary",
    )
    env = bus.make_envelope("auth.student.updated.v1", ev, SCHOOL)
    if at is not None:
        env.occurred_at.FromDatetime(at)
    return env.SerializeToString()


def _row(rt, student_id: str):
    with rt.db.unit_of_work() as s:
        return s.execute(select(students).where(students.c.id == student_id)).one()


def _refused(call) -> Conflict:
    with pytest.raises(Conflict) as err:
        call()
    assert err.value.code == "student_left"
    return err.value


@pytest.fixture
def emma_left(finance_rt, world):
    """Emma, with an open invoice and 20 € on her Repas wallet, then gone (finance told by auth)."""
    world.top_up("emma", 2000)
    open_invoice = world.invoice("emma", 1200, title="Excursion")
    assert make_consumer(finance_rt).handle(_said("emma", "left", "2026-06-30")) == "handled"
    return open_invoice


def test_auth_s_word_that_a_student_left_is_recorded_and_an_older_event_undoes_nothing(finance_rt, world):
    consumer = make_consumer(finance_rt)
    now = datetime.now(UTC)
    assert consumer.handle(_said("emma", "left", "2026-06-30", at=now)) == "handled"
    row = _row(finance_rt, "emma")
    assert (row.status, row.left_on) == ("left", date(2026, 6, 30))
    # a class change made before the leaving, delivered after it: the status stays
    consumer.handle(_said("emma", "active", at=now - timedelta(minutes=5)))
    assert (_row(finance_rt, "emma").status, _row(finance_rt, "emma").left_on) == ("left", date(2026, 6, 30))
    # the leaving date corrected later
    consumer.handle(_said("emma", "left", "2026-07-03", at=now + timedelta(minutes=1)))
    assert _row(finance_rt, "emma").left_on == date(2026, 7, 3)
    assert _row(finance_rt, "leo").status == "active"


def test_staff_issue_no_invoice_sale_or_top_up_for_a_leaver_and_nothing_is_written(
    finance, finance_rt, world, emma_left
):
    before = snapshot(finance_rt)
    line = [pb.InvoiceLineInput(label="Piscine", quantity=1, unit_price_cents=500)]
    _refused(
        lambda: finance.invoices.create_invoice(
            STAFF,
            pb.CreateInvoiceRequest(student_id="emma", title="Piscine", lines=line, idempotency_key="k1"),
        )
    )
    _refused(lambda: world.sale("emma", [("Collation", 1, 150)], key="k2"))
    _refused(lambda: world.top_up("emma", 500, key="k3"))
    assert snapshot(finance_rt) == before
    # another student is served as before
    assert world.invoice("leo", 500).status == "unpaid"
    assert world.top_up("leo", 500).balance_cents == 500


def test_a_parent_still_sees_a_leaver_and_pays_an_open_invoice_but_tops_up_nothing(
    finance, finance_rt, world, emma_left
):
    # what the parent sees stays
    wallets = finance.wallets.list_wallets(MUM, "emma").wallets
    assert {w.name: w.balance_cents for w in wallets}["Repas"] == 2000
    assert [i.id for i in finance.invoices.list_invoices(MUM, "emma").invoices] == [emma_left.id]
    assert finance.transfers.get_invoice_transfer(
        MUM, pb.GetInvoiceTransferRequest(invoice_id=emma_left.id, student_id="emma")
    ).transfer.structured_communication
    repas = world.wallet("emma").id
    # an older token (issued before auth said so) is refused on finance's own record
    before = snapshot(finance_rt)
    _refused(
        lambda: finance.online_payments.start_top_up(
            MUM, pb.StartTopUpRequest(wallet_id=repas, student_id="emma", amount_cents=1000, method="online")
        )
    )
    _refused(
        lambda: finance.transfers.get_wallet_transfer(
            MUM, pb.GetWalletTransferRequest(wallet_id=repas, student_id="emma")
        )
    )
    assert snapshot(finance_rt) == before
    paid = world.pay(MUM, emma_left.id, repas, key="pay-1")
    assert (paid.invoice.status, world.balance("emma")) == ("paid", 800)


def test_a_parent_s_token_saying_the_child_left_is_enough(finance, world):
    """Before finance has heard of it (its consumer is behind), the parent's token says the child left."""
    leo_left = dataclasses.replace(MUM, left={"leo": "2026-06-30"})
    repas = world.wallet("leo").id
    _refused(
        lambda: finance.online_payments.start_top_up(
            leo_left, pb.StartTopUpRequest(wallet_id=repas, student_id="leo", amount_cents=1000)
        )
    )
    _refused(
        lambda: finance.invoices.create_order_invoice(
            leo_left,
            pb.CreateOrderInvoiceRequest(
                student_id="leo",
                title="Manuels",
                lines=[pb.InvoiceLineInput(label="Atlas", quantity=1, unit_price_cents=900)],
                idempotency_key="order:1",
            ),
        )
    )
    assert finance.wallets.list_wallets(leo_left, "leo").wallets


def test_over_grpc_the_refusal_is_failed_precondition_student_left(stub, keys, world, emma_left):
    line = [pb.InvoiceLineInput(label="Piscine", quantity=1, unit_price_cents=500)]
    with pytest.raises(grpc.RpcError) as err:
        stub.CreateInvoice(
            pb.CreateInvoiceRequest(student_id="emma", title="Piscine", lines=line),
            metadata=md(keys.signer.sign(STAFF)[0]),
        )
    assert (err.value.code(), error_code(err.value)) == (grpc.StatusCode.FAILED_PRECONDITION, "student_left")
