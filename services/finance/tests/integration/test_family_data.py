"""A family's data in finance (issue #21), on SQLite and PostgreSQL: ExportFamilyData over the real gRPC
server (the parent's own data and nothing of another family; another parent's or child's ids refused;
the school's staff get the same; another school's staff nothing), then auth.family.erased.v1 through
finance's consumer (no name, IBAN or national number of the family left in any table, the ledger's
labels included; amounts and dates kept, the ledger still summing to zero; the other
family untouched; twice harmless) and the ``anonymise`` command after keep_financial_until."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import func, select

from cartable.privacy.v1 import privacy_pb2 as ppb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.identity import Identity
from kit.privacy import ERASED_PARENT, ERASED_STUDENT, find_text, pseudonym
from kit.service import make_consumer
from services.finance import db
from services.finance.db.erasure_tables import erased_families
from services.finance.db.sepa_tables import mandates
from services.finance.db.tax_certificate_queries import tax_certificates
from services.finance.family_data import exporter
from services.finance.family_erasure import anonymise
from services.finance.tests.conftest import OTHER_SCHOOL_STAFF, STAFF, assert_ledger_invariants, md, snapshot
from services.finance.tests.family_helpers import (
    BARNABE,
    ZEPH,
    Families,
    all_published,
    erased_event,
    outbox_count,
    two_families,
)

PARTS = {
    "finance/bank_transfers.json",
    "finance/direct_debits.json",
    "finance/invoices.json",
    "finance/ledger.json",
    "finance/mandates.json",
    "finance/payments.json",
    "finance/refunds.json",
    "finance/sales.json",
    "finance/structured_communications.json",
    "finance/students.json",
    "finance/tax_certificates.json",
    "finance/wallets.json",
}
# Every (table, column) where a family's names, IBAN or national numbers are, once it has used
# everything: what an erasure must reach.
WHERE_THE_FAMILY_IS = {
    ("bank_movements", "counterparty_iban"),
    ("bank_movements", "counterparty_name"),
    ("bank_movements", "free_communication"),
    ("idempotency_keys", "response"),
    ("invoice_lines", "label"),
    ("invoices", "title"),
    ("ledger_transactions", "label"),
    ("mandates", "holder_name"),
    ("mandates", "iban"),
    ("mandates", "mandate_text"),
    ("outbox", "body"),
    ("refund_batches", "content"),
    ("refunds", "holder_name"),
    ("refunds", "iban"),
    ("refunds", "reason"),
    ("sale_lines", "label"),
    ("students", "first_name"),
    ("students", "last_name"),
    ("tax_certificates", "content"),
    ("unmatched_transfers", "communication"),
    ("unmatched_transfers", "counterparty_iban"),
    ("unmatched_transfers", "counterparty_name"),
}


@pytest.fixture
def families(world, finance_rt) -> Families:
    return two_families(world, finance_rt)


@pytest.fixture
def family_stub(finance_server):
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    yield privacy_pb2_grpc.FamilyDataServiceStub(channel)
    channel.close()


def export(stub, keys, who: Identity, parent_id: str, student_ids: list[str]) -> dict[str, object]:
    token = keys.signer.sign(who)[0]
    got = stub.ExportFamilyData(
        ppb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=student_ids), metadata=md(token)
    )
    assert all(f.content_type == "application/json" for f in got.files)
    return {f.name: json.loads(f.content.decode("utf-8")) for f in got.files}


def is_empty(part: object) -> bool:
    return part == [] or (isinstance(part, dict) and all(v == [] for v in part.values()))


# -- the export ----------------------------------------------------------------------------------------


def test_a_parent_gets_every_part_of_their_familys_finance_and_nothing_of_another(
    families, family_stub, keys
):
    z = families.zeph
    got = export(family_stub, keys, ZEPH.parent, ZEPH.parent_id, [ZEPH.student_id])
    assert set(got) == PARTS
    assert [(s["id"], s["first_name"], s["last_name"]) for s in got["finance/students.json"]] == [
        (ZEPH.student_id, "Zéphyrine", "Quorndel")
    ]
    wallets = {w["name"]: w for w in got["finance/wallets.json"]}
    # Repas: 200.00 in cash, 4.50 at the till, 30.00 for the invoice, the rest (165.50) refunded
    assert [m["amount_cents"] for m in wallets["Repas"]["movements"]] == [20000, -450, -3000, -16550]
    assert wallets["Repas"]["balance_cents"] == 0
    assert all(m["at"].startswith("2024-03-01") for m in wallets["Repas"]["movements"])
    assert [m["amount_cents"] for m in wallets["Activités"]["movements"]] == [2500]  # the transfer
    assert {c["wallet_id"] for c in got["finance/structured_communications.json"]} >= {z.repas, z.activites}
    [sale] = got["finance/sales.json"]
    assert (sale["amount_cents"], sale["lines"][0]["label"]) == (450, "Gâteau d'anniversaire de Zéphyrine")
    invoices = {i["id"]: i for i in got["finance/invoices.json"]}
    assert invoices.keys() == {z.invoice.id, z.childcare.id}
    assert invoices[z.invoice.id]["title"] == "Classe de neige – Zéphyrine Quorndel"
    assert (invoices[z.invoice.id]["total_cents"], invoices[z.invoice.id]["paid_cents"]) == (3000, 3000)
    assert invoices[z.childcare.id]["lines"][0]["days"] == 10
    assert sorted(p["amount_cents"] for p in got["finance/payments.json"]) == [2500, 3000, 8000, 20000]
    moves = got["finance/bank_transfers.json"]["movements"]
    assert [(m["amount_cents"], m["counterparty_iban"]) for m in moves] == [(2500, ZEPH.iban)]
    [mandate] = got["finance/mandates.json"]
    assert (mandate["holder_name"], mandate["iban"], mandate["student_ids"]) == (
        "Marguerite Quorndel",
        ZEPH.iban,
        [ZEPH.student_id],
    )
    [refund] = got["finance/refunds.json"]
    assert (refund["amount_cents"], refund["iban"], refund["execution_date"]) == (
        16550,
        ZEPH.iban,
        "2024-03-01",
    )
    [cert] = got["finance/tax_certificates.json"]
    assert (cert["year"], cert["amount_cents"], cert["content"]["child"]["first_name"]) == (
        2024,
        8000,
        "Zéphyrine",
    )
    assert {t["kind"] for t in got["finance/ledger.json"]} >= {"invoice_payment", "sale", "refund"}
    text = json.dumps(got, ensure_ascii=False)
    # national numbers: only in auth's part; another family: nowhere
    for needle in (ZEPH.child_nn, ZEPH.parent_nn, *BARNABE.names, BARNABE.iban, BARNABE.student_id):
        assert needle not in text
    assert "national_number" not in text  # nor their sealed text (sealed_national_number)


def test_the_schools_staff_get_the_same_and_another_schools_staff_nothing(families, family_stub, keys):
    ids = [ZEPH.student_id]
    mine = export(family_stub, keys, ZEPH.parent, ZEPH.parent_id, ids)
    assert export(family_stub, keys, STAFF, ZEPH.parent_id, ids) == mine
    theirs = export(family_stub, keys, OTHER_SCHOOL_STAFF, ZEPH.parent_id, ids)
    assert set(theirs) == PARTS and all(is_empty(part) for part in theirs.values())


@pytest.mark.parametrize(
    ("parent_id", "student_ids"),
    [(BARNABE.parent_id, [ZEPH.student_id]), (ZEPH.parent_id, [BARNABE.student_id])],
    ids=["another_parent", "a_child_not_theirs"],
)
def test_a_parent_asking_for_another_familys_ids_is_refused(
    families, family_stub, keys, parent_id, student_ids
):
    with pytest.raises(grpc.RpcError) as err:
        export(family_stub, keys, ZEPH.parent, parent_id, student_ids)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


# -- erasure ---------------------------------------------------------------------------------------------


def other_family_export(rt) -> list:
    return [(f.name, f.content) for f in exporter(rt)(STAFF, BARNABE.parent_id, [BARNABE.student_id])]


def ledger_rows(rt) -> dict[str, list]:
    snap = snapshot(rt)
    return {name: snap[name] for name in db.LEDGER_TABLES}


def without_labels(rows: dict[str, list]) -> dict[str, list]:
    """The ledger's rows but the transactions' labels (the one column an erasure changes)."""
    label = list(db.ledger_transactions.columns.keys()).index("label")
    return {
        name: sorted(
            tuple(v for i, v in enumerate(r) if name != "ledger_transactions" or i != label) for r in rs
        )
        for name, rs in rows.items()
    }


def found(rt, needles: list[str]) -> list[tuple[str, str]]:
    with rt.db.engine.connect() as conn:
        return find_text(conn, rt.spec.metadata.sorted_tables, needles)


def test_an_erased_family_leaves_no_name_iban_or_national_number_but_its_amounts_and_a_balanced_ledger(
    families, finance_rt
):
    rt = finance_rt
    all_published(rt)
    before_ledger, before_other = ledger_rows(rt), other_family_export(rt)
    # every corner the family is in: what the erasure must reach
    assert set(found(rt, ZEPH.names + ZEPH.numbers)) == WHERE_THE_FAMILY_IS
    # but the national numbers: sealed in the certificates and their events (issue #21), in clear nowhere
    assert found(rt, [ZEPH.child_nn, ZEPH.parent_nn]) == []

    assert make_consumer(rt).handle(erased_event(ZEPH)) == "handled"

    # Nothing names the family any more, the ledger's labels included (the transfer's counterparty
    # "MARGUERITE QUORNDEL" and the invoice title naming the child, as booked, are scrubbed)
    assert found(rt, ZEPH.numbers) == []
    assert found(rt, ZEPH.names) == []
    assert without_labels(ledger_rows(rt)) == without_labels(before_ledger)
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.sum(db.ledger_postings.c.amount_cents))).scalar() == 0
    assert_ledger_invariants(rt)

    # what accounting keeps: the rows, their amounts and dates, under the pseudonym
    got = {f.name: json.loads(f.content) for f in exporter(rt)(STAFF, ZEPH.parent_id, [ZEPH.student_id])}
    label = pseudonym(ERASED_STUDENT, ZEPH.student_id)
    [student] = got["finance/students.json"]
    assert (student["first_name"], student["last_name"]) == (label, "")
    invoices = {i["id"]: i for i in got["finance/invoices.json"]}
    z = families.zeph
    assert invoices[z.invoice.id]["title"] == f"Classe de neige – {label}"
    assert invoices[z.invoice.id]["lines"][0]["label"] == f"Séjour de {label}"
    assert invoices[z.childcare.id]["title"] == "Garderie, trimestre 1"  # names no one: kept
    assert (invoices[z.invoice.id]["total_cents"], invoices[z.invoice.id]["issued_on"]) == (
        3000,
        "2024-03-01",
    )
    assert sorted(p["amount_cents"] for p in got["finance/payments.json"]) == [2500, 3000, 8000, 20000]
    [refund] = got["finance/refunds.json"]
    assert (refund["amount_cents"], refund["iban"], refund["holder_name"]) == (16550, "", "")
    assert refund["reason"] == f"Remboursement Repas {label}"
    [mandate] = got["finance/mandates.json"]
    assert (mandate["holder_name"], mandate["iban"], mandate["signed_from"], mandate["status"]) == (
        pseudonym(ERASED_PARENT, ZEPH.parent_id),
        "",
        "",
        "revoked",
    )
    [cert] = got["finance/tax_certificates.json"]
    assert cert["amount_cents"] == 8000 and cert["content"]["child"]["first_name"] == label
    assert cert["content"]["child"]["birth_date"] == "2016-02-17"  # until anonymised
    [move] = got["finance/bank_transfers.json"]["movements"]
    assert (move["amount_cents"], move["counterparty_name"], move["counterparty_iban"]) == (2500, "", "")

    # the other family untouched (its refund shares the pain.001 file)
    assert other_family_export(rt) == before_other
    # (the outbox rows published before were purged: they were everyone's)
    assert set(found(rt, BARNABE.names + BARNABE.numbers)) == WHERE_THE_FAMILY_IS - {("outbox", "body")}
    with rt.db.unit_of_work() as s:
        kept = s.execute(select(erased_families).order_by(erased_families.c.kind)).all()
    assert [(r.kind, r.person_id, r.keep_financial_until.isoformat()) for r in kept] == [
        ("parent", ZEPH.parent_id, "2031-12-31"),
        ("student", ZEPH.student_id, "2031-12-31"),
    ]


def test_erasing_a_family_twice_changes_nothing(families, finance_rt):
    rt = finance_rt
    all_published(rt)
    body = erased_event(ZEPH)
    consumer = make_consumer(rt)
    assert consumer.handle(body) == "handled"
    first = snapshot(rt)
    assert consumer.handle(body) == "duplicate"
    # a second event for the same family (retention after a request): handled, and nothing changes
    assert consumer.handle(erased_event(ZEPH)) == "handled"
    second = snapshot(rt)
    assert {k: v for k, v in second.items() if k != "inbox"} == {
        k: v for k, v in first.items() if k != "inbox"
    }
    assert outbox_count(rt) == 1  # the mandate's revocation, not yet published


def test_the_published_outbox_rows_are_purged_and_the_unpublished_kept(families, finance_rt):
    rt = finance_rt
    pending = outbox_count(rt)
    assert pending > 0
    assert make_consumer(rt).handle(erased_event(ZEPH)) == "handled"
    assert outbox_count(rt) == pending + 1  # the relay still owes them (and the revocation)
    all_published(rt)
    assert make_consumer(rt).handle(erased_event(ZEPH)) == "handled"
    assert outbox_count(rt) == 0


# -- anonymise -------------------------------------------------------------------------------------------


def certificate_child(rt) -> dict:
    with rt.db.unit_of_work() as s:
        content = s.execute(
            select(tax_certificates.c.content).where(tax_certificates.c.student_id == ZEPH.student_id)
        ).scalar_one()
    return json.loads(content)["child"]  # as stored: its national number sealed


def test_anonymise_after_keep_financial_until_strips_what_still_identifies_and_twice_is_harmless(
    families, finance_rt
):
    rt = finance_rt
    assert make_consumer(rt).handle(erased_event(ZEPH, keep_until="2031-12-31")) == "handled"
    rt.clock.set(datetime(2031, 12, 31, 12, 0, tzinfo=UTC))
    untouched = snapshot(rt)
    assert anonymise(rt, []) == 0  # the last day kept: nothing yet
    assert snapshot(rt) == untouched

    rt.clock.set(datetime(2032, 1, 1, 12, 0, tzinfo=UTC))
    assert anonymise(rt, []) == 0
    child = certificate_child(rt)
    assert (child["birth_date"], child["sealed_national_number"], child["first_name"]) == (
        "",
        "",
        pseudonym(ERASED_STUDENT, ZEPH.student_id),
    )
    assert "national_number" not in child
    with rt.db.unit_of_work() as s:
        st = s.execute(select(db.students).where(db.students.c.id == ZEPH.student_id)).one()
        text = s.execute(
            select(mandates.c.mandate_text).where(mandates.c.parent_account_id == ZEPH.parent_id)
        )
        done = s.execute(select(erased_families.c.anonymised_at)).scalars().all()
        other = s.execute(select(db.students).where(db.students.c.id == BARNABE.student_id)).one()
    assert st.class_name == "" and text.scalar_one() == "" and len(done) == 2 and all(done)
    assert (other.first_name, other.class_name) == ("Barnabé", "4A")
    assert certificate_child(rt)["student_id"] == ZEPH.student_id
    assert_ledger_invariants(rt)

    once = snapshot(rt)
    assert anonymise(rt, []) == 0
    assert snapshot(rt) == once


def test_the_anonymise_command_is_registered(finance_rt):
    assert finance_rt.spec.commands["anonymise"] is anonymise
