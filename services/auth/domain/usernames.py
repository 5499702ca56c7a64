"""Usernames made from a parent's names: ``Émilie Dupré-Lefèvre`` becomes ``emilie.dupre-lefevre``,
then ``emilie.dupre-lefevre2``, ``...3`` when taken. Lower-case ASCII letters, dashes inside a name
(spaces too: ``Van den Bossche`` gives ``van-den-bossche``), a dot between first and last name; at most
``MAX_LENGTH`` characters, suffix included."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_LENGTH = 40
FALLBACK = "parent"  # for names with no Latin letter at all
MAX_TRIES = 10_000

# letters that NFKD does not decompose into an ASCII letter plus accents
_LIGATURES = str.maketrans(
    {"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i", "ĸ": "k"}
)


def _ascii_name(name: str) -> str:
    """``"D'Hondt"`` -> ``dhondt``, ``"Van den Bossche"`` -> ``van-den-bossche``."""
    text = unicodedata.normalize("NFKC", name).lower().translate(_LIGATURES)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"['’`´ʼ]", "", text)  # apostrophes join: d'hondt, o'brien
    text = re.sub(r"[^a-z]+", "-", text)  # spaces, dashes, anything else separate
    return text.strip("-")


def display_name(first_name: str, last_name: str) -> str:
    """How an account or a person is named to others: ``Marie Dupont``."""
    return f"{first_name} {last_name}".strip()


def normalize_username(text: str) -> str:
    """What a parent types in the username field, as stored (sign-in and throttling keys)."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def _cut(base: str, length: int) -> str:
    return base[:length].rstrip(".-")


def username_base(first_name: str, last_name: str) -> str:
    """The username these names give when it is free (every other candidate starts with it)."""
    base = ".".join(part for part in (_ascii_name(first_name), _ascii_name(last_name)) if part) or FALLBACK
    return _cut(base, MAX_LENGTH)


def candidates_prefix(base: str) -> str:
    """What every candidate ``make_username`` tries for this base starts with (a suffixed one is cut
    a few characters shorter), for finding in one query every username that could be in the way."""
    return base[: MAX_LENGTH - len(str(MAX_TRIES)) - 2]


def make_username(first_name: str, last_name: str, taken: Callable[[str], bool]) -> str:
    """The first free username for these names; ``taken(candidate)`` tells if one is in use (the
    caller still relies on a unique constraint against races)."""
    base = username_base(first_name, last_name)
    if not taken(base):
        return base
    for n in range(2, MAX_TRIES):
        suffix = str(n)
        candidate = _cut(base, MAX_LENGTH - len(suffix)) + suffix
        if not taken(candidate):
            return candidate
    raise RuntimeError(f"no free username for {base!r}")
