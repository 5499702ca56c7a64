"""What makes a school event valid, and which events a range of days holds. Pure: no framework imports.

A new event and a changed one are checked by the same rule (``problems``), so an update can never
store what a creation would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["MAX_DESCRIPTION", "MAX_TITLE", "clean_class_names", "day_range", "parse_day", "problems"]

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_CLASS_NAME = 40
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def clean_class_names(names: Iterable[str]) -> list[str]:
    """The classes as stored: each trimmed, inner spaces (and line breaks) made one space, empty ones
    dropped, each once, sorted. Empty: the whole school."""
    return sorted({" ".join(n.split()) for n in names if n and n.strip()})


def problems(
    title: str, description: str, starts_at: datetime | None, ends_at: datetime | None, class_names: list[str]
) -> dict[str, str]:
    """Each field that is wrong and why (empty: the event is valid). ``starts_at`` / ``ends_at`` are
    None when they could not be read (the caller names that problem)."""
    out: dict[str, str] = {}
    if not title or len(title) > MAX_TITLE:
        out["title"] = f"required, at most {MAX_TITLE} characters"
    if len(description) > MAX_DESCRIPTION:
        out["description"] = f"at most {MAX_DESCRIPTION} characters"
    if starts_at and ends_at and ends_at < starts_at:
        out["ends_at"] = "must not be before starts_at"
    if any(len(c) > MAX_CLASS_NAME for c in class_names):
        out["class_names"] = f"each at most {MAX_CLASS_NAME} characters"
    return out


def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; empty: None; anything else: ValueError."""
    if not text:
        return None
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass  # 2026-02-30
    raise ValueError("expected a date YYYY-MM-DD")


def day_range(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The half-open interval of instants [start, end) covering the days ``first`` .. ``last`` (both
    included) on the school's wall clock, in UTC as stored; None where a bound is not given. A day is midnight to
    midnight in ``zone``, 23 or 25 hours long on the days the clocks change."""
    if first and last and last < first:
        raise ValueError("must not be before from")
    start = datetime.combine(first, time(0), zone).astimezone(UTC) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC) if last else None
    return start, end
