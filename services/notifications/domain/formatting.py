"""How amounts, dates and structured communications read in each language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

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


def local_instant(dt: datetime, lang: str) -> str:
    """An instant as the school's parents read it: Brussels time, ``15 décembre 2026 à 14:30``."""
    local = dt.astimezone(BRUSSELS)
    at = {"fr": "à", "nl": "om", "en": "at"}[lang]
    return f"{long_date(local.date(), lang)} {at} {local:%H:%M}"


def structured_communication(digits: str) -> str:
    """``010806817183`` → ``+++010/8068/17183+++`` (already formatted values pass through)."""
    d = "".join(ch for ch in digits or "" if ch.isdigit())
    if len(d) != 12:
        return digits or ""
    return f"+++{d[:3]}/{d[3:7]}/{d[7:]}+++"
