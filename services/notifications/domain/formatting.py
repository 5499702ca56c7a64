"""How amounts, dates and structured communications read in each language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BRUSSELS = ZoneInfo("Europe/Brussels")

_MONTHS = {
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    "nl": [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


_WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


def money(cents: int, lang: str) -> str:
    """``2350`` → ``23,50 €`` (fr), ``€ 23,50`` (nl), ``€23.50`` (en); negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    if lang == "en":
        return f"{sign}€{euros:,}.{rest:02d}"
    whole = f"{euros:,}".replace(",", "\u202f" if lang == "fr" else ".")
    if lang == "nl":
        return f"€ {sign}{whole},{rest:02d}"
    return f"{sign}{whole},{rest:02d}\u00a0€"


def long_date(d: date, lang: str) -> str:
    """``15 décembre 2026`` / ``15 december 2026`` / ``15 December 2026``."""
    return f"{d.day} {_MONTHS[lang][d.month - 1]} {d.year}"


def iso_date(value: str, lang: str) -> str:
    """A ``YYYY-MM-DD`` from an event, in words; left as given when it is not a date."""
    try:
        return long_date(date.fromisoformat(value), lang)
    except (TypeError, ValueError):
        return value


def local_instant(dt: datetime, lang: str, zone: ZoneInfo = BRUSSELS) -> str:
    """An instant as the school's parents read it: Brussels time, ``15 décembre 2026 à 14:30``."""
    local = dt.astimezone(zone)
    at = {"fr": "à", "nl": "om", "en": "at"}[lang]
    return f"{long_date(local.date(), lang)} {at} {local:%H:%M}"


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


def time_span(starts_at: str, ends_at: str, lang: str, tz: str | None = None) -> str:
    """A meeting's slot from two RFC 3339 instants, with the weekday, in the school's time:
    ``jeudi 15 octobre 2026, de 18:10 à 18:20`` / ``donderdag 15 oktober 2026, van 18:10 tot 18:20`` /
    ``Thursday 15 October 2026, from 18:10 to 18:20``."""
    start, end = _parse_instant(starts_at), _parse_instant(ends_at)
    if start is None:
        return starts_at
    zone = _zone(tz)
    start = start.astimezone(zone)
    day = f"{_WEEKDAYS[lang][start.weekday()]} {long_date(start.date(), lang)}"
    if end is None:
        at = {"fr": "à", "nl": "om", "en": "at"}[lang]
        return f"{day} {at} {start:%H:%M}"
    end = end.astimezone(zone)
    fro, to = {"fr": ("de", "à"), "nl": ("van", "tot"), "en": ("from", "to")}[lang]
    return f"{day}, {fro} {start:%H:%M} {to} {end:%H:%M}"


def structured_communication(digits: str) -> str:
    """``010806817183`` → ``+++010/8068/17183+++`` (already formatted values pass through)."""
    d = "".join(ch for ch in digits or "" if ch.isdigit())
    if len(d) != 12:
        return digits or ""
    return f"+++{d[:3]}/{d[3:7]}/{d[7:]}+++"
