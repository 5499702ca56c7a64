"""E-mandates and automatic top-ups through the use cases (issue #18), on SQLite and PostgreSQL: what a
signature stores as evidence and publishes for the PDF, once per key; bad IBANs, a missing acceptance,
staff signing refused; who sees and revokes which mandate; the automatic top-up's rules."""

from __future__ import annotations

import dataclasses

import grpc
import pytest

from cartable.finance.v1 import sepa_pb2 as spb
from cartable.finance.v1 import sepa_pb2_grpc
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.service import start_grpc
from services.finance.db.tables import mandates
from services.finance.tests.conftest import MUM, SCHOOL, STAFF, STRANGER, error_code, md, snapshot
from services.finance.tests.sepa_helpers import CREDITOR_ID, Sepa, published


@pytest.fixture
def sepa(world) -> Sepa:
    return Sepa(world)


def test_a_signature_keeps_its_evidence_and_tells_documents_everything_the_pdf_shows(sepa):
    got = sepa.mandates.sign_mandate(
        MUM,
        spb.SignMandateRequest(
            iban="be71 0961 2345 6769",
            holder_name="  Marie   Dupont ",
            accept=True,
            signed_from="2001:db8::7",
            user_agent="Mozilla/5.0 (iPhone)",
            language="nl",
            idempotency_key="sign-1",
        ),
    )
    m = got.mandate
    assert got.created and m.status == "active" and not m.first_collected
    assert (m.iban_last4, m.iban_masked, m.bic, m.holder_name) == (
        "6769",
        "BE71 **** **** 6769",
        "GKCCBEBB",
        "Marie Dupont",
    )
    assert m.creditor_id == CREDITOR_ID and m.school_name == "École Saint-Joseph"
    assert m.reference.startswith("CRT-") and len(m.reference) <= 35
    assert "Schuldeiser: École Saint-Joseph" in m.mandate_text and CREDITOR_ID in m.mandate_text
    assert m.reference in m.mandate_text and "6769" in m.mandate_text
    with sepa.rt.db.unit_of_work() as s:
        row = s.execute(mandates.select()).one()
    assert (row.iban, row.signed_from, row.user_agent, row.language) == (
        "BE71096123456769",
        "2001:db8::7",
        "Mozilla/5.0 (iPhone)",
        "nl",
    )
    assert row.signed_at is not None and row.parent_account_id == MUM.account_id
    (event,) = published(sepa.rt, "finance.mandate.signed.v1")
    assert (event.mandate_id, event.reference, event.parent_account_id) == (m.id, m.reference, MUM.account_id)
    assert sorted(event.student_ids) == ["emma", "leo"]
    assert (event.iban_masked, event.bic, event.signed_from, event.language) == (
        "BE71 **** **** 6769",
        "GKCCBEBB",
        "2001:db8::7",
        "nl",
    )
    assert (event.school_name, event.creditor_id, event.mandate_text) == (
        "École Saint-Joseph",
        CREDITOR_ID,
        m.mandate_text,
    )
    assert "BE71096123456769" not in str(event)  # the full IBAN never leaves finance
    # The same key: the same mandate, nothing more.
    before = snapshot(sepa.rt)
    again = sepa.mandates.sign_mandate(
        MUM,
        spb.SignMandateRequest(
            iban="be71 0961 2345 6769",
            holder_name="  Marie   Dupont ",
            accept=True,
            signed_from="2001:db8::7",
            user_agent="Mozilla/5.0 (iPhone)",
            language="nl",
            idempotency_key="sign-1",
        ),
    )
    assert again.mandate.id == m.id and snapshot(sepa.rt) == before


@pytest.mark.parametrize(
    "iban",
    [
        "",
        "BE71 0961 2345 6760",  # check digits
        "BE71096123456",  # length
        "XX71096123456769",  # no such country
        "GB33BUKB2020155555555",  # one digit short
        "BR1800360305000010009795493C1",  # valid, but not a SEPA country
    ],
)
def test_bad_ibans_are_refused_on_their_field(sepa, iban):
    before = snapshot(sepa.rt)
    with pytest.raises(InvalidRequest) as exc:
        sepa.sign(iban=iban)
    assert "iban" in exc.value.fields
    assert snapshot(sepa.rt) == before


def test_a_mandate_must_be_accepted_named_and_signed_by_a_parent(sepa):
    with pytest.raises(InvalidRequest) as exc:
        sepa.sign(accept=False, holder_name="")
    assert set(exc.value.fields) == {"accept", "holder_name"}
    with pytest.raises(InvalidRequest) as exc:
        sepa.sign(holder_name="x" * 71, language="de")
    assert set(exc.value.fields) == {"holder_name", "language"}
    with pytest.raises(Forbidden):
        sepa.sign(who=STAFF)
    left = dataclasses.replace(MUM, left={"emma": "2026-01-31", "leo": "2026-01-31"})
    with pytest.raises(InvalidRequest) as exc:
        sepa.sign(who=left)
    assert "students" in exc.value.fields


def test_a_bad_creditor_id_is_refused_by_the_settings(world):
    with pytest.raises(InvalidRequest) as exc:
        Sepa(world, creditor_id="BE68ZZZ0203201340")
    assert "creditor_id" in exc.value.fields
    with pytest.raises(Conflict) as conflict:
        Sepa(world, creditor_id="").sign()
    assert conflict.value.code == "method_disabled"


def test_who_sees_and_revokes_which_mandate(sepa):
    mine = sepa.sign()
    other = sepa.sign(who=STRANGER, iban="BE62 5100 0754 7061", holder_name="Noah's dad")
    listed = sepa.mandates.list_mandates
    assert [m.id for m in listed(MUM, spb.ListMandatesRequest()).items] == [mine.id]
    assert [m.id for m in listed(MUM, spb.ListMandatesRequest(student_id="leo")).items] == [mine.id]
    with pytest.raises(NotFound):
        listed(MUM, spb.ListMandatesRequest(student_id="noah"))
    assert {m.id for m in listed(STAFF, spb.ListMandatesRequest()).items} == {mine.id, other.id}
    assert [m.id for m in listed(STAFF, spb.ListMandatesRequest(student_id="noah")).items] == [other.id]
    with pytest.raises(NotFound):
        listed(STAFF, spb.ListMandatesRequest(student_id="nobody"))
    with pytest.raises(NotFound):
        sepa.mandates.revoke_mandate(MUM, spb.RevokeMandateRequest(mandate_id=other.id))
    with pytest.raises(NotFound):
        sepa.mandates.revoke_mandate(MUM, spb.RevokeMandateRequest(mandate_id="nope"))
    done = sepa.mandates.revoke_mandate(STAFF, spb.RevokeMandateRequest(mandate_id=other.id))
    assert done.revoked_now and done.mandate.revoked_reason == "staff" and done.mandate.revoked_at


def test_the_automatic_top_up_needs_a_mandate_and_amounts_in_range(sepa):
    wallet = sepa.world.wallet("emma")
    with pytest.raises(Conflict) as exc:
        sepa.set_auto(wallet.id, 1000, 2000)
    assert exc.value.code == "no_mandate"
    mandate = sepa.sign()
    with pytest.raises(InvalidRequest) as bad:
        sepa.set_auto(wallet.id, 100_001, 99)
    assert set(bad.value.fields) == {"threshold_cents", "amount_cents"}
    got = sepa.set_auto(wallet.id, 1000, 2000)
    assert (got.enabled, got.threshold_cents, got.amount_cents, got.mandate_id) == (
        True,
        1000,
        2000,
        mandate.id,
    )
    read = sepa.auto.get_auto_top_up(MUM, spb.GetAutoTopUpRequest(wallet_id=wallet.id)).auto_top_up
    assert read == got
    with pytest.raises(NotFound):
        sepa.auto.get_auto_top_up(STRANGER, spb.GetAutoTopUpRequest(wallet_id=wallet.id))
    with pytest.raises(NotFound):
        sepa.set_auto(wallet.id, 1000, 2000, who=STRANGER)

    # Triggered, then disabled before any batch: the top-up waiting for it is withdrawn.
    sepa.world.top_up("emma", 1500)
    sepa.world.sale("emma", [("Repas", 1, 600)])
    assert sepa.wallet("emma").auto_top_up.pending_cents == 2000
    off = sepa.set_auto(wallet.id, 0, 0, enabled=False)
    assert (off.enabled, off.threshold_cents, off.amount_cents, off.pending_cents) == (False, 1000, 2000, 0)
    with pytest.raises(Conflict) as empty:
        sepa.batch()
    assert empty.value.code == "batch_empty"


def test_the_direct_debit_service_over_grpc(sepa, keys, finance_rt):
    """Served beside FinanceService: a parent's token signs, a staff token may not (PERMISSION_DENIED),
    the API's codes travel as FAILED_PRECONDITION, the file comes as XML."""
    server = start_grpc(finance_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = sepa_pb2_grpc.DirectDebitServiceStub(channel)
    try:
        mum = keys.token(role="parent", school_id=SCHOOL, account_id=MUM.account_id, students={"emma": "1A"})
        staff = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
        signed = stub.SignMandate(
            spb.SignMandateRequest(iban="BE71096123456769", holder_name="Marie", accept=True),
            metadata=md(mum),
        )
        assert signed.created and list(signed.mandate.student_ids) == ["emma"]
        with pytest.raises(grpc.RpcError) as exc:
            stub.SignMandate(
                spb.SignMandateRequest(iban="BE71096123456769", holder_name="X", accept=True),
                metadata=md(staff),
            )
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as exc:
            stub.SignMandate(
                spb.SignMandateRequest(iban="BE00", holder_name="X", accept=True), metadata=md(mum)
            )
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        day = sepa.collection_day(2).isoformat()
        with pytest.raises(grpc.RpcError) as exc:
            stub.CreateDirectDebitBatch(
                spb.CreateDirectDebitBatchRequest(collection_date=day), metadata=md(staff)
            )
        assert (
            exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and error_code(exc.value) == "batch_empty"
        )
        sepa.world.invoice("emma", 1234, due_on=day)
        batch = stub.CreateDirectDebitBatch(
            spb.CreateDirectDebitBatchRequest(collection_date=day, idempotency_key="g1"), metadata=md(staff)
        ).batch
        got = stub.GetDirectDebitFile(spb.GetDirectDebitFileRequest(batch_id=batch.id), metadata=md(staff))
        assert got.content_type == "application/xml" and got.filename == f"prelevements-{day}.xml"
        assert b"<SeqTp>FRST</SeqTp>" in got.content and b"12.34" in got.content
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListDirectDebitBatches(spb.ListDirectDebitBatchesRequest(), metadata=md(mum))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        channel.close()
        server.stop(0)
