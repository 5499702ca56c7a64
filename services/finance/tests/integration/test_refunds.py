"""Refunds to a bank account (RefundService, issue #18) on SQLite and PostgreSQL: a leaver's wallet
refunded to an IBAN is debited at once (operation ``refund`` in ListOperations, postings to refunds
payable summing to zero), never below zero, even when refunds race; one key refunds once; refunds are
gathered in credit-transfer batches, each refund in one batch only (also when batches race), whose
pain.001.001.03 file is valid against the schema sepaxml ships; the proposal offers a mandate's IBAN."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import grpc
import pytest
import sepaxml  # type: ignore[import-untyped]
import xmlschema
from defusedxml import ElementTree as ET
from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2 as spb
from cartable.finance.v1 import sepa_pb2_grpc
from kit import bus
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.service import make_consumer
from services.finance.db import ledger_sums, outbox
from services.finance.domain.ledger import refunds_payable_account
from services.finance.tests.conftest import (
    ACCOUNTS,
    MUM,
    OTHER_SCHOOL_STAFF,
    SCHOOL,
    STAFF,
    assert_ledger_invariants,
    md,
    reauthenticated,
    settings,
    snapshot,
)
from services.finance.tests.integration.test_concurrency import race
from services.finance.use_cases.mandates import Mandates
from services.finance.use_cases.refunds import Refunds

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
FAMILY_IBAN = "BE71096123456769"
P = pb.PeriodFilter(period="last_30_days")


@pytest.fixture
def refunds(finance_rt) -> Refunds:
    return Refunds(finance_rt)


@pytest.fixture
def refund_stub(finance_server):
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    yield sepa_pb2_grpc.RefundServiceStub(channel)
    channel.close()


def ask(wallet_id: str, amount: int | None = None, key: str = "", **over) -> spb.CreateRefundRequest:
    req = spb.CreateRefundRequest(
        wallet_id=wallet_id, iban=over.pop("iban", "be71 0961 2345 6769"), holder_name="Marie Dupont", **over
    )
    if amount is not None:
        req.amount_cents = amount
    req.idempotency_key = key
    return req


def leaves(rt, student_id: str) -> None:
    """Auth says the student left the school (auth.student.updated.v1)."""
    said = auth_events.StudentUpdated(
        student_id=student_id, status="left", left_on="2026-03-13", class_name="1A", level="primary"
    )
    body = bus.make_envelope("auth.student.updated.v1", said, SCHOOL).SerializeToString()
    assert make_consumer(rt).handle(body) == "handled"


def created_events(rt) -> list[ev.RefundCreated]:
    out = []
    with rt.db.unit_of_work() as s:
        q = (
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.refund.created.v1")
            .order_by(outbox.c.id)
        )
        for body in s.execute(q).scalars():
            msg = ev.RefundCreated()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(msg)
            out.append(msg)
    return out


def end_to_end_ids(xml: bytes) -> list[str]:
    return [e.text or "" for e in ET.fromstring(xml).findall(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", NS)]


# -- refunding a wallet ---------------------------------------------------------------------------------


def test_a_leavers_whole_balance_is_refunded_and_the_wallet_debited_at_once(world, refunds, finance_rt):
    world.top_up("emma", 4250)
    leaves(finance_rt, "emma")
    wallet = world.wallet("emma")
    made = refunds.create_refund(STAFF, ask(wallet.id))
    r = made.refund
    assert made.created and r.amount_cents == 4250 and r.balance_after_cents == 0
    assert (r.status, r.batch_id, r.wallet_name, r.student_id) == ("pending", "", "Repas", "emma")
    assert r.iban_masked == "BE** **** **** 6769" and r.holder_name == "Marie Dupont"
    assert r.reason == "Remboursement Repas Emma Dupont"
    assert world.balance("emma") == 0
    # parents and the statement of account see it as a refund, out of the wallet
    (op,) = [
        o
        for o in world.finance.operations.list_operations(
            MUM, pb.ListOperationsRequest(student_id="emma", period=P)
        ).operations
        if o.type == "refund"
    ]
    assert (op.amount_cents, op.payment_method, op.wallet_id) == (-4250, "transfer", wallet.id)
    assert op.label == "Remboursement vers BE** **** **** 6769"
    with finance_rt.db.unit_of_work() as s:
        assert ledger_sums(s, SCHOOL)[refunds_payable_account(SCHOOL)] == 4250
    assert_ledger_invariants(finance_rt)
    (event,) = created_events(finance_rt)
    assert (event.refund_id, event.wallet_id, event.student_id, event.amount_cents) == (
        r.id,
        wallet.id,
        "emma",
        4250,
    )
    assert (event.iban_masked, event.balance_after_cents, event.wallet_name) == (r.iban_masked, 0, "Repas")


def test_part_of_a_balance_may_be_refunded_with_a_reason(world, refunds):
    world.top_up("leo", 3000)
    got = refunds.create_refund(STAFF, ask(world.wallet("leo").id, 1200, reason="Solde « repas » – juin"))
    assert (got.refund.amount_cents, got.refund.balance_after_cents) == (1200, 1800)
    assert got.refund.reason == "Solde repas - juin"
    assert world.balance("leo") == 1800


def test_a_refund_never_takes_a_wallet_below_zero_and_a_refused_one_writes_nothing(
    world, refunds, finance_rt
):
    world.top_up("emma", 999)
    before = snapshot(finance_rt)
    with pytest.raises(Conflict) as err:
        refunds.create_refund(STAFF, ask(world.wallet("emma").id, 1000, key="too-much"))
    assert err.value.code == "insufficient_balance"
    assert snapshot(finance_rt) == before
    with pytest.raises(Conflict) as err:  # an empty wallet has nothing to refund
        refunds.create_refund(STAFF, ask(world.wallet("emma", "Activités").id))
    assert err.value.code == "insufficient_balance"
    assert snapshot(finance_rt) == before


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"iban": "BE71096123456768"}, "iban"),
        ({"iban": ""}, "iban"),
        ({"iban": "SA0380000000608010167519"}, "iban"),
        ({"holder_name": ""}, "holder_name"),
        ({"holder_name": "x" * 71}, "holder_name"),
        ({"amount_cents": 0}, "amount_cents"),
        ({"reason": "x" * 141}, "reason"),
        ({"wallet_id": ""}, "wallet_id"),
    ],
    ids=[
        "checksum",
        "no-iban",
        "outside-sepa",
        "no-holder",
        "long-holder",
        "zero",
        "long-reason",
        "no-wallet",
    ],
)
def test_a_bad_request_is_refused_on_its_field_and_writes_nothing(world, refunds, finance_rt, over, field):
    world.top_up("emma", 2000)
    req = ask(world.wallet("emma").id)
    for name, value in over.items():
        setattr(req, name, value)
    before = snapshot(finance_rt)
    with pytest.raises(InvalidRequest) as err:
        refunds.create_refund(STAFF, req)
    assert field in err.value.fields
    assert snapshot(finance_rt) == before


def test_the_same_key_answers_the_same_refund_and_debits_once(world, refunds, finance_rt):
    world.top_up("emma", 5000)
    wallet_id = world.wallet("emma").id
    first = refunds.create_refund(STAFF, ask(wallet_id, 2000, key="refund-1"))
    again = refunds.create_refund(STAFF, ask(wallet_id, 2000, key="refund-1"))
    assert again == first
    assert world.balance("emma") == 3000
    assert len(refunds.list_refunds(STAFF, spb.ListRefundsRequest()).items) == 1
    with pytest.raises(Conflict) as err:
        refunds.create_refund(STAFF, ask(wallet_id, 2500, key="refund-1"))
    assert err.value.code == "idempotency_key_reused"
    assert world.balance("emma") == 3000
    assert len(created_events(finance_rt)) == 1


def test_racing_refunds_of_one_wallet_never_take_it_below_zero(world, refund_stub, keys, finance_rt):
    world.top_up("emma", 5000)
    wallet_id = world.wallet("emma").id
    token = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
    outcomes = race(
        lambda i: refund_stub.CreateRefund(
            ask(wallet_id, 1000, key=f"race-{i}"), metadata=md(token), timeout=60
        ),
        n=20,
    )
    assert Counter(outcomes) == {"ok": 5, "insufficient_balance": 15}
    assert world.balance("emma") == 0
    assert_ledger_invariants(finance_rt)


def test_racing_whole_balance_refunds_refund_it_once(world, refund_stub, keys, finance_rt):
    world.top_up("leo", 3300)
    wallet_id = world.wallet("leo").id
    token = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
    outcomes = race(
        lambda i: refund_stub.CreateRefund(ask(wallet_id, key=f"all-{i}"), metadata=md(token), timeout=60),
        n=12,
    )
    assert Counter(outcomes) == {"ok": 1, "insufficient_balance": 11}
    (only,) = refund_stub.ListRefunds(spb.ListRefundsRequest(), metadata=md(token)).items
    assert only.amount_cents == 3300
    assert_ledger_invariants(finance_rt)


# -- the credit-transfer batches ------------------------------------------------------------------------


def test_a_batch_takes_every_waiting_refund_once_in_a_valid_pain_001_file(world, refunds, finance_rt):
    for student, cents in (("emma", 4250), ("leo", 1999), ("noah", 1)):
        world.top_up(student, cents)
        refunds.create_refund(STAFF, ask(world.wallet(student).id))
    made = refunds.create_batch(STAFF, spb.CreateRefundBatchRequest(idempotency_key="b-1"))
    batch = made.batch
    assert made.created and (batch.count, batch.total_cents) == (3, 6250)
    assert batch.execution_date == "2026-03-16" and batch.message_id.startswith("REMB")
    listed = refunds.list_refunds(STAFF, spb.ListRefundsRequest()).items
    assert {(r.status, r.batch_id) for r in listed} == {("batched", batch.id)}
    assert refunds.list_refunds(STAFF, spb.ListRefundsRequest(unbatched=True)).items == []

    file = refunds.get_batch_file(STAFF, spb.GetRefundBatchFileRequest(batch_id=batch.id))
    assert file.content_type == "application/xml" and file.filename.startswith("remboursements-2026-03-16-")
    xmlschema.XMLSchema(str(XSD)).validate(file.content.decode())
    assert sorted(end_to_end_ids(file.content)) == sorted(r.id.replace("-", "") for r in listed)
    root = ET.fromstring(file.content)
    assert root.find(".//p:GrpHdr/p:MsgId", NS).text == batch.message_id
    assert root.find(".//p:GrpHdr/p:CtrlSum", NS).text == "62.50"
    assert root.find(".//p:DbtrAcct/p:Id/p:IBAN", NS).text == "BE68539007547034"
    assert {e.text for e in root.findall(".//p:CdtrAcct/p:Id/p:IBAN", NS)} == {FAMILY_IBAN}
    # downloaded again: the same bytes; the same key: the same batch
    assert refunds.get_batch_file(STAFF, spb.GetRefundBatchFileRequest(batch_id=batch.id)) == file
    assert refunds.create_batch(STAFF, spb.CreateRefundBatchRequest(idempotency_key="b-1")) == made

    with pytest.raises(Conflict) as err:
        refunds.create_batch(STAFF, spb.CreateRefundBatchRequest(idempotency_key="b-2"))
    assert err.value.code == "batch_empty"
    finance_rt.clock.advance(3600)
    world.top_up("emma", 700)
    later = refunds.create_refund(STAFF, ask(world.wallet("emma").id)).refund
    second = refunds.create_batch(STAFF, spb.CreateRefundBatchRequest(execution_date="2026-03-20")).batch
    assert (second.count, second.total_cents, second.execution_date) == (1, 700, "2026-03-20")
    second_file = refunds.get_batch_file(STAFF, spb.GetRefundBatchFileRequest(batch_id=second.id)).content
    assert end_to_end_ids(second_file) == [later.id.replace("-", "")]
    assert [b.id for b in refunds.list_batches(STAFF, spb.ListRefundBatchesRequest()).items] == [
        second.id,
        batch.id,
    ]


def test_racing_batches_take_each_refund_once(world, refunds, refund_stub, keys):
    for i, student in enumerate(("emma", "leo", "noah")):
        world.top_up(student, 1000 + i)
        refunds.create_refund(STAFF, ask(world.wallet(student).id))
    token = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
    outcomes = race(
        lambda i: refund_stub.CreateRefundBatch(
            spb.CreateRefundBatchRequest(idempotency_key=f"batch-{i}"), metadata=md(token), timeout=60
        ),
        n=8,
    )
    assert Counter(outcomes) == {"ok": 1, "batch_empty": 7}
    (batch,) = refunds.list_batches(STAFF, spb.ListRefundBatchesRequest()).items
    assert (batch.count, batch.total_cents) == (3, 3003)
    assert {r.batch_id for r in refunds.list_refunds(STAFF, spb.ListRefundsRequest()).items} == {batch.id}


def test_a_batch_needs_the_schools_iban_and_a_date_from_today(finance, refunds):
    them = OTHER_SCHOOL_STAFF  # a school whose settings name no IBAN
    finance.wallets.create_wallet_type(them, pb.CreateWalletTypeRequest(name="Repas"))
    (wallet,) = finance.wallets.open_student_wallets(
        them, pb.OpenStudentWalletsRequest(student_id="zoe", level="primary", first_name="Zoé")
    ).wallets
    finance.operations.record_top_up(
        them, pb.RecordTopUpRequest(wallet_id=wallet.id, amount_cents=500, method="cash")
    )
    refunds.create_refund(them, ask(wallet.id))
    with pytest.raises(Conflict) as err:
        refunds.create_batch(them, spb.CreateRefundBatchRequest())
    assert err.value.code == "method_disabled"
    for bad in ("2026-03-15", "2027-03-17", "16/03/2026"):
        with pytest.raises(InvalidRequest) as invalid:
            refunds.create_batch(them, spb.CreateRefundBatchRequest(execution_date=bad))
        assert "execution_date" in invalid.value.fields


# -- the proposal, the lists, who may --------------------------------------------------------------------


def test_the_proposal_offers_the_balance_and_an_active_mandates_iban(world, refunds, finance_rt):
    world.top_up("emma", 1500)
    wallet_id = world.wallet("emma").id
    got = refunds.get_proposal(STAFF, spb.GetRefundProposalRequest(wallet_id=wallet_id))
    assert (got.wallet_id, got.balance_cents, got.iban, got.holder_name, got.mandate_id) == (
        wallet_id,
        1500,
        "",
        "",
        "",
    )
    with_creditor = settings(creditor_id="BE69ZZZ050D000000008")
    world.finance.settings.update_settings(reauthenticated(STAFF, finance_rt), with_creditor)
    mandates = Mandates(finance_rt)
    signed = mandates.sign_mandate(
        MUM, spb.SignMandateRequest(iban=FAMILY_IBAN, holder_name="Marie Dupont", accept=True)
    ).mandate
    got = refunds.get_proposal(STAFF, spb.GetRefundProposalRequest(wallet_id=wallet_id))
    assert (got.iban, got.holder_name, got.mandate_id) == (FAMILY_IBAN, "Marie Dupont", signed.id)
    leo = refunds.get_proposal(STAFF, spb.GetRefundProposalRequest(wallet_id=world.wallet("leo").id))
    assert leo.iban == FAMILY_IBAN  # the mandate covers every child of the signing parent
    noah = refunds.get_proposal(STAFF, spb.GetRefundProposalRequest(wallet_id=world.wallet("noah").id))
    assert noah.iban == ""  # another family's child
    mandates.revoke_mandate(STAFF, spb.RevokeMandateRequest(mandate_id=signed.id))
    assert refunds.get_proposal(STAFF, spb.GetRefundProposalRequest(wallet_id=wallet_id)).iban == ""


def test_refunds_are_listed_newest_first_a_page_at_a_time(world, refunds, finance_rt):
    world.top_up("emma", 5000)
    world.top_up("leo", 5000)
    made = []
    for i in range(5):
        finance_rt.clock.advance(60)
        student = "emma" if i % 2 == 0 else "leo"
        made.append(refunds.create_refund(STAFF, ask(world.wallet(student).id, 100 + i)).refund.id)
    seen, cursor = [], ""
    while True:
        page = refunds.list_refunds(STAFF, spb.ListRefundsRequest(limit=2, cursor=cursor))
        assert len(page.items) <= 2
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == made[::-1]
    emma = refunds.list_refunds(STAFF, spb.ListRefundsRequest(student_id="emma")).items
    assert [r.id for r in emma] == [made[4], made[2], made[0]]
    with pytest.raises(NotFound):
        refunds.list_refunds(STAFF, spb.ListRefundsRequest(student_id="nobody"))
    with pytest.raises(InvalidRequest) as err:
        refunds.list_refunds(STAFF, spb.ListRefundsRequest(cursor="nonsense"))
    assert "cursor" in err.value.fields
    with pytest.raises(InvalidRequest):
        refunds.list_batches(STAFF, spb.ListRefundBatchesRequest(limit=500))


def test_refunds_are_staff_only_and_another_schools_ids_are_not_found(world, refunds, finance_rt):
    world.top_up("emma", 1000)
    wallet_id = world.wallet("emma").id
    for call in (
        lambda: refunds.create_refund(MUM, ask(wallet_id)),
        lambda: refunds.get_proposal(MUM, spb.GetRefundProposalRequest(wallet_id=wallet_id)),
        lambda: refunds.list_refunds(MUM, spb.ListRefundsRequest()),
        lambda: refunds.create_batch(MUM, spb.CreateRefundBatchRequest()),
        lambda: refunds.list_batches(MUM, spb.ListRefundBatchesRequest()),
        lambda: refunds.get_batch_file(MUM, spb.GetRefundBatchFileRequest(batch_id="x")),
    ):
        with pytest.raises(Forbidden):
            call()
    before = snapshot(finance_rt)
    with pytest.raises(NotFound):
        refunds.create_refund(OTHER_SCHOOL_STAFF, ask(wallet_id))
    assert snapshot(finance_rt) == before
    refunds.create_refund(STAFF, ask(wallet_id))
    batch = refunds.create_batch(STAFF, spb.CreateRefundBatchRequest()).batch
    with pytest.raises(NotFound):
        refunds.get_batch_file(OTHER_SCHOOL_STAFF, spb.GetRefundBatchFileRequest(batch_id=batch.id))
    assert refunds.list_refunds(OTHER_SCHOOL_STAFF, spb.ListRefundsRequest()).items == []
    assert refunds.list_batches(OTHER_SCHOOL_STAFF, spb.ListRefundBatchesRequest()).items == []


def test_over_grpc_codes_are_the_apis(world, refund_stub, keys):
    world.top_up("emma", 100)
    staff = keys.token(role="staff", school_id=SCHOOL, account_id=ACCOUNTS["manager"])
    with pytest.raises(grpc.RpcError) as exc:
        refund_stub.CreateRefund(ask(world.wallet("emma").id, 500), metadata=md(staff))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as exc:
        refund_stub.CreateRefund(ask(world.wallet("emma").id, iban="BE00"), metadata=md(staff))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    made = refund_stub.CreateRefund(ask(world.wallet("emma").id), metadata=md(staff)).refund
    batch = refund_stub.CreateRefundBatch(spb.CreateRefundBatchRequest(), metadata=md(staff)).batch
    file = refund_stub.GetRefundBatchFile(
        spb.GetRefundBatchFileRequest(batch_id=batch.id), metadata=md(staff)
    )
    assert end_to_end_ids(file.content) == [made.id.replace("-", "")]
