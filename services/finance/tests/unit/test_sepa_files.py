"""pain.008.001.02 files (domain/pain008.py): every file built is valid against the official schema
(the XSD sepaxml ships, read here with xmlschema independently of the builder), with one payment
information block per sequence type, the creditor id, deterministic ids and the Belgian structured
remittance; a value no bank takes is refused, never written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from typing import Any

import pytest
import xmlschema

from services.finance.domain import pain008, sepa
from services.finance.domain.pain008 import Collection, Creditor, InvalidFile, build_pain008

NS = {"p": pain008.NS}
CREDITOR = Creditor("École Saint-Joseph & Cie", "BE68539007547034", "GKCCBEBB", "BE69ZZZ050D000000008")
SCHEMA = xmlschema.XMLSchema(pain008.SCHEMA_PATH)


def _collection(n: int, seq: str = sepa.FRST, **kw) -> Collection:
    base: dict[str, Any] = dict(
        end_to_end_id=f"E{n:032X}",
        amount_cents=1000 + n,
        sequence_type=seq,
        mandate_reference=f"CRT-261201-ABCDEFGH{n:02d}",
        mandate_signed_on=date(2026, 12, 1),
        debtor_name="Marie Dupönt-Lefèvre",
        debtor_iban="BE71096123456769",
        debtor_bic="GKCCBEBB",
        communication="108068171862",
    )
    base.update(kw)
    return Collection(**base)


def _build(collections, creditor=CREDITOR) -> bytes:
    return build_pain008(
        creditor,
        "DD261214100000ABCDEF01",
        datetime(2026, 12, 14, 10, 0, tzinfo=UTC),
        date(2026, 12, 20),
        collections,
    )


@pytest.mark.parametrize(
    "collections",
    [
        [_collection(1)],
        [_collection(1), _collection(2, sepa.RCUR), _collection(3, sepa.RCUR)],
        [_collection(1, debtor_bic="", communication="", text="Recharge repas (été)")],
        [_collection(n, sepa.RCUR if n % 2 else sepa.FRST) for n in range(40)],
    ],
    ids=["one", "frst-and-rcur", "no-bic-free-text", "forty"],
)
def test_every_file_is_valid_against_the_official_schema(collections):
    content = _build(collections)
    assert SCHEMA.is_valid(content.decode("utf-8")), SCHEMA.validate(content.decode("utf-8"))
    root = ET.fromstring(content)  # noqa: S314 - built here
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header.findtext("p:MsgId", namespaces=NS) == "DD261214100000ABCDEF01"
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2026-12-14T10:00:00"
    assert header.findtext("p:NbOfTxs", namespaces=NS) == str(len(collections))
    total = sum(c.amount_cents for c in collections)
    assert header.findtext("p:CtrlSum", namespaces=NS) == f"{total // 100}.{total % 100:02d}"
    blocks = root.findall(".//p:PmtInf", NS)
    sequences = [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) for b in blocks]
    assert sequences == sorted(set(c.sequence_type for c in collections), key=[sepa.FRST, sepa.RCUR].index)
    for block, seq in zip(blocks, sequences, strict=True):
        assert block.findtext("p:PmtInfId", namespaces=NS) == f"DD261214100000ABCDEF01-{seq}"
        assert block.findtext("p:ReqdColltnDt", namespaces=NS) == "2026-12-20"
        assert (
            block.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == CREDITOR.creditor_id
        )
        assert block.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) == "CORE"
        txs = block.findall("p:DrctDbtTxInf", NS)
        assert {c.end_to_end_id for c in collections if c.sequence_type == seq} == {
            t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in txs
        }


def test_the_structured_communication_and_the_names_as_banks_take_them():
    content = _build([_collection(1), _collection(2, communication="", text="Recharge Repas", debtor_bic="")])
    root = ET.fromstring(content)  # noqa: S314
    first, second = root.findall(".//p:DrctDbtTxInf", NS)
    ref = first.find("p:RmtInf/p:Strd/p:CdtrRefInf", NS)
    assert ref.findtext("p:Tp/p:CdOrPrtry/p:Cd", namespaces=NS) == "SCOR"
    assert ref.findtext("p:Tp/p:Issr", namespaces=NS) == "BBA"
    assert ref.findtext("p:Ref", namespaces=NS) == "108068171862"
    assert first.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Marie Dupont-Lefevre"
    assert first.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2026-12-01"
    assert second.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "Recharge Repas"
    assert second.findtext("p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "Ecole Saint-Joseph Cie"


def test_a_creditor_bank_without_bic_is_not_provided():
    content = _build([_collection(1)], Creditor("Ecole", "BE68539007547034", "", "BE69ZZZ050D000000008"))
    assert SCHEMA.is_valid(content.decode("utf-8"))
    root = ET.fromstring(content)  # noqa: S314
    assert root.findtext(".//p:CdtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"


@pytest.mark.parametrize(
    "bad",
    [
        dict(debtor_iban="not an iban"),
        dict(mandate_reference="x" * 36),
        dict(debtor_bic="NOTABIC!"),
    ],
)
def test_a_value_no_bank_takes_is_refused(bad):
    with pytest.raises(InvalidFile):
        _build([_collection(1, **bad)])


def test_an_empty_batch_has_no_file():
    with pytest.raises(ValueError, match="at least one collection"):
        _build([])
