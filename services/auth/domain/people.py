"""What the school types about people, checked and tidied: names, classes, the school's own student
id, levels, birth dates, Belgian national register numbers, and the keys that find a person by any
part of their name whatever the accents or case. Pure: every function takes text and answers text
(or a date), or raises ``BadValue`` with a machine code and an English reason."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum.be import nn
from stdnum.exceptions import ValidationError

NAME_MAX = 100
CLASS_MAX = 50
EXTERNAL_ID_MAX = 64
# Older than this on the day it is typed is a typo (1915 for 2015), not a pupil.
MAX_AGE_YEARS = 60

# nursery: maternelle / kleuter (issue #19: the Flemish maximum bill caps kleuter and lager apart).
LEVELS = ("nursery", "primary", "secondary")
# What spreadsheets of French- and Dutch-speaking schools say; the import accepts them all.
_LEVEL_WORDS = {
    "nursery": "nursery",
    "primary": "primary",
    "secondary": "secondary",
    "maternelle": "nursery",
    "kleuter": "nursery",
    "primaire": "primary",
    "secondaire": "secondary",
}

# Inside a name, besides letters (any script, with their accents) and digits: spaces, hyphens,
# apostrophes (typed or typographic) and dots (``St. John``).
_NAME_PUNCTUATION = frozenset(" -‐‑–'’ʼ`´.")
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MASK = "•" * 10

# letters NFKD does not split into an ASCII letter and its accents (as domain/usernames.py)
_LIGATURES = str.maketrans(
    {"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SEPARATORS = re.compile(r"[\s\-‐‑–.]+")


class BadValue(ValueError):
    """A value refused: ``code`` (required, too_long, invalid_name, ...) and a reason for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def tidy(value: str | None) -> str:
    """NFC, spaces trimmed and collapsed (tabs and no-break spaces included)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value or "")).strip()


def clean_name(value: str | None) -> str:
    """A first or last name as kept: ``"  jean-MARIE   d’Hondt "`` keeps its case but loses the extra
    spaces. Several first names are one field (``Marie Claire Anne``). Refused: empty, longer than
    100 characters, without a letter, or with a character that is no part of a name (``@``, ``<``,
    control characters...)."""
    name = tidy(value)
    if not name:
        raise BadValue("required", "required")
    if len(name) > NAME_MAX:
        raise BadValue("too_long", f"at most {NAME_MAX} characters")
    letters = 0
    for ch in name:
        kind = unicodedata.category(ch)
        if kind[0] == "L":
            letters += 1
        elif kind[0] != "M" and kind != "Nd" and ch not in _NAME_PUNCTUATION:
            raise BadValue("invalid_name", f"a name cannot contain {ch!r}")
    if not letters:
        raise BadValue("invalid_name", "a name has letters")
    return name


def clean_class(value: str | None) -> str:
    """A class name (``3A``, ``1re secondaire B``): 1 to 50 characters, spaces collapsed."""
    return _short_text(value, CLASS_MAX)


def clean_external_id(value: str | None) -> str:
    """The school's own student id, as its software exports it: 1 to 64 characters."""
    return _short_text(value, EXTERNAL_ID_MAX)


def _short_text(value: str | None, max_len: int) -> str:
    text = tidy(value)
    if not text:
        raise BadValue("required", "required")
    if len(text) > max_len:
        raise BadValue("too_long", f"at most {max_len} characters")
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise BadValue("invalid_text", "no control characters")
    return text


def looks_like_email(value: str) -> bool:
    """Something@somewhere.tld, at most 320 characters, no space (the mail server says the rest)."""
    return len(value) <= 320 and _EMAIL.match(value) is not None


def parse_level(value: str | None, *, french: bool = False) -> str:
    """``nursery``, ``primary`` or ``secondary`` (any case); with ``french`` (the import) also
    ``maternelle`` / ``kleuter``, ``primaire`` / ``secondaire``."""
    word = tidy(value).lower()
    level = _LEVEL_WORDS.get(word) if french else (word if word in LEVELS else None)
    if level is None:
        raise BadValue(
            "invalid_level",
            "nursery, primary or secondary"
            + (" (or maternelle, kleuter, primaire, secondaire)" if french else ""),
        )
    return level


def parse_birth_date(value: str | None, today: date, *, day_first: bool = False) -> date:
    """A birth date written ``YYYY-MM-DD`` (and, with ``day_first``, ``DD/MM/YYYY``), a real day,
    not after ``today`` nor more than 60 years before."""
    text = tidy(value)
    when = None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        y, mo, d = m.groups()
    elif day_first and (m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)):
        d, mo, y = m.groups()
    else:
        raise BadValue("invalid_date", "YYYY-MM-DD" + (" or DD/MM/YYYY" if day_first else ""))
    try:
        when = date(int(y), int(mo), int(d))
    except ValueError:
        raise BadValue("invalid_date", "no such day") from None
    if when > today:
        raise BadValue("invalid_date", "a birth date is not in the future")
    if when.year < today.year - MAX_AGE_YEARS:
        raise BadValue("invalid_date", f"more than {MAX_AGE_YEARS} years ago")
    return when


def clean_national_number(value: str | None) -> str:
    """A Belgian national register number (or BIS number), typed with any dots, dashes or spaces:
    its 11 digits, checked (python-stdnum ``be.nn``: the birth date part and the check digits)."""
    text = tidy(value)
    if not text:
        raise BadValue("required", "required")
    try:
        return str(nn.validate(text))
    except ValidationError:
        raise BadValue("invalid_national_number", "not a valid national register number") from None


def mask_national_number(digits: str) -> str:
    """What lists show of a national number: ``••••••••••91`` (its last two digits); "" for none."""
    return _MASK + digits[-2:] if digits else ""


def fold(text: str) -> str:
    """``"D’Hondt-Lefèvre"`` -> ``"dhondt lefevre"``: lower case, no accents, apostrophes dropped,
    hyphens, dots and spaces one space. What a search compares."""
    text = unicodedata.normalize("NFKC", text or "").casefold().translate(_LIGATURES)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text)
    return _SEPARATORS.sub(" ", text).strip()


def search_key(first_name: str, last_name: str, *more: str) -> str:
    """What a person is found by: both orders of the names (``marie dupont|dupont marie``, so that
    "dupont mar" finds her too), then ``more`` (a parent's e-mail), folded, ``|``-separated."""
    first, last = fold(first_name), fold(last_name)
    return "|".join([f"{first} {last}", f"{last} {first}", *(fold(m) for m in more)])


def search_term(q: str | None) -> str:
    """A typed search as ``search_key`` folded it ("" when nothing is left of it)."""
    return fold(q or "")[:200]
