"""Bank statement parsers: CODA (real Belgian bank files and built ones) and camt.053.

The facts asserted about the real samples were read from the files by hand (record by record), not
copied from the parser's output.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from services.finance.domain.statements import (
    CREDIT,
    DEBIT,
    FORMAT_CAMT053,
    FORMAT_CODA,
    ParsedStatement,
    StatementError,
    StatementMovement,
    parse_statement,
)
from services.finance.tests.statement_builders import (
    DEFAULT_DAY,
    SCHOOL_IBAN,
    Mv,
    build_camt053,
    build_coda,
    bulk_specs,
    make_ogm,
)

SAMPLES = Path(os.environ.get("CODA_SAMPLES_DIR", "/work/shared/reference/coda-samples"))
OGM = make_ogm(1080681718)  # 108068171862
OGM_TEXT = f"+++{OGM[:3]}/{OGM[3:7]}/{OGM[7:]}+++"
OTHER_OGM = make_ogm(1234567890)
BAD_OGM = OGM[:10] + f"{(int(OGM[10:]) % 97) + 1:02d}"  # same base, wrong check digits
PARENT = "BE71096123456769"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"real CODA sample {path} not available (set CODA_SAMPLES_DIR)")
    return path.read_bytes()


def records(data: bytes) -> list[bytes]:
    return data.splitlines()


def replace_record(data: bytes, line: int, new: bytes) -> bytes:
    lines = data.split(b"\r\n") if b"\r\n" in data else data.split(b"\n")
    lines[line - 1] = new
    return (b"\r\n" if b"\r\n" in data else b"\n").join(lines)


def patch(data: bytes, line: int, start: int, text: bytes) -> bytes:
    """Overwrite ``text`` at Python slice ``start`` of record ``line`` (1-based)."""
    rec = records(data)[line - 1]
    assert len(rec) == 128
    return replace_record(data, line, rec[:start] + text + rec[start + len(text) :])


def refused(data: bytes) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    return caught.value


def by_key(parsed: ParsedStatement) -> dict[tuple[str, str, str], StatementMovement]:
    return {(m.statement_number, m.sequence, m.detail_number): m for m in parsed.movements}


# --- real CODA files ---------------------------------------------------------------------------------


def test_single_statement_sample_reads_account_holder_dates_and_balances():
    parsed = parse_statement(sample("Coda_v2_3_single_statement.txt"))
    assert parsed.format == FORMAT_CODA
    assert parsed.statement_count == 1
    assert parsed.account_iban == "BE86407051416150"
    assert parsed.created_on == date(2009, 3, 5)
    assert parsed.duplicate is False
    (stmt,) = parsed.statements
    assert stmt.statement_number == "042"
    assert stmt.currency == "EUR"
    assert stmt.holder_name == "STORA ENSO LANGERBRUGGE NV"
    assert (stmt.opening_balance_cents, stmt.closing_balance_cents) == (0, 0)
    assert (stmt.opening_date, stmt.closing_date) == (date(2009, 3, 4), date(2009, 3, 5))


def test_single_statement_sample_has_32_movement_records_17_booked_and_3_information_records():
    # By hand: 32 records 2.1, of which 17 have detail number 0000 (sequences 0001-0017); sequence
    # 0016 is a bank total (type 2) with 1 detail (type 6), 0017 a bank total with 14 details.
    # 3 records 3.1 (after movements 0010, 0011, 0012).
    parsed = parse_statement(sample("Coda_v2_3_single_statement.txt"))
    (stmt,) = parsed.statements
    assert stmt.movement_records == 32
    assert stmt.information_records == 3
    # 15 plain movements + the 1 detail of 0016 + the 14 details of 0017 (never the two totals)
    assert len(parsed.movements) == 30 == stmt.movement_count
    keys = [(m.sequence, m.detail_number) for m in parsed.movements]
    assert keys[:15] == [(f"{seq:04d}", "0000") for seq in range(1, 16)]
    assert keys[15:] == [("0016", "0001")] + [("0017", f"{d:04d}") for d in range(1, 15)]


def test_single_statement_sample_books_bank_totals_as_their_details_matching_the_trailer():
    parsed = parse_statement(sample("Coda_v2_3_single_statement.txt"))
    moves = by_key(parsed)
    assert ("042", "0016", "0000") not in moves and ("042", "0017", "0000") not in moves
    # 0016/0000 credits 62 095,010 and its only detail 0016/0001 credits the same
    assert moves["042", "0016", "0001"].amount_cents == 6209501
    assert moves["042", "0016", "0001"].direction == CREDIT
    # 0017/0000 debits 2 608,000: its 14 details add up to it
    details = [m for m in parsed.movements if m.sequence == "0017"]
    assert len(details) == 14 and {m.direction for m in details} == {DEBIT}
    assert sum(m.amount_cents for m in details) == 260800
    # trailer: debit sum 000000064703010 and credit sum 000000064703010 (64 703,01 EUR each)
    assert parsed.credit_total_cents == 6470301
    assert parsed.debit_total_cents == 6470301


def test_single_statement_sample_movement_fields():
    moves = by_key(parse_statement(sample("Coda_v2_3_single_statement.txt")))
    first = moves["042", "0001", "0000"]
    assert first.account_iban == "BE86407051416150"
    assert first.bank_reference == "SWJVZ0BN6 BKTBBNPOSKZ"
    assert (first.amount_cents, first.direction) == (2000, CREDIT)
    assert (first.booked_on, first.value_date) == (date(2009, 3, 5), date(2009, 3, 5))
    # structured communication type 114 (card payment details): no OGM, kept as free text
    assert first.structured_communication == ""
    assert "LANGERBRUGGE GENT" in first.free_communication
    assert first.reversal is False

    card = moves["042", "0010", "0000"]  # direct debit (type 107) to AMERICAN EXPRESS, 62 095,01
    assert (card.amount_cents, card.direction) == (6209501, DEBIT)
    assert card.counterparty_name == "AMERICAN EXPRESS"
    assert card.counterparty_iban == ""

    wage = moves["042", "0011", "0000"]  # free communication over 2.1 and 2.2, Belgian BBAN payer
    assert (wage.amount_cents, wage.direction) == (14830, CREDIT)
    assert wage.free_communication == "ONG. SG 20-4203595 LOONVERLIES HAMERLYNCK TONY"
    assert wage.counterparty_name == "VIVIUM"
    assert wage.counterparty_iban == "BE42310180203454"  # BBAN 310-1802034-54 as IBAN


def test_multi_statement_sample_holds_two_statements_and_the_first_is_the_single_one():
    single = parse_statement(sample("Coda_v2_3_single_statement.txt"))
    multi = parse_statement(sample("Coda_v2_3_multi_statements.txt"))
    assert multi.statement_count == 2
    assert multi.accounts == ("BE86407051416150", "BE12341702625236")
    first = [m for m in multi.movements if m.account_iban == "BE86407051416150"]
    assert tuple(first) == single.movements
    assert multi.statements[0] == single.statements[0]


def test_multi_statement_sample_second_statement_adds_up_and_books_a_total_without_details():
    multi = parse_statement(sample("Coda_v2_3_multi_statements.txt"))
    second = multi.statements[1]
    assert second.statement_number == "053"
    assert second.holder_name == "BVBA totototototototototoo"
    assert (second.opening_balance_cents, second.closing_balance_cents) == (1933809, 1080781)
    assert second.movement_records == 11 and second.movement_count == 11
    moves = [m for m in multi.movements if m.statement_number == "053"]
    credits = sum(m.amount_cents for m in moves if m.direction == CREDIT)
    debits = sum(m.amount_cents for m in moves if m.direction == DEBIT)
    assert (credits, debits) == (23959, 876987)  # trailer: 239,590 and 8 769,870
    assert second.opening_balance_cents + credits - debits == second.closing_balance_cents
    # 0003 is a customer total (type 1) that has no detail record: the total itself is booked
    total = by_key(multi)["053", "0003", "0000"]
    assert (total.amount_cents, total.direction) == (556832, DEBIT)


def test_globalisation_sample_books_details_or_total_never_both():
    parsed = parse_statement(sample("Coda_v2_3_globalisation.txt"))
    (stmt,) = parsed.statements
    assert stmt.account_iban == "BE12341676096039"
    assert stmt.movement_records == 5  # 4 with detail 0000 + the detail 0003/0002
    keys = [(m.sequence, m.detail_number) for m in parsed.movements]
    assert keys == [("0001", "0000"), ("0002", "0000"), ("0003", "0002"), ("0004", "0000")]
    detail = parsed.movements[2]
    assert (detail.amount_cents, detail.direction) == (5000000, CREDIT)  # 50 000,000 like its total
    # trailer: credits 000000276270000, debits 000000000544300
    assert parsed.credit_total_cents == 27627000
    assert parsed.debit_total_cents == 54430
    # old balance is a debit of 455,170; new balance 275 270,530
    assert (stmt.opening_balance_cents, stmt.closing_balance_cents) == (-45517, 27527053)
    assert stmt.opening_balance_cents + parsed.credit_total_cents - parsed.debit_total_cents == 27527053


def test_globalisation_sample_with_lf_line_ends_and_no_final_newline_is_a_duplicate():
    data = sample("Coda_v2_3_globalisation.txt")
    assert b"\r\n" not in data and not data.endswith(b"\n")
    parsed = parse_statement(data)
    assert parsed.duplicate is True  # header [16] == "D"
    assert parsed.created_on == date(2015, 1, 2)
    first = parsed.movements[0]
    assert first.counterparty_iban == "BE12201702625236"
    assert first.free_communication.startswith("REDEVANCE JAN-NOV")


def test_foreign_account_sample_parses_with_the_account_as_given():
    parsed = parse_statement(sample("Coda_foreign_account.txt"))
    (stmt,) = parsed.statements
    assert parsed.account_iban == "FR1234567890240924002304825"  # structure 3: foreign IBAN
    assert stmt.statement_number == "024"
    assert (stmt.opening_balance_cents, stmt.closing_balance_cents) == (44339070, 44334630)
    assert [(m.amount_cents, m.direction) for m in parsed.movements] == [(3700, DEBIT), (740, DEBIT)]
    assert {m.bank_reference for m in parsed.movements} == {""}  # the bank leaves it blank
    assert parsed.movements[0].free_communication == "TRANS : NMSC / INFO : ELYS PC ABONNEMENT"
    assert stmt.information_records == 1  # and the free message (4) after the new balance is accepted


def test_faulty_version_sample_is_refused_on_line_1():
    error = refused(sample("Coda_faulty_version.txt"))
    assert error.line == 1
    assert "version" in error.reason and "'5'" in error.reason
    assert str(error).startswith("line 1: ")


def test_sample_dedup_keys_are_unique_and_stable():
    for name in (
        "Coda_v2_3_single_statement.txt",
        "Coda_v2_3_multi_statements.txt",
        "Coda_v2_3_globalisation.txt",
        "Coda_foreign_account.txt",
    ):
        data = sample(name)
        keys = [m.dedup_key for m in parse_statement(data).movements]
        assert len(set(keys)) == len(keys), name
        assert keys == [m.dedup_key for m in parse_statement(data).movements]
    first = parse_statement(sample("Coda_v2_3_single_statement.txt")).movements[0]
    assert first.dedup_key == "coda|BE86407051416150|042|0001|0000|SWJVZ0BN6 BKTBBNPOSKZ|2009-03-05"


# --- corrupted real files: refused whole, with the line and a reason ---------------------------------


def test_record_of_wrong_length_is_refused_with_its_line():
    data = sample("Coda_v2_3_single_statement.txt")
    error = refused(replace_record(data, 5, records(data)[4][:127]))
    assert error.line == 5 and "128" in error.reason and "127" in error.reason


def test_record_with_a_trailing_space_is_refused():
    # every record of the real samples is exactly 128 characters and ends with its link code
    data = sample("Coda_v2_3_single_statement.txt")
    assert {len(r) for r in records(data)} == {128}
    error = refused(replace_record(data, 4, records(data)[3] + b" "))
    assert error.line == 4 and "129" in error.reason


def test_amount_with_a_letter_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 3, 32, b"00000000000X000"))
    assert error.line == 3 and "amount" in error.reason and "15 digits" in error.reason


def test_amount_with_a_thousandth_of_a_euro_is_refused_not_rounded():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 3, 32, b"000000000020001"))
    assert error.line == 3 and "thousandth" in error.reason


def test_wrong_trailer_credit_sum_is_refused_on_the_trailer_line():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 93, 37, b"000000064703020"))
    assert error.line == 93 and "credit sum" in error.reason
    assert "64703.02 EUR" in error.reason and "64703.01 EUR" in error.reason


def test_wrong_trailer_debit_sum_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 93, 22, b"000000064703000"))
    assert error.line == 93 and "debit sum" in error.reason


def test_wrong_trailer_record_count_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 93, 16, b"000090"))
    assert error.line == 93 and "90 records" in error.reason and "91" in error.reason


def test_changed_movement_amount_breaks_the_balance_and_is_refused():
    # 0001 credits 30,00 instead of 20,00: the new balance (0) no longer follows
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 3, 32, b"000000000030000"))
    assert error.line == 92 and "does not add up" in error.reason


def test_wrong_new_balance_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 92, 41, b"0000000000000100"))
    assert error.line == 92 and "new balance is 0.10 EUR" in error.reason


def test_truncated_files_are_refused():
    data = sample("Coda_v2_3_single_statement.txt")
    lines = data.split(b"\r\n")
    without_trailer = b"\r\n".join(lines[:92]) + b"\r\n"
    error = refused(without_trailer)
    assert error.line == 93 and "truncated" in error.reason
    without_balance = b"\r\n".join(lines[:91]) + b"\r\n"
    error = refused(without_balance)
    assert error.line == 92 and "truncated" in error.reason
    cut_in_a_record = data[: len(b"\r\n".join(lines[:40])) + 2 + 60]
    error = refused(cut_in_a_record)
    assert error.line == 41 and "128" in error.reason


def test_invalid_value_date_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 3, 47, b"320309"))
    assert error.line == 3 and "value date" in error.reason


def test_byte_outside_windows_1252_is_refused_with_its_line():
    data = sample("Coda_v2_3_single_statement.txt")
    error = refused(patch(data, 7, 70, b"\x81"))
    assert error.line == 7 and "0x81" in error.reason


def test_continuation_record_of_another_movement_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 4, 2, b"0002"))
    assert error.line == 4 and "does not continue" in error.reason


def test_unknown_record_type_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 5, 0, b"5"))
    assert error.line == 5 and "unknown" in error.reason


def test_records_after_the_trailer_without_a_header_are_refused():
    data = sample("Coda_v2_3_single_statement.txt")
    error = refused(data + records(data)[1] + b"\r\n")
    assert error.line == 94 and "header" in error.reason


def test_non_euro_account_is_refused():
    error = refused(patch(sample("Coda_v2_3_single_statement.txt"), 2, 39, b"USD"))
    assert error.line == 2 and "USD" in error.reason


def test_a_file_is_refused_whole_even_when_its_first_statement_is_fine():
    data = sample("Coda_v2_3_multi_statements.txt")
    error = refused(patch(data, 137, 37, b"000000000239600"))
    assert error.line == 137


# --- built CODA files --------------------------------------------------------------------------------


def one(data: bytes) -> StatementMovement:
    (movement,) = parse_statement(data).movements
    return movement


def test_coda_structured_communication_101_gives_the_12_digits():
    moved = one(build_coda([Mv(3710, ogm=OGM, counterparty_name="DUPONT MARIE", counterparty_iban=PARENT)]))
    assert moved.structured_communication == OGM
    assert moved.free_communication == ""
    assert (moved.counterparty_name, moved.counterparty_iban) == ("DUPONT MARIE", PARENT)
    assert (moved.amount_cents, moved.direction, moved.booked_on) == (3710, CREDIT, DEFAULT_DAY)
    assert moved.account_iban == SCHOOL_IBAN


def test_coda_101_with_wrong_check_digits_is_free_text():
    moved = one(build_coda([Mv(3710, ogm=BAD_OGM)]))
    assert moved.structured_communication == ""
    assert moved.free_communication == BAD_OGM


def test_coda_101_with_ten_zeros_is_not_a_structured_communication():
    moved = one(build_coda([Mv(3710, ogm="000000000097")]))
    assert moved.structured_communication == ""


@pytest.mark.parametrize("kind", ["102", "105", "107", "127"])
def test_coda_other_structured_types_are_kept_as_free_text(kind):
    moved = one(build_coda([Mv(3710, ogm=OGM, structured_type=kind)]))
    assert moved.structured_communication == ""
    assert moved.free_communication == OGM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Repas septembre {OGM_TEXT} Lucas", OGM),
        (f"Repas {OGM_TEXT.replace('+', '*')}", OGM),
        (f"Repas +++ {OGM[:3]} / {OGM[3:7]} / {OGM[7:]} +++", OGM),
        (f"{OGM_TEXT} et {OGM_TEXT}", OGM),
        (f"+++{BAD_OGM[:3]}/{BAD_OGM[3:7]}/{BAD_OGM[7:]}+++", ""),
        (f"{OGM_TEXT} {'+++' + OTHER_OGM[:3] + '/' + OTHER_OGM[3:7] + '/' + OTHER_OGM[7:] + '+++'}", ""),
        (f"Repas {OGM}", ""),  # bare digits in free text are not a structured communication
        ("Repas +++000/0000/00097+++", ""),
    ],
)
def test_coda_free_text_holding_one_valid_ogm_gives_it(text, expected):
    moved = one(build_coda([Mv(2500, free_text=text)]))
    assert moved.structured_communication == expected
    assert moved.free_communication == " ".join(text.split())


def test_coda_free_text_over_three_records_is_read_whole():
    text = ("Paiement classe verte et repas de septembre pour Lucas et Emma Dupont " * 3)[:149]
    text = text[:148] + "Z"
    data = build_coda([Mv(9900, free_text=text, counterparty_name="DUPONT")])
    assert [r[:2] for r in records(data)][2:5] == [b"21", b"22", b"23"]
    assert one(data).free_communication == " ".join(text.split())


def test_coda_ogm_split_across_records_is_found():
    text = "x" * 45 + OGM_TEXT + " merci"  # the reference straddles records 2.1 and 2.2
    assert one(build_coda([Mv(2500, free_text=text)])).structured_communication == OGM


def test_coda_debit_and_reversals():
    parsed = parse_statement(
        build_coda(
            [
                Mv(1500, direction="debit", free_text="Traiteur", counterparty_name="TRAITEUR SA"),
                Mv(3710, direction="debit", ogm=OGM, reversal=True),  # code 49: a credit cancelled
                Mv(800, reversal=True),  # code 99
            ],
            opening_balance_cents=10_000,
        )
    )
    debit, cancelled, corrected = parsed.movements
    assert (debit.direction, debit.amount_cents, debit.reversal) == (DEBIT, 1500, False)
    assert (cancelled.direction, cancelled.reversal, cancelled.structured_communication) == (DEBIT, True, OGM)
    assert (corrected.direction, corrected.reversal) == (CREDIT, True)
    assert parsed.statements[0].closing_balance_cents == 10_000 - 1500 - 3710 + 800


def test_coda_customer_globalisation_books_the_details_not_the_total():
    batch = (Mv(3710, ogm=OGM, counterparty_name="A"), Mv(2000, ogm=OTHER_OGM, counterparty_name="B"))
    parsed = parse_statement(build_coda([Mv(500), batch, Mv(100, direction="debit")]))
    keys = [(m.sequence, m.detail_number, m.amount_cents) for m in parsed.movements]
    assert keys == [
        ("0001", "0000", 500),
        ("0002", "0001", 3710),
        ("0002", "0002", 2000),
        ("0003", "0000", 100),
    ]
    assert [m.structured_communication for m in parsed.movements[1:3]] == [OGM, OTHER_OGM]
    assert parsed.credit_total_cents == 500 + 5710 and parsed.debit_total_cents == 100


def test_coda_details_that_do_not_add_up_leave_the_total_booked():
    data = build_coda([(Mv(3710), Mv(2000))])
    # lower the second detail (record 2.1 on line 5): details are not in the balance nor the trailer
    changed = patch(data, 5, 32, b"000000000019000")
    assert records(changed)[4][:10] == b"2100010002"
    parsed = parse_statement(changed)
    (total,) = parsed.movements
    assert (total.sequence, total.detail_number, total.amount_cents) == ("0001", "0000", 5710)


def test_coda_detail_without_its_total_is_refused():
    data = build_coda([Mv(100), (Mv(3710), Mv(2000))])
    lines = data.split(b"\r\n")
    del lines[3]  # the 2.1 record 0002/0000 of the batch (0001/0000 has no 2.2: lines 1-3 are 0, 1, 21)
    error = refused(b"\r\n".join(lines))
    assert "does not follow its movement 0002/0000" in error.reason


def test_coda_lf_and_crlf_files_read_the_same():
    specs = [Mv(3710, ogm=OGM, counterparty_name="DUPONT"), Mv(1200, free_text="Repas")]
    crlf = parse_statement(build_coda(specs))
    lf = parse_statement(build_coda(specs, line_end="\n"))
    assert crlf == lf


def test_coda_belgian_bban_account_is_given_as_its_iban():
    parsed = parse_statement(build_coda([Mv(100)], account="539007547034"))
    assert parsed.account_iban == SCHOOL_IBAN  # BE68 539-0075470-34


def test_coda_belgian_bban_with_wrong_check_digits_is_kept_as_given():
    parsed = parse_statement(build_coda([Mv(100)], account="539007547035"))
    assert parsed.account_iban == "539007547035"


def test_coda_counterparty_bban_is_given_as_its_iban_only_when_its_check_digits_are_right():
    valid, wrong = parse_statement(
        build_coda([Mv(100, counterparty_iban="096123456769"), Mv(200, counterparty_iban="096123456760")])
    ).movements
    assert valid.counterparty_iban == PARENT  # BE71 096-1234567-69
    assert wrong.counterparty_iban == "096123456760"


def test_coda_foreign_account_built_with_structure_3():
    parsed = parse_statement(build_coda([Mv(100)], account="NL91ABNA0417164300"))
    assert records(build_coda([Mv(100)], account="NL91ABNA0417164300"))[1][:2] == b"13"
    assert parsed.account_iban == "NL91ABNA0417164300"


def test_coda_zero_amount_movement_is_left_out():
    data = build_coda([Mv(100), Mv(1)])
    zeroed = patch(data, 4, 32, b"000000000000000")  # the second 2.1 record (no 2.2/2.3 records)
    zeroed = patch(zeroed, 5, 42, b"000000000001000")  # new balance 1,00
    zeroed = patch(zeroed, 6, 37, b"000000000001000")  # trailer credit sum 1,00
    parsed = parse_statement(zeroed)
    assert [m.amount_cents for m in parsed.movements] == [100]


def test_coda_twin_payments_have_distinct_keys_and_a_duplicate_file_the_same_keys():
    twins = [Mv(3710, ogm=OGM, bank_reference=""), Mv(3710, ogm=OGM, bank_reference="")]
    original = parse_statement(build_coda(twins))
    again = parse_statement(build_coda(twins, duplicate=True))
    keys = [m.dedup_key for m in original.movements]
    assert len(set(keys)) == 2
    assert again.duplicate is True and original.duplicate is False
    assert [m.dedup_key for m in again.movements] == keys


def test_coda_same_statement_number_next_year_does_not_collide():
    this_year = parse_statement(build_coda([Mv(100, bank_reference="")]))
    next_year = parse_statement(
        build_coda([Mv(100, bank_reference="", booked_on=date(2026, 9, 15))], created_on=date(2026, 9, 15))
    )
    assert this_year.movements[0].dedup_key != next_year.movements[0].dedup_key


def test_coda_concatenated_files_give_all_statements():
    data = build_coda([Mv(100)], statement_number=7) + build_coda(
        [Mv(200, direction="debit")], statement_number=8, opening_balance_cents=100
    )
    parsed = parse_statement(data)
    assert [s.statement_number for s in parsed.statements] == ["007", "008"]
    assert [s.closing_balance_cents for s in parsed.statements] == [100, -100]


def test_coda_movement_outside_a_statement_is_refused():
    data = build_coda([Mv(100)])
    lines = data.split(b"\r\n")
    del lines[1]  # the old balance record
    error = refused(b"\r\n".join(lines))
    assert error.line == 2 and "outside a statement" in error.reason


def test_coda_mismatched_statement_numbers_are_refused():
    data = build_coda([Mv(100)], statement_number=4)
    error = refused(patch(data, 4, 1, b"005"))
    assert error.line == 4 and "statement 005" in error.reason


def test_fifty_thousand_coda_movements_parse_with_exact_totals():
    specs = bulk_specs(50_000)
    parsed = parse_statement(build_coda(specs))
    assert len(parsed.movements) == 50_000
    assert parsed.statement_count == 6  # 9,999 sequences per statement at most
    assert parsed.credit_total_cents == sum(s.amount_cents for s in specs if s.direction == "credit")
    assert parsed.debit_total_cents == sum(s.amount_cents for s in specs if s.direction == "debit")
    assert sum(1 for m in parsed.movements if m.structured_communication) == 40_000
    assert len({m.dedup_key for m in parsed.movements}) == 50_000


# --- camt.053 ----------------------------------------------------------------------------------------

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


# --- detection by content ----------------------------------------------------------------------------


def test_format_is_detected_by_content():
    coda = build_coda([Mv(100, free_text="<Document> not xml")])
    camt = build_camt053([Mv(100)])
    assert parse_statement(coda).format == FORMAT_CODA
    assert parse_statement(camt).format == FORMAT_CAMT053
    assert parse_statement(b"\xef\xbb\xbf" + camt).format == FORMAT_CAMT053
    assert parse_statement(b"\n  " + camt[camt.index(b"<Document") :]).format == FORMAT_CAMT053
    assert parse_statement(bytearray(coda)).format == FORMAT_CODA


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n...", b'{"movements": []}', b"Date;Montant;Communication\n", b"1" + b" " * 127],
)
def test_other_content_is_refused(data):
    error = refused(data)
    assert error.line == 1 and "neither a CODA file" in error.reason


def test_empty_file_is_refused():
    error = refused(b"  \r\n")
    assert error.line is None and str(error) == "the file is empty"


def test_text_starting_with_zero_but_not_coda_is_refused_on_line_1():
    error = refused(b"0;2025-09-15;37,10\n")
    assert error.line == 1 and "128" in error.reason


def test_statement_error_is_a_value_error_with_line_and_reason():
    error = StatementError(7, "bad")
    assert isinstance(error, ValueError)
    assert (error.line, error.reason, str(error)) == (7, "bad", "line 7: bad")
    assert str(StatementError(None, "bad")) == "bad"


def test_parse_statement_wants_bytes():
    with pytest.raises(TypeError):
        parse_statement("0000")  # type: ignore[arg-type]


def test_movement_refuses_non_positive_amounts_and_unknown_directions():
    base = parse_statement(build_coda([Mv(100)])).movements[0]
    fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
    with pytest.raises(ValueError):
        StatementMovement(**{**fields, "amount_cents": 0})
    with pytest.raises(ValueError):
        StatementMovement(**{**fields, "direction": "in"})
    with pytest.raises(TypeError):
        StatementMovement(**{**fields, "amount_cents": True})
    assert base.signed_cents == 100
