"""The pure rules of the back office: people's names, search keys, national numbers, birth dates,
and reading the People CSV (encodings, delimiters, line numbers as a spreadsheet shows them)."""

from __future__ import annotations

from datetime import date

import pytest

from services.auth.domain import people as rules
from services.auth.domain.paging import decode_cursor, encode_cursor, page_size
from services.auth.domain.people_csv import decode, delimiter_of, read_people_csv

TODAY = date(2026, 9, 1)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  jean-MARIE   d’Hondt ", "jean-MARIE d’Hondt"),
        ("Marie\tClaire\u00a0Anne", "Marie Claire Anne"),
        ("O'Brien", "O'Brien"),
        ("St. John", "St. John"),
        ("Ngô Bảo Châu", "Ngô Bảo Châu"),
        ("e\u0301lise", "élise"),  # NFC
    ],
)
def test_names_are_tidied_not_changed(typed, kept):
    assert rules.clean_name(typed) == kept


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("  ", "required"),
        ("a" * 101, "too_long"),
        ("<b>", "invalid_name"),
        ("'-.", "invalid_name"),
        ("a@b", "invalid_name"),
        ("x\x00y", "invalid_name"),
    ],
)
def test_what_is_no_name_is_refused_with_its_reason(typed, code):
    with pytest.raises(rules.BadValue) as bad:
        rules.clean_name(typed)
    assert bad.value.code == code


def test_a_search_key_finds_any_part_whatever_the_accents_case_and_order():
    key = rules.search_key("Zoë-Élise", "D’Hondt", "Zoe.DH@Example.be")
    for q in ("zoe", "ELISE", "dhondt", "d'hondt", "hondt zoe", "zoe elise dh", "example be"):
        assert rules.search_term(q) in key, q
    assert rules.search_term("  ") == ""
    assert rules.fold("Æsop Straße Øre") == "aesop strasse ore"


def test_national_numbers_are_checked_kept_as_digits_and_masked():
    assert rules.clean_national_number("85.07.30-033.28") == "85073003328"
    assert rules.clean_national_number("15031212376") == "15031212376"  # born in 2015: the 2000 rule
    for bad in ("85073003329", "123", "abcdefghijk"):
        with pytest.raises(rules.BadValue):
            rules.clean_national_number(bad)
    assert rules.mask_national_number("85073003328") == "••••••••••28"
    assert rules.mask_national_number("") == ""


def test_birth_dates_in_two_formats_and_plausible():
    assert rules.parse_birth_date("2015-03-12", TODAY) == date(2015, 3, 12)
    assert rules.parse_birth_date("2/9/2015", TODAY, day_first=True) == date(2015, 9, 2)
    for bad, day_first in [
        ("12/03/2015", False),
        ("2015-13-01", False),
        ("2026-09-02", False),
        ("1960-01-01", True),
    ]:
        with pytest.raises(rules.BadValue):
            rules.parse_birth_date(bad, TODAY, day_first=day_first)
    assert rules.parse_level("Secondaire", french=True) == "secondary"
    with pytest.raises(rules.BadValue):
        rules.parse_level("primaire")  # the API's own field says primary | secondary


def test_the_file_is_utf_8_when_it_can_be_else_windows_1252():
    assert decode("\ufeffÉlève".encode()) == "Élève"
    assert decode("Élève".encode("cp1252")) == "Élève"
    assert decode(b"\x81\x8d") is None
    assert decode(b"a\x00b") is None
    assert delimiter_of("student_id;first_name,x") == ";"
    assert delimiter_of("student_id,first_name,last_name") == ","


def test_lines_are_counted_as_a_spreadsheet_shows_them():
    data = (
        b"student_id;first_name;last_name;class_name;level\r\n"
        b'A1;"Marie\r\nClaire";Dupont;3A;primary\r\n'  # one cell over two physical lines: row 2
        b"\r\n"  # a blank row: 3
        b"A2;Lucas;Dupont;3A;creche\r\n"  # row 4
    )
    entries, problems, rows = read_people_csv(data, TODAY)
    assert rows == 2 and [e.line for e in entries] == [2]
    assert [(p.line, p.column, p.code) for p in problems] == [(4, "level", "invalid_level")]


def test_pages_and_cursors():
    assert page_size(0, paged=True) == 50 and page_size(0, paged=False) is None and page_size(7, False) == 7
    with pytest.raises(ValueError, match="1 to 200"):
        page_size(201, True)
    cursor = encode_cursor(["3A", "D'Hondt", "Zoë", "id-1"])
    assert decode_cursor(cursor, 4) == ["3A", "D'Hondt", "Zoë", "id-1"]
    for bad in ("", "!!", encode_cursor(["a"]), "eyJhIjogMX0"):
        with pytest.raises(ValueError, match="not a cursor"):
            decode_cursor(bad, 4)
