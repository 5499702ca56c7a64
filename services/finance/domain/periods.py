"""Reporting periods ("today", "last_7_days", …) as half-open UTC intervals [start, end).

Periods are Brussels calendar days: a day starts at local midnight, so it lasts 23 hours on the
spring DST change and 25 hours on the autumn one. Bounds are computed on local dates first and only
then converted to UTC, never by adding ``timedelta(hours=24)`` to an instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MAX_CUSTOM_DAYS", "Period", "resolve_period"]

MAX_CUSTOM_DAYS = 366


class Period(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_7_DAYS = "last_7_days"  # today and the 6 days before
    LAST_30_DAYS = "last_30_days"  # today and the 29 days before
    THIS_MONTH = "this_month"  # the whole calendar month, up to the 1st of the next
    LAST_MONTH = "last_month"
    CUSTOM = "custom"  # from_date .. to_date, both days included


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    # Midnight exists (and is unambiguous) in Europe/Brussels: the DST changes happen at 02:00/03:00.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _first_of_month(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + (day.month - 1) - months_back
    return date(index // 12, index % 12 + 1, 1)


def _plain_date(value: object, label: str) -> date | None:
    if value is None:
        return None
    # datetime is a date subclass: a datetime here would silently drop its time and zone.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{label} must be a date (YYYY-MM-DD), got {value!r}")
    return value


def resolve_period(
    name: str,
    now: datetime,
    from_date: date | None = None,
    to_date: date | None = None,
    tz: str = "Europe/Brussels",
) -> tuple[datetime, datetime]:
    """The half-open interval [start, end), as UTC-aware datetimes, that the period ``name`` covers
    when seen at the instant ``now`` from the time zone ``tz``.

    ``now`` must be timezone-aware (a naive datetime is ambiguous and refused). ``from_date`` and
    ``to_date`` are required for ``custom`` (from <= to, both days included, at most 366 days) and
    ignored for the presets, so a form that keeps stale dates next to "today" still works.
    Raises ValueError with a message fit for the caller's error response.
    """
    try:
        period = Period(name)
    except ValueError:
        valid = ", ".join(p.value for p in Period)
        raise ValueError(f"unknown period {name!r}: use one of {valid}") from None
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    zone = _zone(tz)
    today = now.astimezone(zone).date()

    if period is Period.CUSTOM:
        first = _plain_date(from_date, "from")
        last = _plain_date(to_date, "to")
        if first is None or last is None:
            raise ValueError("a custom period needs both a from date and a to date")
        if first > last:
            raise ValueError(f"the from date ({first.isoformat()}) is after the to date ({last.isoformat()})")
        days = (last - first).days + 1
        if days > MAX_CUSTOM_DAYS:
            raise ValueError(f"a custom period covers at most {MAX_CUSTOM_DAYS} days, got {days}")
        start_day, end_day = first, last + timedelta(days=1)
    elif period is Period.TODAY:
        start_day, end_day = today, today + timedelta(days=1)
    elif period is Period.YESTERDAY:
        start_day, end_day = today - timedelta(days=1), today
    elif period is Period.LAST_7_DAYS:
        start_day, end_day = today - timedelta(days=6), today + timedelta(days=1)
    elif period is Period.LAST_30_DAYS:
        start_day, end_day = today - timedelta(days=29), today + timedelta(days=1)
    elif period is Period.THIS_MONTH:
        start_day = _first_of_month(today)
        end_day = _first_of_month(today, months_back=-1)
    else:  # Period.LAST_MONTH
        start_day, end_day = _first_of_month(today, months_back=1), _first_of_month(today)

    return _local_midnight_utc(start_day, zone), _local_midnight_utc(end_day, zone)
