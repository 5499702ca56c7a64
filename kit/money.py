"""Money as integer cents (EUR): display, parsing of what people type, and the provider's string form.

Pure functions: no framework imports. Amounts are ``int`` cents everywhere; ``bool`` is refused even
though it is an ``int`` subclass, because ``True`` cents is always a bug.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern

__all__ = ["MAX_CENTS", "babel_locale", "cents_to_decimal_str", "format_eur", "parse_amount_to_cents"]

# The EPC QR code's ceiling (999 999 999,99 €): no school amount comes near it, and it keeps every value
# far inside int64.
MAX_CENTS = 99_999_999_999

# Thousands separators as typed or pasted: space, no-break space, narrow no-break space, thin space.
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " "}
_NEGATIVE_SIGNS = ("-", "\u2212")
# Whole part grouped by spaces, or plain digits; then an optional decimal part after "," or ".".
_SPACE_GROUPED = re.compile(r"(?P<whole>[0-9]{1,3}(?: [0-9]{3})+|[0-9]+)(?:[.,](?P<frac>[0-9]+))?", re.ASCII)
# "1.234,56" and "1,234.56": the grouping mark is only accepted when the other mark ends the number,
# so "1.234" stays a decimal number (and is refused for its 3 decimals) rather than a silent 1234.
_DOT_GROUPED = re.compile(r"(?P<whole>[0-9]{1,3}(?:\.[0-9]{3})+),(?P<frac>[0-9]+)", re.ASCII)
_COMMA_GROUPED = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+)\.(?P<frac>[0-9]+)", re.ASCII)


def _check_cents(cents: object) -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"an amount in cents must be an int, got {type(cents).__name__}")
    return cents


def babel_locale(locale: str) -> str:
    """The Babel locale a reader of ``locale`` (fr, nl or en; a region such as ``fr-BE`` or ``nl_BE``
    is accepted) gets: Belgian French and Dutch; English as written in Ireland (euros, ``€1,234.56``,
    ``15 December 2026``). ValueError for any other language."""
    lang = (locale or "").replace("_", "-").split("-")[0].lower()
    try:
        return _LOCALES[lang]
    except KeyError:
        raise ValueError(f"unsupported locale {locale!r}: use fr, nl or en") from None


_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_IE"}


def format_eur(cents: int, locale: str = "fr") -> str:
    """Display an amount of cents in euros for a reader of ``locale`` (fr, nl or en; a region such as
    ``fr-BE`` or ``nl_BE`` is accepted), as Babel's CLDR data writes it.

    ``fr``: ``1 234,56 €`` (narrow no-break space between thousands, a no-break space before the sign);
    ``nl``: ``€ 1.234,56`` (Belgian Dutch, a no-break space after the sign); ``en``: ``€1,234.56``.
    Negative amounts: ``-37,10 €``, ``€ -37,10``, ``-€37.10``.
    """
    cents = _check_cents(cents)
    loc, pattern = _currency_pattern(babel_locale(locale))
    # What babel.numbers.format_currency does, without finding the locale and its pattern again on
    # every amount (a few per cent of a ledger movement's CPU): the same text (kit/tests/test_money.py).
    return str(pattern.apply(Decimal(cents).scaleb(-2), loc, currency="EUR", currency_digits=True))


@lru_cache(maxsize=8)
def _currency_pattern(name: str) -> tuple[Locale, NumberPattern]:
    """Babel's locale and its standard currency pattern, read once per process."""
    loc = Locale.parse(name)
    return loc, loc.currency_formats["standard"]


def parse_amount_to_cents(text: str) -> int:
    """Read an amount of euros as a person types it and return cents.

    Accepted: ``10``, ``10,5``, ``10.50``, ``1 234,56`` (any kind of space between thousands),
    ``1.234,56``, ``1,234.56``, with an optional ``€`` or ``EUR`` before or after. Refused with a
    ValueError saying why: empty text, negative amounts, more than two decimals, anything else.
    Zero is returned as 0: whether zero is acceptable is the caller's rule.

    Hand-written rather than Babel's ``parse_decimal``: that one reads a single locale's convention,
    while a parent on the French page may paste ``1,234.56`` from an English bank app; here any of the
    three conventions is read, and an ambiguous ``1.234`` is refused instead of guessed.
    """
    if not isinstance(text, str):
        raise TypeError(f"an amount must be given as text, got {type(text).__name__}")
    s = text.strip()
    for space, plain in _SPACES.items():
        s = s.replace(space, plain)
    for currency in ("€", "EUR", "eur"):
        if s.startswith(currency):
            s = s[len(currency) :].strip()
        elif s.endswith(currency):
            s = s[: -len(currency)].strip()
    if not s:
        raise ValueError("the amount is empty")
    if s.startswith(_NEGATIVE_SIGNS):
        raise ValueError(f"the amount must not be negative: {text.strip()!r}")
    if s.startswith("+"):
        s = s[1:]
    match = _SPACE_GROUPED.fullmatch(s) or _DOT_GROUPED.fullmatch(s) or _COMMA_GROUPED.fullmatch(s)
    if match is None:
        raise ValueError(f"not an amount in euros: {text.strip()!r} (write it like 12,50)")
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise ValueError(f"an amount in euros has at most 2 decimals: {text.strip()!r}")
    whole = int(match["whole"].replace(" ", "").replace(".", "").replace(",", ""))
    cents = whole * 100 + int(frac.ljust(2, "0"))
    if cents > MAX_CENTS:
        raise ValueError(f"the amount is too large: {text.strip()!r}")
    return cents


def cents_to_decimal_str(cents: int) -> str:
    """The amount as the payment provider (Mollie) wants it: a string with exactly two decimals and a
    dot, ``1050`` → ``"10.50"``; negative amounts keep their sign (``"-0.05"``)."""
    cents = _check_cents(cents)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"
