"""camt.053 parser: references, parties, batch entries, dates, amounts, balances, keys, hostile XML."""

from __future__ import annotations

import re
from datetime import date

import pytest

from services.finance.domain.statements import CREDIT, DEBIT, FORMAT_CAMT053, parse_statement
from services.finance.tests.statement_builders import (
    BAD_OGM,
    DEFAULT_DAY,
    OGM,
    OGM_TEXT,
    OTHER_OGM,
    SCHOOL_IBAN,
    Mv,
    build_camt053,
    bulk_specs,
    refused,
)
from services.finance.tests.statement_builders import PARENT_IBAN as PARENT

NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def camt_doc(entries: str, *, ns: str = NS08, balances: str = "", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<Document xmlns="{ns}">\n<BkToCstmrStmt>\n'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-09-15T18:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt>\n<Id>S1</Id>\n<ElctrncSeqNb>12</ElctrncSeqNb>\n"
        f"<Acct><Id><IBAN>{SCHOOL_IBAN}</IBAN></Id></Acct>\n{balances}{entries}</Stmt>\n"
        "</BkToCstmrStmt>\n</Document>\n"
    ).encode()


def entry(
    body: str = "", *, amount: str = "37.10", ccy: str = "EUR", ind: str = "CRDT", extra: str = ""
) -> str:
    return (
        f'<Ntry>\n<Amt Ccy="{ccy}">{amount}</Amt>\n<CdtDbtInd>{ind}</CdtDbtInd>\n{extra}'
        "<BookgDt><Dt>2025-09-15</Dt></BookgDt>\n<ValDt><Dt>2025-09-16</Dt></ValDt>\n"
        f"<AcctSvcrRef>ASR-1</AcctSvcrRef>\n<NtryDtls>{body}</NtryDtls>\n</Ntry>\n"
    )


@pytest.mark.parametrize("version", ["001.02", "001.08", "001.13"])
def test_camt_structured_reference_scor_bba_gives_the_12_digits(version):
    parsed = parse_statement(
        build_camt053(
            [Mv(3710, ogm=OGM, counterparty_name="DUPONT MARIE", counterparty_iban=PARENT)], version=version
        )
    )
    assert parsed.format == FORMAT_CAMT053
    (moved,) = parsed.movements
    assert moved.structured_communication == OGM
    assert (moved.amount_cents, moved.direction) == (3710, CREDIT)
    assert (moved.counterparty_name, moved.counterparty_iban) == ("DUPONT MARIE", PARENT)
    assert moved.account_iban == SCHOOL_IBAN == parsed.account_iban
    assert moved.bank_reference == "ASR000000001"
    assert moved.dedup_key == f"camt053|{SCHOOL_IBAN}|ASR000000001|1"


@pytest.mark.parametrize("ref", [OGM_TEXT, f"{OGM[:3]}/{OGM[3:7]}/{OGM[7:]}", f" {OGM} "])
def test_camt_structured_reference_written_with_signs_is_read(ref):
    body = f"<TxDtls><RmtInf><Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
    (moved,) = parse_statement(camt_doc(entry(body))).movements
    assert moved.structured_communication == OGM


def test_camt_creditor_reference_rf_is_free_text():
    body = (
        "<TxDtls><RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
    )
    (moved,) = parse_statement(camt_doc(entry(body))).movements
    assert moved.structured_communication == ""
    assert moved.free_communication == "RF18539007547034"


def test_camt_wrong_check_digits_in_strd_is_no_structured_communication():
    body = f"<TxDtls><RmtInf><Strd><CdtrRefInf><Ref>{BAD_OGM}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
    (moved,) = parse_statement(camt_doc(entry(body))).movements
    assert moved.structured_communication == ""
    assert moved.free_communication == BAD_OGM


def test_camt_unstructured_text_with_plus_signs_gives_the_ogm():
    (moved,) = parse_statement(build_camt053([Mv(2500, free_text=f"Repas {OGM_TEXT} Lucas")])).movements
    assert moved.structured_communication == OGM
    assert moved.free_communication == f"Repas {OGM_TEXT} Lucas"


def test_camt_ogm_split_over_two_ustrd_lines_is_found():
    half = len(OGM_TEXT) // 2
    body = f"<TxDtls><RmtInf><Ustrd>Repas {OGM_TEXT[:half]}</Ustrd><Ustrd>{OGM_TEXT[half:]}</Ustrd></RmtInf></TxDtls>"
    (moved,) = parse_statement(camt_doc(entry(body))).movements
    assert moved.structured_communication == OGM


def test_camt_debit_names_the_creditor():
    (moved,) = parse_statement(
        build_camt053(
            [
                Mv(
                    15000,
                    direction="debit",
                    free_text="Facture 42",
                    counterparty_name="TRAITEUR SA",
                    counterparty_iban=PARENT,
                )
            ],
            opening_balance_cents=20000,
        )
    ).movements
    assert (moved.direction, moved.amount_cents) == (DEBIT, 15000)
    assert (moved.counterparty_name, moved.counterparty_iban) == ("TRAITEUR SA", PARENT)


def test_camt_reversal_keeps_the_original_payer():
    parsed = parse_statement(
        build_camt053(
            [
                Mv(3710, ogm=OGM),
                Mv(3710, direction="debit", ogm=OGM, reversal=True, counterparty_name="DUPONT"),
            ]
        )
    )
    paid, reversed_ = parsed.movements
    assert (paid.reversal, reversed_.reversal) == (False, True)
    assert reversed_.direction == DEBIT and reversed_.counterparty_name == "DUPONT"
    assert parsed.statements[0].closing_balance_cents == 0


@pytest.mark.parametrize("version", ["001.02", "001.08"])
def test_camt_batch_entry_gives_one_movement_per_transaction_detail(version):
    batch = (
        Mv(3710, ogm=OGM, counterparty_name="A", counterparty_iban=PARENT),
        Mv(2000, free_text=f"pour Emma {OTHER_OGM}", counterparty_name="B"),
        Mv(1290, ogm=OTHER_OGM, counterparty_name="C"),
    )
    parsed = parse_statement(build_camt053([batch], version=version))
    assert [(m.detail_number, m.amount_cents) for m in parsed.movements] == [
        ("1", 3710),
        ("2", 2000),
        ("3", 1290),
    ]
    assert [m.counterparty_name for m in parsed.movements] == ["A", "B", "C"]
    assert [m.structured_communication for m in parsed.movements] == [OGM, "", OTHER_OGM]
    assert len({m.dedup_key for m in parsed.movements}) == 3
    assert parsed.statements[0].movement_records == 1
    assert parsed.credit_total_cents == 7000


def test_camt_batch_details_that_do_not_add_up_are_refused_with_the_entry_line():
    body = (
        '<TxDtls><Amt Ccy="EUR">30.00</Amt></TxDtls>\n'
        '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">7.00</Amt></TxAmt></AmtDtls></TxDtls>'
    )
    error = refused(camt_doc(entry(body, amount="37.10")))
    assert error.line == 9  # the <Ntry> start tag
    assert "add up to 37.00 EUR" in error.reason and "37.10 EUR" in error.reason


def test_camt_batch_detail_without_amount_is_refused():
    body = '<TxDtls><Amt Ccy="EUR">30.00</Amt></TxDtls>\n<TxDtls><Refs><EndToEndId>X</EndToEndId></Refs></TxDtls>'
    error = refused(camt_doc(entry(body, amount="37.10")))
    assert error.line == 16 and "no amount" in error.reason  # the second <TxDtls>


def test_camt_single_detail_uses_the_entry_amount():
    body = '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">40.00</Amt></TxAmt></AmtDtls></TxDtls>'
    (moved,) = parse_statement(camt_doc(entry(body, amount="37.10"))).movements
    assert moved.amount_cents == 3710


def test_camt_entry_without_details_is_one_movement_with_its_additional_information():
    raw = entry("", extra=f"<AddtlNtryInf>VIREMENT {OGM_TEXT}</AddtlNtryInf>\n").replace(
        "<NtryDtls></NtryDtls>", ""
    )
    (moved,) = parse_statement(camt_doc(raw)).movements
    assert (moved.detail_number, moved.amount_cents) == ("0", 3710)
    assert moved.free_communication == f"VIREMENT {OGM_TEXT}"
    assert moved.structured_communication == OGM
    assert (moved.booked_on, moved.value_date) == (date(2025, 9, 15), date(2025, 9, 16))


def test_camt_booking_date_time_is_read_as_written():
    raw = entry().replace(
        "<BookgDt><Dt>2025-09-15</Dt></BookgDt>", "<BookgDt><DtTm>2025-09-14T23:30:00+02:00</DtTm></BookgDt>"
    )
    (moved,) = parse_statement(camt_doc(raw)).movements
    assert moved.booked_on == date(2025, 9, 14)


def test_camt_invalid_date_is_refused_with_its_line():
    raw = entry().replace("2025-09-16", "2025-02-30")
    error = refused(camt_doc(raw))
    assert error.line == 13 and "value date" in error.reason


def test_camt_entry_in_another_currency_is_refused():
    error = refused(camt_doc(entry(ccy="USD")))
    assert error.line == 10 and "USD" in error.reason and "euro" in error.reason


def test_camt_amount_with_a_fraction_of_a_cent_is_refused():
    error = refused(camt_doc(entry(amount="37.105")))
    assert error.line == 10 and "more than 2 decimals" in error.reason


def test_camt_amount_with_trailing_zero_decimals_is_exact():
    (moved,) = parse_statement(camt_doc(entry(amount="37.100"))).movements
    assert moved.amount_cents == 3710


@pytest.mark.parametrize("amount", ["-1.00", "1,00", "1e3", "", "١٢"])
def test_camt_amount_that_is_not_a_plain_decimal_is_refused(amount):
    assert "decimal amount" in refused(camt_doc(entry(amount=amount))).reason


def test_camt_balances_that_do_not_add_up_are_refused():
    data = build_camt053([Mv(3710)], opening_balance_cents=1000)
    assert parse_statement(data).statements[0].closing_balance_cents == 4710
    error = refused(data.replace(b">47.10<", b">47.11<"))
    assert "does not add up" in error.reason and "47.11 EUR" in error.reason


def test_camt_pending_entries_are_not_booked():
    pending = entry(extra="<Sts><Cd>PDNG</Cd></Sts>\n")
    booked = entry(extra="<Sts><Cd>BOOK</Cd></Sts>\n", amount="5.00").replace("ASR-1", "ASR-2")
    parsed = parse_statement(camt_doc(pending + booked))
    assert [m.amount_cents for m in parsed.movements] == [500]


def test_camt_without_bank_reference_hashes_the_entry_stably_and_keeps_twins_apart():
    specs = [Mv(3710, ogm=OGM, bank_reference=""), Mv(3710, ogm=OGM, bank_reference="")]
    compact = parse_statement(build_camt053(specs))
    pretty = parse_statement(build_camt053(specs, pretty=True))
    keys = [m.dedup_key for m in compact.movements]
    assert len(set(keys)) == 2
    assert all(re.fullmatch(rf"camt053\|{SCHOOL_IBAN}\|hash:[0-9a-f]{{32}}:[12]\|1", k) for k in keys)
    assert [m.dedup_key for m in pretty.movements] == keys


def test_camt_identical_entries_without_any_reference_stay_two_movements():
    twin = entry("<TxDtls><RmtInf><Ustrd>Repas</Ustrd></RmtInf></TxDtls>").replace(
        "<AcctSvcrRef>ASR-1</AcctSvcrRef>\n", ""
    )
    parsed = parse_statement(camt_doc(twin + twin))
    first, second = (m.dedup_key for m in parsed.movements)
    assert first.endswith(":1|1") and second.endswith(":2|1") and first[:-4] == second[:-4]
    assert [m.dedup_key for m in parse_statement(camt_doc(twin + twin)).movements] == [first, second]


def test_camt_statement_number_and_informative_fields():
    parsed = parse_statement(build_camt053([Mv(100)], duplicate=True))
    assert parsed.statements[0].statement_number == "1"  # ElctrncSeqNb
    assert parsed.statements[0].holder_name == "ECOLE COMMUNALE DE TEST"
    assert parsed.created_on == DEFAULT_DAY
    assert parsed.duplicate is True


def test_camt_billion_laughs_is_refused():
    prolog = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    )
    data = camt_doc(entry(body="<TxDtls><RmtInf><Ustrd>&lol3;</Ustrd></RmtInf></TxDtls>"), prolog=prolog)
    error = refused(data)
    assert error.line == 2 and "document type" in error.reason


def test_camt_external_entity_is_refused():
    prolog = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    data = camt_doc(entry(body="<TxDtls><RmtInf><Ustrd>&xxe;</Ustrd></RmtInf></TxDtls>"), prolog=prolog)
    assert "refused" in refused(data).reason


def test_camt_malformed_xml_is_refused_with_its_line():
    data = camt_doc(entry()).replace(b"37.10</Amt>", b"37.10</Amount>", 1)
    error = refused(data)
    assert error.line == 10 and "malformed" in error.reason and "mismatched tag" in error.reason


def test_other_iso20022_messages_are_refused():
    for ns in (
        "urn:iso:std:iso:20022:tech:xsd:camt.052.001.08",
        "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
    ):
        error = refused(camt_doc(entry(), ns=ns))
        assert error.line == 2 and "not a camt.053" in error.reason


def test_camt_statement_without_account_is_refused():
    data = camt_doc(entry()).replace(f"<Acct><Id><IBAN>{SCHOOL_IBAN}</IBAN></Id></Acct>".encode(), b"")
    error = refused(data)
    assert error.line == 5 and "account" in error.reason


def test_five_thousand_camt_movements_parse_with_exact_totals():
    specs = bulk_specs(5_000)
    parsed = parse_statement(build_camt053(specs))
    assert len(parsed.movements) == 5_000
    assert parsed.credit_total_cents == sum(s.amount_cents for s in specs if s.direction == "credit")
    assert sum(1 for m in parsed.movements if m.structured_communication) == 4_000
    assert len({m.dedup_key for m in parsed.movements}) == 5_000


def test_camt_naming_an_encoding_python_lacks_is_refused_as_a_bad_statement():
    error = refused(b'<?xml version="1.0" encoding="UTF68"?><Document/>')
    assert error.line == 1 and "encoding" in str(error)
