"""CODA parser on files built from movement specs: communications, globalisation, accounts, keys."""

from __future__ import annotations

from datetime import date

import pytest

from services.finance.domain.statements import CREDIT, DEBIT, StatementMovement, parse_statement
from services.finance.tests.statement_builders import (
    BAD_OGM,
    DEFAULT_DAY,
    OGM,
    OGM_TEXT,
    OTHER_OGM,
    SCHOOL_IBAN,
    Mv,
    build_coda,
    bulk_specs,
    patch,
    records,
    refused,
)
from services.finance.tests.statement_builders import PARENT_IBAN as PARENT

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
