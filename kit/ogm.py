"""Belgian structured communication (OGM / VCS): ``+++123/4567/89002+++``.

Ten digits and two check digits, ``int(first ten) % 97`` with a remainder of 0 written ``97``. The
checks are python-stdnum's ``stdnum.be.ogm_vcs``; this module adds the forms Cartable needs. The
canonical value kept in databases and messages is the 12 bare digits.
"""

from __future__ import annotations

import random
import secrets

from stdnum.be import ogm_vcs

__all__ = ["format_ogm", "make_ogm", "new_ogm", "normalize_ogm"]

_BASE_LIMIT = 10**10  # ten digits


def make_ogm(base10: int) -> str:
    """The 12 bare digits of the structured communication whose first ten digits are ``base10``
    (left-padded with zeros). ``0`` is refused: an all-zero communication is invalid."""
    if isinstance(base10, bool) or not isinstance(base10, int):
        raise TypeError(f"the base of a structured communication must be an int, got {type(base10).__name__}")
    if not 0 < base10 < _BASE_LIMIT:
        raise ValueError(f"the base of a structured communication must be 1..9999999999, got {base10}")
    base = f"{base10:010d}"
    return base + ogm_vcs.calc_check_digits(base)


def normalize_ogm(text: str | None) -> str | None:
    """The 12 bare digits of a structured communication written any usual way (``+++…+++``,
    ``***…***``, with or without slashes and spaces), or None when ``text`` is not a valid one
    (wrong length or check digits, non-ASCII digits, or a base of ten zeros)."""
    if not isinstance(text, str):
        return None
    s = text.strip().strip("+*").strip()
    s = "".join(s.split()).replace("/", "")
    if len(s) != 12 or not s.isascii() or not s.isdigit():
        return None
    # stdnum accepts 000000000097 (ten zeros, check digits 97); Cartable never issues a zero base
    # (see make_ogm), so such a reference cannot be ours.
    if s[:10] == "0" * 10:
        return None
    # the check digits once (ogm_vcs.is_valid would clean and re-check the string: CODA imports call
    # this for every movement)
    return s if ogm_vcs.calc_check_digits(s[:10]) == s[10:] else None


def format_ogm(digits: str) -> str:
    """``'123456789002'`` (or any form :func:`normalize_ogm` accepts) → ``'+++123/4567/89002+++'``.
    An invalid communication raises ValueError rather than printing a reference no bank accepts."""
    canonical = normalize_ogm(digits)
    if canonical is None:
        raise ValueError(f"not a valid structured communication: {digits!r}")
    return f"+++{ogm_vcs.format(canonical)}+++"


def new_ogm(rand: random.Random | None = None) -> str:
    """A fresh random structured communication (12 bare digits). Uses ``secrets`` unless a seeded
    ``random.Random`` is given (tests). The ten random digits are never all zero. Uniqueness is the
    caller's business (a unique index and a retry)."""
    if rand is None:
        base = secrets.randbelow(_BASE_LIMIT - 1) + 1
    else:
        base = rand.randrange(1, _BASE_LIMIT)
    return make_ogm(base)
