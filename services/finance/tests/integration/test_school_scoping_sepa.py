"""The school-scoping matrix of test_school_scoping.py (another school's id: not_found, nothing written;
ours: served) for SEPA's services (issue #18), served beside FinanceService: DirectDebitService and
RefundService. Kept apart to keep each module under 500 lines; the ``schools`` fixture is that
module's. (Moved from test_school_scoping.py, assertions unchanged.)"""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from cartable.finance.v1 import sepa_pb2 as spb
from cartable.finance.v1 import sepa_pb2_grpc
from kit.identity import Identity
from kit.service import start_grpc
from services.finance.app import use_cases
from services.finance.tests.conftest import (
    OTHER_SCHOOL_STAFF,
    STAFF,
    md,
    reauthenticated,
    settings,
    snapshot,
)
from services.finance.tests.integration import test_school_scoping as base
from services.finance.tests.integration.test_school_scoping import Build, FakeProvider, _id_fields
from services.finance.use_cases.direct_debits import DirectDebits
from services.finance.use_cases.mandates import Mandates
from services.finance.use_cases.refunds import Refunds

schools = base.schools  # the fixture: our school and theirs, each with a student, wallet, invoice

# -- DirectDebitService (mandates, automatic top-ups, collection batches: sepa_api.py), issue #18 ------
# SignMandate, CreateDirectDebitBatch and ListDirectDebitBatches take no id: a mandate covers the
# children the parent's token names, a batch collects the caller's school only (test_direct_debits.py).

DD_CASES: dict[tuple[str, str], Build] = {
    ("ListMandates", "student_id"): lambda us, x: spb.ListMandatesRequest(student_id=x.student),
    ("RevokeMandate", "mandate_id"): lambda us, x: spb.RevokeMandateRequest(mandate_id=x.mandate),
    ("GetAutoTopUp", "wallet_id"): lambda us, x: spb.GetAutoTopUpRequest(wallet_id=x.wallet),
    ("SetAutoTopUp", "wallet_id"): lambda us, x: spb.SetAutoTopUpRequest(
        wallet_id=x.wallet, enabled=True, threshold_cents=500, amount_cents=1000
    ),
    ("GetDirectDebitBatch", "batch_id"): lambda us, x: spb.GetDirectDebitBatchRequest(batch_id=x.dd_batch),
    ("GetDirectDebitFile", "batch_id"): lambda us, x: spb.GetDirectDebitFileRequest(batch_id=x.dd_batch),
}


@pytest.fixture
def direct_debits(schools):
    """``schools`` collecting by direct debit: a mandate signed by a parent of each school's student
    and a batch collecting its open invoice, and a DirectDebitService stub."""
    uc = use_cases(schools.rt, FakeProvider())
    mandates, batches = Mandates(schools.rt), DirectDebits(schools.rt)
    day = (schools.rt.clock().date() + timedelta(days=40)).isoformat()
    for ids, who, iban in (
        (schools.us, STAFF, "BE68539007547034"),
        (schools.them, OTHER_SCHOOL_STAFF, "BE71096123456769"),
    ):
        uc.settings.update_settings(
            reauthenticated(who, schools.rt), settings(iban=iban, creditor_id="BE69ZZZ050D000000008")
        )
        parent = Identity(
            account_id=f"parent-{ids.student}",
            role="parent",
            school_id=who.school_id,
            students={ids.student: "1A"},
        )
        ids.mandate = mandates.sign_mandate(
            parent,
            spb.SignMandateRequest(iban="BE62510007547061", holder_name="Parent", accept=True, language="fr"),
        ).mandate.id
        ids.dd_batch = batches.create_batch(
            who, spb.CreateDirectDebitBatchRequest(collection_date=day, idempotency_key="dd")
        ).batch.id
    server = start_grpc(schools.rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield schools, sepa_pb2_grpc.DirectDebitServiceStub(channel)
    channel.close()
    server.stop(0)


DD_IDS = [f"{r}.{f}" for r, f in sorted(DD_CASES)]


@pytest.mark.parametrize(("rpc", "field"), sorted(DD_CASES), ids=DD_IDS)
def test_a_direct_debit_call_with_an_id_of_another_school_is_not_found_and_writes_nothing(
    direct_debits, rpc, field
):
    schools, stub = direct_debits
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(stub, rpc)(
            DD_CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff), timeout=10
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(DD_CASES), ids=DD_IDS)
def test_the_same_direct_debit_call_with_our_own_ids_is_served(direct_debits, rpc, field):
    schools, stub = direct_debits
    getattr(stub, rpc)(DD_CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff), timeout=10)


def test_the_direct_debit_batches_list_only_the_callers_school(direct_debits):
    schools, stub = direct_debits
    got = stub.ListDirectDebitBatches(spb.ListDirectDebitBatchesRequest(), metadata=md(schools.staff))
    assert [b.id for b in got.items] == [schools.us.dd_batch]
    got = stub.ListMandates(spb.ListMandatesRequest(), metadata=md(schools.staff))
    assert [m.id for m in got.items] == [schools.us.mandate]


def test_every_id_field_of_every_direct_debit_rpc_is_in_the_matrix():
    service = spb.DESCRIPTOR.services_by_name["DirectDebitService"]
    assert {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)} == set(DD_CASES)


# -- RefundService (refunds to a bank account and their credit-transfer batches: refunds_api.py) ------
# CreateRefundBatch and ListRefundBatches take no id: they gather and list the caller's school's only.

REFUND_CASES: dict[tuple[str, str], Build] = {
    ("GetRefundProposal", "wallet_id"): lambda us, x: spb.GetRefundProposalRequest(wallet_id=x.wallet),
    ("CreateRefund", "wallet_id"): lambda us, x: spb.CreateRefundRequest(
        wallet_id=x.wallet,
        iban="BE71096123456769",
        holder_name="Parent",
        amount_cents=100,
        idempotency_key="k-rf",
    ),
    ("ListRefunds", "student_id"): lambda us, x: spb.ListRefundsRequest(student_id=x.student),
    ("GetRefundBatchFile", "batch_id"): lambda us, x: spb.GetRefundBatchFileRequest(batch_id=x.refund_batch),
}


@pytest.fixture
def refunds(schools):
    """``schools`` with a refund of each school's wallet in a batch, and a RefundService stub."""
    uc = Refunds(schools.rt)
    for ids, who in ((schools.us, STAFF), (schools.them, OTHER_SCHOOL_STAFF)):
        uc.create_refund(
            who,
            spb.CreateRefundRequest(
                wallet_id=ids.wallet, iban="BE71096123456769", holder_name="Parent", amount_cents=1000
            ),
        )
        ids.refund_batch = uc.create_batch(who, spb.CreateRefundBatchRequest()).batch.id
    server = start_grpc(schools.rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield schools, sepa_pb2_grpc.RefundServiceStub(channel)
    channel.close()
    server.stop(0)


REFUND_IDS = [f"{r}.{f}" for r, f in sorted(REFUND_CASES)]


@pytest.mark.parametrize(("rpc", "field"), sorted(REFUND_CASES), ids=REFUND_IDS)
def test_a_refund_call_with_an_id_of_another_school_is_not_found_and_writes_nothing(refunds, rpc, field):
    schools, stub = refunds
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(stub, rpc)(
            REFUND_CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff), timeout=10
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(REFUND_CASES), ids=REFUND_IDS)
def test_the_same_refund_call_with_our_own_ids_is_served(refunds, rpc, field):
    schools, stub = refunds
    getattr(stub, rpc)(
        REFUND_CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff), timeout=10
    )


def test_the_refunds_and_their_batches_list_only_the_callers_school(refunds):
    schools, stub = refunds
    got = stub.ListRefundBatches(spb.ListRefundBatchesRequest(), metadata=md(schools.staff))
    assert [b.id for b in got.items] == [schools.us.refund_batch]
    got = stub.ListRefunds(spb.ListRefundsRequest(), metadata=md(schools.staff))
    assert [r.wallet_id for r in got.items] == [schools.us.wallet]


def test_every_id_field_of_every_refund_rpc_is_in_the_matrix():
    service = spb.DESCRIPTOR.services_by_name["RefundService"]
    assert {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)} == set(REFUND_CASES)
