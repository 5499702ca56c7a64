"""Refunds to a bank account as rules (domain/refunds.py): the IBAN and holder checked, the amount a
refund takes, its postings, and the pain.001.001.03 credit-transfer file, checked here against the
schema sepaxml ships with xmlschema (not only by sepaxml's own check)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sepaxml  # type: ignore[import-untyped]
import xmlschema
from defusedxml import ElementTree as ET
from hypothesis import given, settings
from hypothesis import strategies as st

from services.finance.domain import ledger
from services.finance.domain.refunds import (
    CreditTransfer,
    Debtor,
    bic_of,
    build_pain001,
    check_holder,
    check_iban,
    default_remittance,
    end_to_end_id,
    message_id,
    refund_amount,
    sepa_text,
)

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
SCHOOL_ACCOUNT = Debtor(name="École Saint-Joseph", iban="BE68539007547034", bic="BBRUBEBB")
AT = datetime(2026, 3, 16, 10, 30, tzinfo=ZoneInfo("Europe/Brussels"))
DAY = date(2026, 3, 17)


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def transfer(i: int = 1, cents: int = 1250, **over) -> CreditTransfer:
    base: dict[str, Any] = dict(
        end_to_end_id=end_to_end_id(f"0000000{i}-aaaa-4000-8000-000000000000"),
        amount_cents=cents,
        name="Marie Dupont",
        iban="BE71096123456769",
        remittance="Remboursement Repas Emma Dupont",
    )
    base.update(over)
    base.setdefault("bic", bic_of(str(base["iban"])))
    return CreditTransfer(**base)


def build(transfers, debtor: Debtor = SCHOOL_ACCOUNT) -> bytes:
    return build_pain001(debtor, transfers, msg_id="REMB0001", created_at=AT, execution_date=DAY)


def texts(xml: bytes, path: str) -> list[str]:
    return [e.text or "" for e in ET.fromstring(xml).findall(path, NS)]


# -- the IBAN, the holder, the amount ---------------------------------------------------------------


def test_an_iban_is_accepted_as_people_write_it_and_kept_compact():
    assert check_iban(" be71 0961 2345 6769 ") == "BE71096123456769"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "BE71096123456768", "BE7109612345676", "not an iban", "XX71096123456769"],
    ids=["empty", "blank", "bad-checksum", "too-short", "words", "no-country"],
)
def test_a_bad_iban_is_refused(text):
    with pytest.raises(ValueError, match="IBAN"):
        check_iban(text)


def test_an_iban_outside_the_sepa_zone_is_refused():
    with pytest.raises(ValueError, match="SEPA"):
        check_iban("SA0380000000608010167519")


def test_the_bic_is_derived_from_the_iban_when_the_registry_knows_the_bank():
    assert bic_of("BE71096123456769") == "GKCCBEBB"
    assert bic_of("BE68539007547034") == ""  # a bank code the registry does not list
    assert bic_of("nonsense") == ""


def test_the_holder_name_is_collapsed_and_bounded():
    assert check_holder("  Marie   Dupont ") == "Marie Dupont"
    for bad in ("", "   ", "x" * 71, "&&&"):
        with pytest.raises(ValueError, match=r"name|characters"):
            check_holder(bad)


def test_the_whole_balance_is_refunded_by_default():
    assert refund_amount(4250, None) == (4250, 0)


def test_part_of_the_balance_may_be_refunded():
    assert refund_amount(4250, 1000) == (1000, 3250)


def test_a_refund_never_takes_a_wallet_below_zero():
    with pytest.raises(ledger.InsufficientBalance):
        refund_amount(999, 1000)


def test_an_empty_wallet_has_nothing_to_refund():
    with pytest.raises(ledger.InsufficientBalance):
        refund_amount(0, None)


@pytest.mark.parametrize("cents", [0, -5, True])
def test_a_refund_of_no_money_is_refused(cents):
    with pytest.raises(ValueError, match="at least 1 cent"):
        refund_amount(1000, cents)


def test_a_refund_to_a_bank_account_debits_the_wallet_onto_refunds_payable():
    tx = ledger.refund_to_bank_account("w-1", "s-1", 800)
    assert tx.kind == ledger.KIND_REFUND and tx.method == "transfer"
    assert sum(p.amount_cents for p in tx.postings) == 0
    assert tx.amount_for(ledger.wallet_account("w-1")) == -800
    assert tx.amount_for(ledger.refunds_payable_account("s-1")) == 800
    with pytest.raises(ValueError, match="positive"):
        ledger.refund_to_bank_account("w-1", "s-1", 0)


def test_texts_are_written_in_the_sepa_character_set():
    assert sepa_text("Élodie & Noé – «Repas»\n", 140) == "Elodie Noe - Repas"
    assert sepa_text("x" * 200, 70) == "x" * 70
    assert default_remittance("Repas", "Zoé Lefèvre") == "Remboursement Repas Zoe Lefevre"


def test_ids_fit_the_schemas_35_characters():
    refund = "5c0e1a7e-0000-4000-8000-000000000001"
    assert end_to_end_id(refund) == refund.replace("-", "")
    assert len(message_id(refund)) <= 35 and message_id(refund).startswith("REMB")


# -- the credit-transfer file ---------------------------------------------------------------------------


def test_the_file_is_valid_against_the_pain_001_001_03_schema(schema):
    xml = build([transfer(1), transfer(2, 99, name="Zoé Lefèvre", iban="FR1420041010050500013M02606")])
    schema.validate(xml.decode())
    root = ET.fromstring(xml)
    assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}Document"


def test_the_file_pays_each_refund_from_the_schools_account(schema):
    xml = build([transfer(1, 1250), transfer(2, 99, name="Zoé Lefèvre", iban="FR1420041010050500013M02606")])
    assert texts(xml, ".//p:GrpHdr/p:MsgId") == ["REMB0001"]
    assert texts(xml, ".//p:GrpHdr/p:NbOfTxs") == ["2"]
    assert texts(xml, ".//p:GrpHdr/p:CtrlSum") == ["13.49"]
    assert texts(xml, ".//p:PmtInf/p:PmtMtd") == ["TRF"]
    assert texts(xml, ".//p:PmtInf/p:ReqdExctnDt") == ["2026-03-17"]
    assert texts(xml, ".//p:Dbtr/p:Nm") == ["Ecole Saint-Joseph"]
    assert texts(xml, ".//p:DbtrAcct/p:Id/p:IBAN") == ["BE68539007547034"]
    assert texts(xml, ".//p:DbtrAgt/p:FinInstnId/p:BIC") == ["BBRUBEBB"]
    assert texts(xml, ".//p:CdtTrfTxInf/p:Amt/p:InstdAmt") == ["12.50", "0.99"]
    assert texts(xml, ".//p:CdtTrfTxInf/p:Cdtr/p:Nm") == ["Marie Dupont", "Zoe Lefevre"]
    assert texts(xml, ".//p:CdtrAcct/p:Id/p:IBAN") == ["BE71096123456769", "FR1420041010050500013M02606"]
    assert texts(xml, ".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId") == [
        "00000001aaaa40008000000000000000",
        "00000002aaaa40008000000000000000",
    ]
    assert texts(xml, ".//p:CdtTrfTxInf/p:CdtrAgt/p:FinInstnId/p:BIC") == ["GKCCBEBB", "PSSTFRPP"]
    assert texts(xml, ".//p:InitgPty/p:Nm") == ["Ecole Saint-Joseph"]
    assert texts(xml, ".//p:GrpHdr/p:CreDtTm") == ["2026-03-16T10:30:00"]


def test_a_bank_without_a_known_bic_is_written_not_provided(schema):
    xml = build([transfer(1, bic="")], Debtor(name="École", iban="BE68539007547034"))
    schema.validate(xml.decode())
    assert texts(xml, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"]
    assert ET.fromstring(xml).find(".//p:CdtTrfTxInf/p:CdtrAgt", NS) is None  # optional for the creditor


def test_the_same_batch_makes_the_same_bytes():
    assert build([transfer(1), transfer(2)]) == build([transfer(1), transfer(2)])


def test_names_and_texts_outside_the_sepa_set_still_make_a_valid_file(schema):
    xml = build(
        [transfer(1, name="Ŝøphie <Ö'Brien> & fils " + "é" * 80, remittance="Solde «repas» 100 % — merci")]
    )
    schema.validate(xml.decode())
    (name,) = texts(xml, ".//p:Cdtr/p:Nm")
    assert len(name) <= 70 and name.startswith("Sophie O'Brien")


def test_a_file_of_no_transfer_is_refused():
    with pytest.raises(ValueError, match="at least one transfer"):
        build([])


# Each file is checked by sepaxml against the schema as it is built (a few tenths of a second).
@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=12))
def test_the_control_sum_is_the_sum_of_the_refunds(amounts):
    xml = build([transfer(i, cents) for i, cents in enumerate(amounts)])
    listed = [Decimal(a) for a in texts(xml, ".//p:CdtTrfTxInf/p:Amt/p:InstdAmt")]
    assert listed == [Decimal(a) / 100 for a in amounts]
    assert [Decimal(s) for s in texts(xml, ".//p:GrpHdr/p:CtrlSum")] == [Decimal(sum(amounts)) / 100]
    assert texts(xml, ".//p:GrpHdr/p:NbOfTxs") == [str(len(amounts))]
