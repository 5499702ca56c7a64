"""How long a family's personal data is kept, and what an erasure leaves of their names (issue #21).

A school year ends on 31 August. A student who left is kept ``personal_years`` school years after the
one they left in: left in June 2026 (school year 2025-2026) with 1 year, kept until 31 August 2027,
erasable from 1 September 2027. Financial records are kept ``financial_years`` after the end of the
calendar year of the erasure (finance pseudonymises them at once, anonymises them after).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

PERSONAL_YEARS = (1, 10)  # default 1
FINANCIAL_YEARS = (7, 30)  # Belgian accounting law: 7 years at least; default 7


@dataclass(frozen=True)
class Policy:
    personal_years: int = 1
    financial_years: int = 7


DEFAULT = Policy()


def policy_errors(personal_years: int, financial_years: int) -> dict[str, str]:
    """The fields out of range, with what they may be (empty when the policy is valid)."""
    errors = {}
    for name, value, (low, high) in (
        ("personal_years", personal_years, PERSONAL_YEARS),
        ("financial_years", financial_years, FINANCIAL_YEARS),
    ):
        if not low <= value <= high:
            errors[name] = f"{low} to {high}"
    return errors


def school_year_end(day: date) -> date:
    """The 31 August that ends the school year ``day`` belongs to."""
    return date(day.year if day.month <= 8 else day.year + 1, 8, 31)


def kept_until(left_on: date, personal_years: int) -> date:
    """The last day a student who left on ``left_on`` is kept (erasable the day after)."""
    end = school_year_end(left_on)
    return end.replace(year=end.year + personal_years)


def erasable(left_on: date | None, personal_years: int, today: date) -> bool:
    """Whether a student who left on ``left_on`` is past the retention period (no date: never)."""
    return left_on is not None and today > kept_until(left_on, personal_years)


def keep_financial_until(erased_on: date, financial_years: int) -> date:
    """31 December of the erasure's year plus ``financial_years``."""
    return date(erased_on.year + financial_years, 12, 31)


def redact(text: str, replacements: Iterable[tuple[str, str]]) -> str:
    """``text`` with each (needle, label) needle replaced by its label, case-insensitive, whole words
    only (a first name "Léa" leaves "Léane" alone); the longest needles first, so a full name goes
    as one before its parts."""
    pairs = sorted(
        ((n.strip(), label) for n, label in replacements if n and n.strip()), key=lambda p: -len(p[0])
    )
    for needle, label in pairs:
        pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)", re.IGNORECASE)
        text = pattern.sub(_literal(label), text)
    return text


def _literal(label: str) -> Callable[[re.Match[str]], str]:
    """A replacement that is ``label`` as written (no backslash escapes)."""
    return lambda _m: label
