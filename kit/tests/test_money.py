"""Money display/parsing and Belgian structured communications (OGM)."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.money import MAX_CENTS, cents_to_decimal_str, format_eur, parse_amount_to_cents
from kit.ogm import format_ogm, make_ogm, new_ogm, normalize_ogm

NNBSP = "\u202f"
NBSP = "\u00a0"  # Babel keeps the sign and the amount together

# --- format_eur ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "locale", "expected"),
    [
        (3710, "fr", f"37,10{NBSP}€"),
        (5, "fr", f"0,05{NBSP}€"),
        (0, "fr", f"0,00{NBSP}€"),
        (123456, "fr", f"1{NNBSP}234,56{NBSP}€"),
        (-3710, "fr", f"-37,10{NBSP}€"),
        (3710, "nl", f"€{NBSP}37,10"),
        (123456789, "nl-BE", f"€{NBSP}1.234.567,89"),
        (-3710, "nl", f"€{NBSP}-37,10"),
        (3710, "en", "€37.10"),
        (123456, "en", "€1,234.56"),
        (-3710, "en", "-€37.10"),
        (3710, "fr_BE", f"37,10{NBSP}€"),
        (3710, "FR-be", f"37,10{NBSP}€"),
    ],
)
def test_format_eur_writes_amounts_as_each_language_reads_them(cents, locale, expected):
    assert format_eur(cents, locale) == expected


def test_format_eur_defaults_to_french():
    assert format_eur(100) == f"1,00{NBSP}€"


def test_format_eur_refuses_an_unknown_locale():
    with pytest.raises(ValueError, match="unsupported locale"):
        format_eur(100, "de")


@pytest.mark.parametrize("bad", [1.5, "100", True, None])
def test_format_eur_refuses_anything_but_int_cents(bad):
    with pytest.raises(TypeError):
        format_eur(bad)


# --- parse_amount_to_cents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("10", 1000),
        ("10,5", 1050),
        ("10.50", 1050),
        ("10,05", 1005),
        ("0,01", 1),
        ("0", 0),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        (f"1{NNBSP}234,56", 123456),
        ("12 345 678", 1234567800),
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("  7,25  ", 725),
        ("7,25 €", 725),
        ("€7.25", 725),
        ("7.25 EUR", 725),
        ("+3", 300),
    ],
)
def test_parse_amount_reads_what_parents_and_staff_type(text, cents):
    assert parse_amount_to_cents(text) == cents


@pytest.mark.parametrize("text", ["-10", "-0,50", "\u22125", "€ -5", "-€5"])
def test_parse_amount_refuses_negative_amounts(text):
    with pytest.raises(ValueError, match="negative"):
        parse_amount_to_cents(text)


@pytest.mark.parametrize("text", ["10,555", "1.234", "1,234", "0.001"])
def test_parse_amount_refuses_more_than_two_decimals(text):
    # "1.234" is refused rather than read as 1234: a wrong amount is worse than a question.
    with pytest.raises(ValueError, match="at most 2 decimals"):
        parse_amount_to_cents(text)


@pytest.mark.parametrize(
    "text",
    ["abc", "10a", "1,2,3", "10.", ".5", "1 23,45", "12 34", "1.234.567", "1e3", "0x10", "١٠", "10 10,5.5"],
)
def test_parse_amount_refuses_junk(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount_to_cents(text)


@pytest.mark.parametrize("text", ["", "   ", "€"])
def test_parse_amount_refuses_empty_text(text):
    with pytest.raises(ValueError, match="empty"):
        parse_amount_to_cents(text)


def test_parse_amount_refuses_absurdly_large_amounts():
    with pytest.raises(ValueError, match="too large"):
        parse_amount_to_cents("1000000000")
    assert parse_amount_to_cents("999999999,99") == MAX_CENTS


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_parse_amount_reads_back_every_formatted_amount(cents):
    assert parse_amount_to_cents(format_eur(cents, "fr")) == cents
    assert parse_amount_to_cents(format_eur(cents, "nl")) == cents
    assert parse_amount_to_cents(format_eur(cents, "en")) == cents
    assert parse_amount_to_cents(cents_to_decimal_str(cents)) == cents


# --- cents_to_decimal_str ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [(1000, "10.00"), (1050, "10.50"), (1, "0.01"), (0, "0.00"), (123456, "1234.56"), (-5, "-0.05")],
)
def test_cents_to_decimal_str_gives_the_providers_two_decimal_string(cents, text):
    assert cents_to_decimal_str(cents) == text


def test_cents_to_decimal_str_refuses_floats():
    with pytest.raises(TypeError):
        cents_to_decimal_str(10.0)


# --- structured communication --------------------------------------------------------------------


def test_make_ogm_appends_the_mod_97_check_digits():
    assert make_ogm(108068171) == "010806817183"
    assert make_ogm(1234567890) == "123456789002"


def test_make_ogm_writes_97_when_the_remainder_is_zero():
    assert make_ogm(97) == "000000009797"


def test_make_ogm_pads_the_check_digits_to_two():
    assert make_ogm(1) == "000000000101"


@pytest.mark.parametrize("base", [0, -1, 10**10])
def test_make_ogm_refuses_bases_outside_ten_nonzero_digits(base):
    with pytest.raises(ValueError, match=r"must be 1\.\.9999999999"):
        make_ogm(base)


def test_make_ogm_refuses_non_int_bases():
    with pytest.raises(TypeError):
        make_ogm(True)


def test_format_ogm_writes_the_plus_signs_and_slashes():
    assert format_ogm("123456789002") == "+++123/4567/89002+++"


def test_format_ogm_refuses_an_invalid_communication():
    with pytest.raises(ValueError, match="not a valid structured communication"):
        format_ogm("123456789003")


@pytest.mark.parametrize(
    "text",
    [
        "+++010/8068/17183+++",
        "***010/8068/17183***",
        "010/8068/17183",
        "010806817183",
        " +++ 010 / 8068 / 17183 +++ ",
        "010 8068 17183",
    ],
)
def test_normalize_ogm_accepts_the_usual_spellings(text):
    assert normalize_ogm(text) == "010806817183"


@pytest.mark.parametrize(
    "text",
    [
        "+++010/8068/17180+++",  # wrong check digits
        "000000000000",  # all zero
        "+++000/0000/00097+++",  # all-zero base even with "valid" check digits
        "01080681718",  # 11 digits
        "0108068171830",  # 13 digits
        "facture 010/8068/17183",
        "",
        None,
        "０１０８０６８１７１８３",  # full-width digits
    ],
)
def test_normalize_ogm_returns_none_for_anything_not_a_valid_communication(text):
    assert normalize_ogm(text) is None


def test_new_ogm_with_a_seeded_random_is_reproducible_and_valid():
    first = new_ogm(random.Random(42))
    assert first == new_ogm(random.Random(42))
    assert normalize_ogm(first) == first


def test_new_ogm_by_default_gives_valid_distinct_communications():
    made = {new_ogm() for _ in range(200)}
    assert len(made) == 200
    assert all(normalize_ogm(o) == o and o[:10] != "0" * 10 for o in made)


class _AlwaysLowest(random.Random):
    def randrange(self, start, stop=None, step=1):
        return start


def test_new_ogm_never_draws_an_all_zero_base():
    assert new_ogm(_AlwaysLowest()) == "000000000101"


@given(st.integers(min_value=1, max_value=10**10 - 1))
def test_ogm_round_trips_through_every_written_form(base):
    digits = make_ogm(base)
    assert len(digits) == 12 and digits.isdigit()
    written = format_ogm(digits)
    assert normalize_ogm(written) == digits
    assert normalize_ogm(written.replace("+", "*")) == digits
    assert normalize_ogm(written.strip("+").replace("/", " ")) == digits


@given(
    st.integers(min_value=1, max_value=10**10 - 1), st.integers(min_value=0, max_value=11), st.integers(1, 9)
)
def test_ogm_detects_any_single_digit_typo(base, position, shift):
    digits = make_ogm(base)
    typo = digits[:position] + str((int(digits[position]) + shift) % 10) + digits[position + 1 :]
    assert normalize_ogm(typo) is None


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS), st.sampled_from(["fr", "nl", "en"]))
def test_format_eur_writes_what_babels_format_currency_writes(cents, lang):
    from decimal import Decimal

    from babel.numbers import format_currency

    from kit.money import babel_locale

    expected = format_currency(Decimal(cents).scaleb(-2), "EUR", locale=babel_locale(lang))
    assert format_eur(cents, lang) == expected
