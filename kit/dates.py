"""Dates and instants as each reader's language writes them (fr, nl, en), on Babel's CLDR data.

The school's wall clock is Europe/Brussels unless a caller names another zone. Pure functions: no
framework imports.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time

from kit.money import babel_locale

__all__ = ["BRUSSELS", "format_date", "format_instant", "format_time", "format_weekday_date"]

BRUSSELS = ZoneInfo("Europe/Brussels")

# "15 décembre 2026 à 14:30": the word between a day and its time, which CLDR's datetime patterns
# write differently per locale (some with a comma); the mails and pages use these.
_AT = {"fr": "à", "nl": "om", "en": "at"}


def _lang(locale: str) -> str:
    return babel_locale(locale).split("_")[0]


def format_date(d: date, locale: str = "fr") -> str:
    """``15 décembre 2026`` / ``15 december 2026`` / ``15 December 2026``."""
    return _babel_date(d, "long", locale=babel_locale(locale))


def format_weekday_date(d: date, locale: str = "fr") -> str:
    """``jeudi 15 octobre 2026`` / ``donderdag 15 oktober 2026`` / ``Thursday 15 October 2026``."""
    return _babel_date(d, "EEEE d MMMM y", locale=babel_locale(locale))


def format_time(dt: datetime, locale: str = "fr") -> str:
    """``14:30`` in every language (24-hour clock, as Belgian schools write it)."""
    return _babel_time(dt, "HH:mm", locale=babel_locale(locale))


def format_instant(dt: datetime, locale: str = "fr", zone: ZoneInfo = BRUSSELS) -> str:
    """An aware instant in the school's time: ``15 décembre 2026 à 14:30``, ``15 december 2026 om
    14:30``, ``15 December 2026 at 14:30``."""
    if dt.tzinfo is None:
        raise ValueError("an instant needs its offset: a naive datetime could be read an hour off")
    local = dt.astimezone(zone)
    return f"{format_date(local.date(), locale)} {_AT[_lang(locale)]} {format_time(local, locale)}"
