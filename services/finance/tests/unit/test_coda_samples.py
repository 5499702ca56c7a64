"""CODA parser on the banks' real sample files, and on those files corrupted one field at a time.

The facts asserted about the real samples were read from the files by hand (record by record), not
copied from the parser's output.
"""

from __future__ import annotations

from datetime import date

from services.finance.domain.statements import (
    CREDIT,
    DEBIT,
    FORMAT_CODA,
    ParsedStatement,
    StatementMovement,
    parse_statement,
)
from services.finance.tests.statement_builders import patch, records, refused, replace_record, sample


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
