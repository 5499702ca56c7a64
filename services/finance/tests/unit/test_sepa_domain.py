"""SEPA direct debit's pure rules (domain/sepa.py): the parent's IBAN, the identifiers finance makes,
the sequence type, what a return reason means, the automatic top-up's limits, the mandate text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.finance.domain import sepa
from services.finance.domain.school_settings import validate_creditor_id

SEPA_ID = re.compile(r"[A-Z0-9-]{1,35}")


def test_a_belgian_iban_is_compacted_and_its_bic_derived():
    account = sepa.check_debtor_iban(" be71 0961 2345 6769 ")
    assert (account.iban, account.bic) == ("BE71096123456769", "GKCCBEBB")
    assert sepa.check_debtor_iban("NL91ABNA0417164300").bic == "ABNANL2A"
    assert sepa.check_debtor_iban("BE68539007547034").bic == ""  # a bank schwifty does not know


@pytest.mark.parametrize(
    "text",
    ["", "   ", "BE71096123456760", "BE7109612345676", "ZZ71096123456769", "BR1800360305000010009795493C1"],
)
def test_bad_or_non_sepa_ibans_are_refused(text):
    with pytest.raises(ValueError, match="IBAN"):
        sepa.check_debtor_iban(text)


@pytest.mark.parametrize("good", ["BE69ZZZ050D000000008", "be69 zzz 050d 000000008", "DE98ZZZ09999999999"])
def test_creditor_ids_are_checked(good):
    assert validate_creditor_id(good) == "".join(good.split()).upper()


@pytest.mark.parametrize("bad", ["BE68ZZZ0203201340", "BE69ZZZ050D000000009", "ZZ", "BE69ZZZ" + "1" * 40])
def test_bad_creditor_ids_are_refused(bad):
    with pytest.raises(ValueError, match="not a SEPA creditor identifier"):
        validate_creditor_id(bad)


def test_identifiers_fit_the_sepa_character_set_and_35_characters():
    at = datetime(2026, 12, 14, 10, 5, 9, tzinfo=UTC)
    refs = {sepa.mandate_reference(at) for _ in range(500)}
    assert len(refs) == 500
    for ref in refs:
        assert SEPA_ID.fullmatch(ref) and ref.startswith("CRT-261214-")
    msg = sepa.message_id(at)
    assert SEPA_ID.fullmatch(msg) and msg.startswith("DD261214100509")
    assert SEPA_ID.fullmatch(sepa.payment_information_id(msg, sepa.RCUR))
    e2e = sepa.end_to_end_id()
    assert SEPA_ID.fullmatch(e2e) and len(e2e) == 33


def test_a_message_id_is_found_in_a_banks_text_with_its_block():
    msg = sepa.message_id(datetime(2026, 12, 14, 10, 5, 9, tzinfo=UTC))
    assert sepa.find_message_id(f"SEPA DD {msg.lower()}") == (msg, "")
    assert sepa.find_message_id("", f"/{msg}-RCUR/") == (msg, "RCUR")
    wrapped = f"COLLECTE {msg[:10]} {msg[10:]}-FR ST"
    assert sepa.find_message_id(wrapped) == (msg, "FRST")
    assert sepa.find_message_id("VIREMENT +++108/0681/71862+++") == ("", "")


def test_sequence_types_and_return_reasons():
    assert sepa.sequence_type(False) == "FRST" and sepa.sequence_type(True) == "RCUR"
    for reason in ("MD01", "md07", "AC04", "AC01"):
        assert sepa.ends_mandate(reason)
    for reason in ("AM04", "MS02", "MD06", "", "SL01"):
        assert not sepa.ends_mandate(reason)
    assert sepa.R_TYPES["2"] == "return"


def test_batch_status():
    assert sepa.batch_status(2, 0, 0) == "created"
    assert sepa.batch_status(1, 500, 0) == "created"
    assert sepa.batch_status(0, 500, 0) == "collected"
    assert sepa.batch_status(0, 500, 200) == "partially_returned"


def test_auto_top_up_limits():
    assert sepa.auto_top_up_errors(0, 100) == {}
    assert sepa.auto_top_up_errors(100_000, 50_000) == {}
    assert set(sepa.auto_top_up_errors(-1, 99)) == {"threshold_cents", "amount_cents"}
    assert set(sepa.auto_top_up_errors(100_001, 50_001)) == {"threshold_cents", "amount_cents"}


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_the_mandate_text_names_the_school_and_its_creditor_id(language):
    text = sepa.mandate_text(
        language,
        reference="CRT-261214-ABCDEFGHJK",
        school="École Saint-Joseph",
        creditor_id="BE69ZZZ050D000000008",
        iban_masked="BE71 **** **** 6769",
        holder="Marie Dupont",
    )
    for part in (
        "École Saint-Joseph",
        "BE69ZZZ050D000000008",
        "CRT-261214-ABCDEFGHJK",
        "6769",
        "Marie Dupont",
    ):
        assert part in text
    assert "8" in text  # the 8 weeks a refund may be asked


def test_texts_as_a_file_carries_them():
    assert sepa.sepa_text("Dupönt & Fils — «repas»", 70) == "Dupont Fils repas"
    assert sepa.sepa_text("x" * 100, 70) == "x" * 70
    assert sepa.mask_iban("BE71096123456769") == "BE71 **** **** 6769"
