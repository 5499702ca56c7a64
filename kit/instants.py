"""Instants as requests carry them: RFC 3339 text in, an aware UTC datetime out.

One rule for every service that takes an instant from a caller (a school event's start, an ordering
period's opening): the text must parse and must name its offset, because a naive time could be read
an hour off around a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kit.errors import InvalidRequest

__all__ = ["parse_instant"]


def parse_instant(value: str, field: str) -> datetime:
    """``value`` as an aware datetime in UTC; else ``InvalidRequest("invalid date")`` saying why under
    ``field`` (``expected an RFC 3339 instant`` or ``the instant needs an offset``)."""
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequest("invalid date", fields={field: "expected an RFC 3339 instant"}) from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidRequest("invalid date", fields={field: "the instant needs an offset"})
    return dt.astimezone(UTC)
