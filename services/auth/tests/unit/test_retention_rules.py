"""The retention rules (domain/retention.py): a school year ends on 31 August, a student who left is
kept ``personal_years`` school years after the one they left in, financial records until 31 December
of the erasure's year plus ``financial_years``; names are redacted as whole words."""

from __future__ import annotations

from datetime import date

import pytest

from services.auth.domain import retention as rules


@pytest.mark.parametrize(
    ("left_on", "years", "last_kept"),
    [
        (date(2026, 6, 30), 1, date(2027, 8, 31)),  # the plan's example
        (date(2026, 8, 31), 1, date(2027, 8, 31)),
        (date(2026, 9, 1), 1, date(2028, 8, 31)),  # the next school year
        (date(2026, 12, 20), 3, date(2030, 8, 31)),
    ],
)
def test_a_leaver_is_kept_until_the_31_august_of_their_last_school_year(left_on, years, last_kept):
    assert rules.kept_until(left_on, years) == last_kept
    assert not rules.erasable(left_on, years, last_kept)
    assert rules.erasable(left_on, years, date.fromordinal(last_kept.toordinal() + 1))


def test_a_leaver_without_a_date_is_never_erasable_by_retention():
    assert not rules.erasable(None, 1, date(2099, 1, 1))


def test_financial_records_are_kept_until_the_end_of_the_year_plus_the_policy():
    assert rules.keep_financial_until(date(2026, 1, 2), 7) == date(2033, 12, 31)
    assert rules.keep_financial_until(date(2026, 12, 31), 10) == date(2036, 12, 31)


def test_the_policy_s_ranges():
    assert rules.policy_errors(1, 7) == {} and rules.policy_errors(10, 30) == {}
    assert rules.policy_errors(0, 31) == {"personal_years": "1 to 10", "financial_years": "7 to 30"}


def test_names_are_redacted_as_whole_words_whatever_their_case_longest_first():
    labels = [
        ("Léa", "Élève 1"),
        ("Léa Roux", "Élève 1"),
        ("Roux", "Élève 1"),
        ("lea.roux@ex.be", "Parent 2"),
    ]
    assert rules.redact("LÉA ROUX, 3A; Léane stays; mail lea.roux@ex.be", labels) == (
        "Élève 1, 3A; Léane stays; mail Parent 2"
    )
    assert rules.redact(r"a \1 label", [("a", r"\g<0>")]) == r"\g<0> \1 label"
