"""How amounts, dates and structured communications read in each language, in mails.

Thin names for the mail templates over kit's one implementation: amounts through kit.money (Babel's
numbers), dates through kit.dates (Babel's dates), communications through kit.ogm.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kit.dates import BRUSSELS, format_date, format_instant, format_time, format_weekday_date
from kit.money import format_eur
from kit.ogm import format_ogm

__all__ = [
    "BRUSSELS",
    "iso_date",
    "local_instant",
    "long_date",
    "money",
    "rfc3339_instant",
    "structured_communication",
    "time_span",
]


def money(cents: int, lang: str) -> str:
    """``2350`` → ``23,50 €`` (fr), ``€ 23,50`` (nl), ``€23.50`` (en); negative amounts keep their sign."""
    return format_eur(int(cents), lang)


def long_date(d: date, lang: str) -> str:
    """``15 décembre 2026`` / ``15 december 2026`` / ``15 December 2026``."""
    return format_date(d, lang)


def iso_date(value: str, lang: str) -> str:
    """A ``YYYY-MM-DD`` from an event, in words; left as given when it is not a date."""
    try:
        return long_date(date.fromisoformat(value), lang)
    except (TypeError, ValueError):
        return value


def local_instant(dt: datetime, lang: str, zone: ZoneInfo = BRUSSELS) -> str:
    """An instant as the school's parents read it: Brussels time, ``15 décembre 2026 à 14:30``."""
    return format_instant(dt, lang, zone)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else BRUSSELS
    except (ValueError, ZoneInfoNotFoundError):
        return BRUSSELS


def _parse_instant(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else None  # an instant without its offset could be read an hour off


def rfc3339_instant(value: str, lang: str, tz: str | None = None) -> str:
    """An RFC 3339 instant from an event in the school's time (Brussels unless ``tz`` names another
    zone): ``14 octobre 2026 à 23:59``; left as given when it is not an instant."""
    dt = _parse_instant(value)
    if dt is None:
        return value
    return local_instant(dt, lang, _zone(tz))


_AT = {"fr": "à", "nl": "om", "en": "at"}
_FROM_TO = {"fr": ("de", "à"), "nl": ("van", "tot"), "en": ("from", "to")}


def time_span(starts_at: str, ends_at: str, lang: str, tz: str | None = None) -> str:
    """A meeting's slot from two RFC 3339 instants, with the weekday, in the school's time:
    ``jeudi 15 octobre 2026, de 18:10 à 18:20`` / ``donderdag 15 oktober 2026, van 18:10 tot 18:20`` /
    ``Thursday 15 October 2026, from 18:10 to 18:20``."""
    start, end = _parse_instant(starts_at), _parse_instant(ends_at)
    if start is None:
        return starts_at
    zone = _zone(tz)
    start = start.astimezone(zone)
    day = format_weekday_date(start.date(), lang)
    if end is None:
        return f"{day} {_AT[lang]} {format_time(start, lang)}"
    fro, to = _FROM_TO[lang]
    return f"{day}, {fro} {format_time(start, lang)} {to} {format_time(end.astimezone(zone), lang)}"


def structured_communication(digits: str) -> str:
    """``010806817183`` → ``+++010/8068/17183+++`` (already formatted values pass through); a value
    that is not a valid communication is shown as given rather than dropped from the mail."""
    try:
        return format_ogm(digits or "")
    except ValueError:
        return digits or ""
