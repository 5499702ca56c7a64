"""Parents' passwords: argon2id hashing and the policy a new password must meet.

Hashing uses argon2id with the RFC 9106 "low memory" profile of argon2-cffi (64 MiB, t=3, p=4), which
is above the OWASP minimum for argon2id (19 MiB, t=2, p=1): ``PasswordHasher`` refuses parameters below
that minimum. Passwords are NFKC-normalised before hashing and comparing (NIST SP 800-63B 5.1.1.2), so
the same password typed on another keyboard or system (é composed or decomposed, full-width digits)
still matches.

The policy follows NIST SP 800-63B rather than composition rules: at least 8 characters, up to 128
(so any passphrase of 64 characters is accepted), not a common password, not the parent's username or
e-mail address. The common passwords are the 30,000 of the ``zxcvbn`` package's frequency list plus a
few local ones, loaded on first use.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import argon2
from argon2 import profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128

# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB (19456 KiB), t=2, p=1.
OWASP_MINIMUM = argon2.Parameters(
    type=argon2.Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19456,
    parallelism=1,
)
# RFC 9106 section 4, second recommended option: m=64 MiB, t=3, p=4 (argon2-cffi's own default).
DEFAULT_PARAMETERS = profiles.RFC_9106_LOW_MEMORY

# Frequent in French-speaking Belgium and on this platform, and missing from zxcvbn's (mostly English)
# list; only entries of at least MIN_LENGTH characters matter, shorter ones are refused anyway.
_LOCAL_COMMON = (
    "motdepasse1",
    "motdepasse123",
    "monmotdepasse",
    "azerty1234",
    "azerty12345",
    "123azerty",
    "azertyui",
    "chouchou",
    "doudou123",
    "loulou123",
    "bonjour1",
    "bonjour123",
    "soleil123",
    "jetaime123",
    "belgique",
    "belgique1",
    "bruxelles",
    "charleroi",
    "anderlecht",
    "ecole123",
    "cartable",
    "cartable1",
    "cartable123",
    "itschool",
)


class WeakPassword(ValueError):
    """The password may not be chosen; ``code`` is ``mismatch``, ``too_short``, ``too_long``, ``common``
    or ``contains_username``. ``message`` is for logs and APIs; pages translate the code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_password(password: str) -> str:
    """The form hashed and measured: NFKC, nothing stripped (spaces are part of a password)."""
    return unicodedata.normalize("NFKC", password)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for comparisons (never stored)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common passwords, folded; read from zxcvbn on first call only."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(_fold(p) for p in (*FREQUENCY_LISTS["passwords"], *_LOCAL_COMMON))


def is_common(password: str) -> bool:
    folded = _fold(normalize_password(password))
    return folded in common_passwords() or len(set(folded)) <= 1


def _personal_words(username: str, email: str) -> set[str]:
    words = {_fold(value.strip()) for value in (username, email)}
    for value in (username, email.strip().rpartition("@")[0]):
        folded = _fold(value.strip())
        words.add(folded)
        # first and last names inside "emilie.dupre-lefevre" or "e.dupre2" (not the mail's domain)
        words.update(re.split(r"[^a-z]+", folded))
    return {word for word in words if len(word) >= 4}


def check_password_policy(password: str, confirm: str, *, username: str = "", email: str = "") -> None:
    """Raise ``WeakPassword`` if ``password`` (typed twice: ``password`` and ``confirm``) may not be
    chosen. Lengths count Unicode code points after NFKC normalisation."""
    normalized = normalize_password(password)
    if normalized != normalize_password(confirm):
        raise WeakPassword("mismatch", "the two passwords are different")
    if len(normalized) < MIN_LENGTH:
        raise WeakPassword("too_short", f"the password needs at least {MIN_LENGTH} characters")
    if len(normalized) > MAX_LENGTH:
        raise WeakPassword("too_long", f"the password may have at most {MAX_LENGTH} characters")
    if is_common(normalized):
        raise WeakPassword("common", "this password is too common; choose another one")
    folded = _fold(normalized)
    if any(word in folded for word in _personal_words(username, email)):
        raise WeakPassword(
            "contains_username", "the password must not contain your username or e-mail address"
        )


class PasswordHasher:
    """argon2id hashing; ``verify`` answers False on any mismatch or unreadable hash, never raises."""

    def __init__(self, parameters: argon2.Parameters = DEFAULT_PARAMETERS) -> None:
        if (
            parameters.type is not argon2.Type.ID
            or parameters.memory_cost < OWASP_MINIMUM.memory_cost
            or parameters.time_cost < OWASP_MINIMUM.time_cost
            or parameters.parallelism < 1
            or parameters.salt_len < 16
            or parameters.hash_len < 16
        ):
            raise ValueError("argon2 parameters below the OWASP minimum for argon2id")
        self.parameters = parameters
        self._hasher = argon2.PasswordHasher.from_parameters(parameters)

    def hash(self, password: str) -> str:
        """A ``$argon2id$...`` string embedding its salt and parameters."""
        return self._hasher.hash(normalize_password(password))

    def verify(self, hash: str, password: str) -> bool:
        if not isinstance(hash, str) or not isinstance(password, str):
            return False
        try:
            return self._hasher.verify(hash, normalize_password(password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hash: str) -> bool:
        """True if ``hash`` was made with other parameters than ours: rehash it after a successful
        sign-in, while the password is at hand."""
        try:
            return self._hasher.check_needs_rehash(hash)
        except InvalidHashError:
            return True

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash("cartable dummy password")

    def dummy_verify(self, password: str) -> bool:
        """Spend the time of a real verification and answer False: for a username that does not exist,
        so that the response time does not tell which usernames do."""
        self.verify(self._dummy_hash, password)
        return False
