"""The school's postal address as rules (issue #19): tidied, all three fields or none, a Belgian
postal code of 4 digits (1000 to 9999), written on one line."""

from __future__ import annotations

import pytest

from services.finance.domain.school_settings import address_errors, address_line, clean_address


def test_tidied_and_written_on_one_line():
    got = clean_address("  Rue  de l'École   1 ", " 1000 ", " Bruxelles ")
    assert got == ("Rue de l'École 1", "1000", "Bruxelles")
    assert address_errors(*got) == {}
    assert address_line(*got) == "Rue de l'École 1, 1000 Bruxelles"
    assert address_line("", "", "") == ""


def test_none_at_all_is_no_address():
    assert address_errors("", "", "") == {}


@pytest.mark.parametrize("code", ["999", "0999", "10000", "75001", "B-1000", "1 00"])
def test_a_postal_code_is_belgian(code):
    assert set(address_errors("Rue 1", code, "Ville")) == {"postal_code"}


def test_a_partial_address_names_what_is_missing():
    assert set(address_errors("", "9000", "")) == {"street", "city"}
    assert set(address_errors("x" * 201, "9000", "Gent")) == {"street"}
