"""The pages' languages: which one a request is answered in, and money as its reader writes it."""

from __future__ import annotations

from datetime import date, datetime

from flask import g, request
from flask_babel import get_locale

from kit.dates import BRUSSELS, format_date, format_instant
from kit.errors import InvalidRequest
from kit.money import format_eur, parse_amount_to_cents

LANGUAGES = ("fr", "nl", "en")
LANG_COOKIE = "cartable_lang"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        g.set_lang_cookie = asked
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    sess = g.get("session")
    if sess is not None and sess.account.language in LANGUAGES:
        return sess.account.language
    return request.accept_languages.best_match(LANGUAGES, default="fr") or "fr"


def current_lang() -> str:
    """The language this request is answered in (fr, nl or en)."""
    return str(get_locale() or "fr")


def reader_day(text: str) -> str:
    """A date (YYYY-MM-DD), or an RFC 3339 instant's day in Brussels, as the page's reader writes it:
    "15 décembre 2026"; a text that is neither is shown as it is."""
    try:
        if len(text) > 10:
            return format_date(datetime.fromisoformat(text).astimezone(BRUSSELS).date(), current_lang())
        return format_date(date.fromisoformat(text), current_lang())
    except ValueError:
        return text


def reader_instant(text: str) -> str:
    """An RFC 3339 instant as the page's reader writes it (Brussels); a text that is not one as it is."""
    try:
        return format_instant(datetime.fromisoformat(text), current_lang())
    except ValueError:
        return text


def eur(cents: int) -> str:
    """An amount for the page's reader, as kit.money writes it in their language (the templates'
    ``eur``): ``1 234,56 €``, ``€ 1.234,56``, ``€1,234.56``."""
    return format_eur(cents, current_lang())


def form_cents(text: str, *, message: str, fields: dict[str, str] | None = None) -> int:
    """An amount of euros as a person typed it in a form (kit.money reads ``10``, ``12,50``,
    ``1 234,5 €``…), in cents; anything else is an InvalidRequest with the page's own words."""
    try:
        return parse_amount_to_cents(text or "")
    except ValueError:
        raise InvalidRequest(message, fields=fields) from None
