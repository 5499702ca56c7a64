"""Periodic statements (décomptes périodiques, Fédération Wallonie-Bruxelles): the period's rule and the
totals. Pure: no database, no protobuf.

The FWB asks schools for statements of one to four months, every fee marked mandatory or optional (a
fee not on a statement cannot be claimed). A period here is ``first``..``last``, both included; it
may be shorter than a month (a month begun, a term's end), never longer than four calendar months:
``last`` must come before the same day four months after ``first`` (1 September .. 31 December is the
longest from 1 September)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

MAX_MONTHS = 4


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def longest_last_day(first: date) -> date:
    """The last day a period starting on ``first`` may reach: four months on, minus one day."""
    return add_months(first, MAX_MONTHS) - timedelta(days=1)


def period_errors(first: date | None, last: date | None) -> dict[str, str]:
    """Field errors of a period (``from`` / ``to``, as the HTTP query names them); empty when valid."""
    errors: dict[str, str] = {}
    if first is None:
        errors["from"] = "required, YYYY-MM-DD"
    if last is None:
        errors["to"] = "required, YYYY-MM-DD"
    if errors or first is None or last is None:
        return errors
    if last < first:
        errors["to"] = "on or after from"
    elif last > longest_last_day(first):
        errors["to"] = f"at most {MAX_MONTHS} months after from (until {longest_last_day(first).isoformat()})"
    return errors


def line_split(amounts: list[tuple[int, bool]]) -> tuple[int, int]:
    """(mandatory, optional) cents of ``(amount, optional)`` lines."""
    mandatory = sum(a for a, optional in amounts if not optional)
    return mandatory, sum(a for a, optional in amounts if optional)
