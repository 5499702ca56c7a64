"""Collection batches end to end through the use cases (issue #18), on SQLite and PostgreSQL: a mandate,
an automatic top-up triggered by a sale, a batch with an open invoice, its pain.008 file, the bank's
credit of the batch in a statement, the invoice paid and the wallet credited once; what parents see
meanwhile; FRST then RCUR; batches refused (nothing to collect, a past date, no creditor id); revoked
mandates collect nothing; two batches built at once never share an item (PostgreSQL)."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2 as spb
from kit.errors import Conflict, Forbidden, InvalidRequest
from services.finance.tests.conftest import MUM, SCHOOL, STAFF, STRANGER, assert_ledger_invariants
from services.finance.tests.sepa_helpers import CREDITOR_ID, Sepa, published
from services.finance.tests.statement_builders import Mv

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture
def sepa(world) -> Sepa:
    return Sepa(world)


def _tx(xml: bytes) -> list[dict]:
    root = ET.fromstring(xml)  # noqa: S314 - our own file
    out = []
    for info in root.iterfind(".//p:PmtInf", NS):
        for tx in info.iterfind("p:DrctDbtTxInf", NS):
            out.append(
                {
                    "seq": info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
                    "pmtinf": info.findtext("p:PmtInfId", namespaces=NS),
                    "creditor": info.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS),
                    "e2e": tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
                    "amount": tx.findtext("p:InstdAmt", namespaces=NS),
                    "mandate": tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS),
                    "ref": tx.findtext("p:RmtInf/p:Strd/p:CdtrRefInf/p:Ref", namespaces=NS),
                    "iban": tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS),
                }
            )
    return out


def test_a_sale_triggers_the_top_up_a_batch_collects_it_with_an_invoice_and_the_statement_books_both(sepa):
    world, rt = sepa.world, sepa.rt
    mandate = sepa.sign()
    assert sorted(mandate.student_ids) == ["emma", "leo"] and mandate.status == "active"
    repas = world.wallet("emma")
    sepa.set_auto(repas.id, threshold=1000, amount=2500)
    world.top_up("emma", 1500)
    invoice = world.invoice("leo", 4200, due_on=sepa.collection_day(1).isoformat())

    world.sale("emma", [("Repas chaud", 1, 600)], key="sale-1")  # 1500 -> 900, under 1000
    (triggered,) = published(rt, "finance.auto_top_up.triggered.v1")
    assert (
        triggered.wallet_id,
        triggered.balance_cents,
        triggered.threshold_cents,
        triggered.amount_cents,
    ) == (
        repas.id,
        900,
        1000,
        2500,
    )
    assert triggered.mandate_reference == mandate.reference and triggered.wallet_name == "Repas"
    world.sale("emma", [("Soupe", 1, 100)])  # still under: no second trigger
    assert len(published(rt, "finance.auto_top_up.triggered.v1")) == 1
    assert sepa.wallet("emma").auto_top_up.pending_cents == 2500

    batch = sepa.batch(key="b-1")
    assert (batch.count, batch.total_cents, batch.status) == (2, 6700, "created")
    again = sepa.batch(key="b-1")  # the same key: the same batch, nothing more
    assert again.id == batch.id
    assert len(sepa.dd.list_batches(STAFF, spb.ListDirectDebitBatchesRequest()).items) == 1

    # What parents see while the bank has not credited it.
    wallet = sepa.world.finance.wallets.list_wallets(MUM, "emma").wallets[0]
    assert wallet.collection_pending_cents == 2500 and wallet.auto_top_up.enabled
    assert wallet.auto_top_up.threshold_cents == 1000 and wallet.auto_top_up.pending_cents == 2500
    assert sepa.invoice(invoice.id).collection_pending is True

    content = sepa.file(batch.id)
    txs = _tx(content)
    assert {t["seq"] for t in txs} == {"FRST"}
    assert {t["creditor"] for t in txs} == {CREDITOR_ID}
    assert {t["mandate"] for t in txs} == {mandate.reference}
    assert {t["pmtinf"] for t in txs} == {f"{batch.message_id}-FRST"}
    by_amount = {t["amount"]: t for t in txs}
    assert by_amount["42.00"]["ref"] == invoice.structured_communication.strip("+").replace("/", "")
    assert by_amount["25.00"]["ref"] == repas.structured_communication.strip("+").replace("/", "")
    assert by_amount["42.00"]["iban"] == "BE71096123456769"

    result = sepa.credit_batch(batch)
    assert (result.credited, result.unmatched) == (1, 0)
    assert sepa.wallet("emma").balance_cents == 800 + 2500
    paid = sepa.invoice(invoice.id)
    assert (paid.status, paid.paid_cents, paid.collection_pending) == ("paid", 4200, False)
    got = sepa.get(batch.id)
    assert (got.status, got.collected_cents, got.returned_cents) == ("collected", 6700, 0)
    assert {i.status for i in got.items} == {"collected"}
    assert sepa.wallet("emma").collection_pending_cents == 0
    assert sepa.wallet("emma").auto_top_up.pending_cents == 0
    received = [p for p in published(rt, "finance.payment.received.v1") if p.method == "direct_debit"]
    assert sorted((p.purpose, p.amount_cents) for p in received) == [("invoice", 4200), ("top_up", 2500)]
    assert next(p for p in received if p.purpose == "top_up").balance_after_cents == 3300
    assert len(published(rt, "finance.direct_debit.collected.v1")) == 2

    # The same statement again, and another crediting the batch again: booked once.
    assert sepa.credit_batch(batch, n=1).duplicates == 1
    other = sepa.credit_batch(batch, fmt="camt")
    assert (other.credited, other.unmatched) == (0, 1)
    assert sepa.wallet("emma").balance_cents == 3300
    assert_ledger_invariants(rt)

    # The next batch collects on the same mandate: RCUR.
    world.sale("emma", [("Repas", 1, 3000)])  # 3300 -> 300
    second = sepa.batch(key="b-2")
    assert [(i.kind, i.sequence_type) for i in sepa.items(second.id)] == [("top_up", "RCUR")]
    assert {t["seq"] for t in _tx(sepa.file(second.id))} == {"RCUR"}


def test_a_batch_collects_each_item_once_and_every_wallet_under_its_threshold(sepa):
    world = sepa.world
    sepa.sign()
    sepa.set_auto(world.wallet("leo").id, threshold=500, amount=1000)  # 0 under 500, never triggered
    inv = world.invoice("emma", 1800, due_on=sepa.collection_day(2).isoformat())
    world.invoice("emma", 900, due_on=sepa.collection_day(30).isoformat())  # due later
    world.invoice("noah", 700, due_on=sepa.collection_day(1).isoformat())  # no mandate covers noah
    first = sepa.batch(key="k1")
    items = sepa.items(first.id)
    assert sorted((i.kind, i.amount_cents, i.student_id) for i in items) == [
        ("invoice", 1800, "emma"),
        ("top_up", 1000, "leo"),
    ]
    assert next(i for i in items if i.kind == "invoice").invoice_id == inv.id
    (triggered,) = published(sepa.rt, "finance.auto_top_up.triggered.v1")
    assert triggered.wallet_id == world.wallet("leo").id and triggered.balance_cents == 0
    with pytest.raises(Conflict) as exc:
        sepa.batch(key="k2")  # everything is in the first one
    assert exc.value.code == "batch_empty"
    later = sepa.batch(key="k3", days=40)  # the later invoice once it is due by the date
    assert [(i.kind, i.amount_cents) for i in sepa.items(later.id)] == [("invoice", 900)]


def test_a_batch_pre_notifies_each_family_once_with_its_amount_date_and_collections(sepa):
    """SEPA's pre-notification: one finance.direct_debit.scheduled.v1 per mandate of the batch, in its
    transaction; none for a replay of the key, a refused batch or a family the batch does not debit."""
    world, rt = sepa.world, sepa.rt
    mum = sepa.sign()  # Emma and Léo
    other = sepa.sign(STRANGER, iban="BE68 5390 0754 7034", holder_name="Tom Brown")  # Noah
    sepa.set_auto(world.wallet("leo").id, threshold=500, amount=1000)  # 0 under 500
    a = world.invoice("emma", 1800, title="Classe verte", due_on=sepa.collection_day(1).isoformat())
    b = world.invoice("leo", 2200, title="Piscine", due_on=sepa.collection_day(2).isoformat())
    c = world.invoice("noah", 700, title="Théâtre", due_on=sepa.collection_day(1).isoformat())
    world.invoice("emma", 900, title="Plus tard", due_on=sepa.collection_day(30).isoformat())

    batch = sepa.batch(key="k1", days=5)
    scheduled = published(rt, "finance.direct_debit.scheduled.v1")
    assert len(scheduled) == 2  # one per family (mandate), not one per item
    by_mandate = {e.mandate_id: e for e in scheduled}
    assert set(by_mandate) == {mum.id, other.id}
    assert sum(e.total_cents for e in scheduled) == batch.total_cents == 1800 + 2200 + 1000 + 700
    day = sepa.collection_day(5).isoformat()
    for event, mandate, holder in (
        (by_mandate[mum.id], mum, "Marie Dupont"),
        (by_mandate[other.id], other, "Tom Brown"),
    ):
        assert (event.school_id, event.batch_id, event.collection_date) == (SCHOOL, batch.id, day)
        assert (event.mandate_reference, event.parent_account_id) == (
            mandate.reference,
            mandate.parent_account_id,
        )
        assert (event.iban_last4, event.iban_masked, event.holder_name) == (
            mandate.iban_last4,
            mandate.iban_masked,
            holder,
        )
        assert (event.creditor_id, event.school_name) == (CREDITOR_ID, "École Saint-Joseph")
        assert event.total_cents == sum(i.amount_cents for i in event.items)
    family = by_mandate[mum.id]
    assert family.total_cents == 5000 and family.iban_last4 == "6769"
    assert sorted(
        (i.kind, i.student_id, i.amount_cents, i.invoice_number, i.invoice_title, i.wallet_name)
        for i in family.items
    ) == [
        ("invoice", "emma", 1800, a.number, "Classe verte", ""),
        ("invoice", "leo", 2200, b.number, "Piscine", ""),
        ("top_up", "leo", 1000, "", "", "Repas"),
    ]
    assert {i.invoice_id for i in family.items if i.kind == "invoice"} == {a.id, b.id}
    assert [i.wallet_id for i in family.items if i.kind == "top_up"] == [world.wallet("leo").id]
    assert [(i.kind, i.invoice_id, i.amount_cents) for i in by_mandate[other.id].items] == [
        ("invoice", c.id, 700)
    ]

    assert sepa.batch(key="k1", days=5).id == batch.id  # a replay: the stored batch, told once
    with pytest.raises(Conflict):
        sepa.batch(key="k2", days=5)  # nothing left: no batch, nothing told
    assert len(published(rt, "finance.direct_debit.scheduled.v1")) == 2

    later = sepa.batch(key="k3", days=40)  # only Emma's later invoice: only her family is told
    (told,) = published(rt, "finance.direct_debit.scheduled.v1")[2:]
    assert (told.batch_id, told.mandate_id, told.total_cents) == (later.id, mum.id, 900)
    assert told.collection_date == sepa.collection_day(40).isoformat()


def test_revoked_mandates_collect_nothing_and_their_unsent_items_are_withdrawn(sepa):
    world = sepa.world
    mandate = sepa.sign()
    sepa.set_auto(world.wallet("emma").id, threshold=500, amount=1000)
    inv = world.invoice("emma", 1800, due_on=sepa.collection_day(1).isoformat())
    batch = sepa.batch(key="k1")
    assert batch.count == 2
    revoked = sepa.mandates.revoke_mandate(MUM, spb.RevokeMandateRequest(mandate_id=mandate.id))
    assert revoked.revoked_now and revoked.mandate.status == "revoked"
    assert revoked.mandate.revoked_reason == "parent"
    assert {i.status for i in sepa.items(batch.id)} == {"withdrawn"}
    assert sepa.get(batch.id).count == 0
    assert sepa.invoice(inv.id).collection_pending is False
    assert not sepa.wallet("emma").auto_top_up.enabled  # nothing can collect it any more
    with pytest.raises(Conflict) as exc:
        sepa.file(batch.id)
    assert exc.value.code == "batch_empty"
    with pytest.raises(Conflict) as exc:
        sepa.batch(key="k2")
    assert exc.value.code == "batch_empty"
    again = sepa.mandates.revoke_mandate(MUM, spb.RevokeMandateRequest(mandate_id=mandate.id))
    assert not again.revoked_now
    (event,) = published(sepa.rt, "finance.mandate.revoked.v1")
    assert (event.mandate_id, event.reason, sorted(event.student_ids)) == (
        mandate.id,
        "parent",
        ["emma", "leo"],
    )
    with pytest.raises(Conflict) as exc:
        sepa.set_auto(world.wallet("emma").id, threshold=500, amount=1000)
    assert exc.value.code == "no_mandate"


def test_a_revocation_after_the_file_was_sent_leaves_the_bank_its_collections(sepa):
    mandate = sepa.sign()
    sepa.world.invoice("emma", 1800, due_on=sepa.collection_day(1).isoformat())
    batch = sepa.batch(key="k1")
    sepa.file(batch.id)  # downloaded: on its way to the bank
    sepa.mandates.revoke_mandate(STAFF, spb.RevokeMandateRequest(mandate_id=mandate.id))
    assert [i.status for i in sepa.items(batch.id)] == ["pending"]
    assert sepa.credit_batch(batch).credited == 1


def test_batches_refused(sepa, world):
    with pytest.raises(InvalidRequest) as exc:
        sepa.batch(days=0)
    assert "collection_date" in exc.value.fields
    with pytest.raises(InvalidRequest):
        sepa.dd.create_batch(STAFF, spb.CreateDirectDebitBatchRequest(collection_date="15/12/2026"))
    with pytest.raises(Conflict) as exc:
        sepa.batch()
    assert exc.value.code == "batch_empty"  # no mandate, nothing to collect
    with pytest.raises(Forbidden):
        sepa.dd.create_batch(MUM, spb.CreateDirectDebitBatchRequest(collection_date="2026-12-15"))


def test_a_school_without_creditor_id_collects_nothing(world):
    sepa = Sepa(world, creditor_id="")
    with pytest.raises(Conflict) as exc:
        sepa.batch()
    assert exc.value.code == "method_disabled"
    with pytest.raises(Conflict) as exc:
        sepa.sign()
    assert exc.value.code == "method_disabled"


def test_a_credit_per_collection_by_end_to_end_id(sepa):
    """camt.053 with one TxDtls per collection (the bank's detailed batch entry)."""
    world = sepa.world
    sepa.sign()
    a = world.invoice("emma", 1800, due_on=sepa.collection_day(1).isoformat())
    b = world.invoice("leo", 2200, due_on=sepa.collection_day(1).isoformat())
    batch = sepa.batch(key="k")
    items = {i.invoice_id: i for i in sepa.items(batch.id)}
    entry = (
        Mv(1800, end_to_end_id=items[a.id].end_to_end_id),
        Mv(2200, end_to_end_id=items[b.id].end_to_end_id),
    )
    result = sepa.import_file(sepa.statement([entry], "camt"), "camt.xml")
    assert (result.credited, result.unmatched, result.credited_cents) == (2, 0, 4000)
    assert sepa.invoice(a.id).status == sepa.invoice(b.id).status == "paid"
    assert sepa.get(batch.id).status == "collected"


def test_an_invoice_paid_meanwhile_leaves_the_collection_as_an_unmatched_transfer(sepa):
    world = sepa.world
    sepa.sign()
    world.top_up("emma", 5000)
    inv = world.invoice("emma", 1800, due_on=sepa.collection_day(1).isoformat())
    batch = sepa.batch(key="k")
    world.pay(MUM, inv.id, world.wallet("emma").id)  # paid from the wallet before the bank collects
    result = sepa.credit_batch(batch)
    assert (result.credited, result.unmatched) == (0, 1)
    (transfer,) = world.finance.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    assert (transfer.amount_cents, transfer.reason) == (1800, "invoice_settled")
    assert sepa.invoice(inv.id).paid_cents == 1800
    assert_ledger_invariants(sepa.rt)


def test_two_batches_built_at_once_never_share_an_item(sepa):
    """Row locks and the live partial unique indexes on PostgreSQL; immediate transactions on SQLite."""
    world = sepa.world
    sepa.sign()
    for n in range(12):
        world.invoice("emma" if n % 2 else "leo", 100 + n, due_on=sepa.collection_day(1).isoformat())
    sepa.set_auto(world.wallet("emma").id, threshold=500, amount=1000)
    results: list = []
    barrier = threading.Barrier(2)

    def build(key: str) -> None:
        barrier.wait()
        try:
            results.append(sepa.batch(key=key))
        except Conflict as e:
            results.append(e.code)

    threads = [threading.Thread(target=build, args=(f"race-{i}",)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    batches = [r for r in results if not isinstance(r, str)]
    assert batches and all(r == "batch_empty" for r in results if isinstance(r, str))
    items = [i for b in batches for i in sepa.items(b.id)]
    assert len(items) == 13
    assert len({i.invoice_id for i in items if i.invoice_id}) == 12
    assert len([i for i in items if i.kind == "top_up"]) == 1
