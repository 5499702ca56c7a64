"""The pure rules of a school event: its classes as stored, its checks, a range of the school's days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kit.dates import BRUSSELS
from services.notifications.domain.school_events import clean_class_names, day_range, parse_day, problems


def test_class_names_are_trimmed_deduplicated_and_sorted():
    assert clean_class_names([" 6A", "3B ", "", "  ", "3B", "3\n B"]) == ["3 B", "3B", "6A"]


def test_an_event_ending_before_it_starts_is_refused():
    start = datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert problems("Fête", "", start, start, []) == {}
    assert set(problems("", "", start, datetime(2026, 12, 5, 8, tzinfo=UTC), [])) == {"title", "ends_at"}


def test_a_range_of_days_is_midnight_to_midnight_in_brussels():
    start, end = day_range(date(2026, 12, 1), date(2026, 12, 1), BRUSSELS)
    assert (start, end) == (datetime(2026, 11, 30, 23, tzinfo=UTC), datetime(2026, 12, 1, 23, tzinfo=UTC))
    # summer time: midnight is 22:00 UTC; 28 March 2027 is 23 hours long
    start, end = day_range(date(2027, 3, 28), date(2027, 3, 28), BRUSSELS)
    assert (start, end) == (datetime(2027, 3, 27, 23, tzinfo=UTC), datetime(2027, 3, 28, 22, tzinfo=UTC))
    assert day_range(None, None, BRUSSELS) == (None, None)


def test_a_range_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before"):
        day_range(date(2026, 12, 2), date(2026, 12, 1), BRUSSELS)


@pytest.mark.parametrize("text", ["2026-1-5", "20261205", "05/12/2026", "2026-02-30", "demain"])
def test_only_iso_days_are_read(text):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(text)
