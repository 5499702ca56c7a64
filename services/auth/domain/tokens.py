"""Connection tokens (the one-time code mailed to a parent to set a password) and session ids.

A token is 28 characters drawn by ``secrets`` from Crockford's base32 alphabet (no I, L, O, U), so
28 x 5 = 140 bits of entropy, shown in blocks of 4: ``7KQ2-M9XD-...``. What the parent types back is
normalised before lookup: surrounding and inner whitespace, missing or extra dashes and lower case are
tolerated, and O / I / L are read as 0 / 1 / 1 (Crockford's decoding), so a token copied from the mail
or retyped from paper works.

Only ``hash_token(token)`` is stored. A plain SHA-256 without salt is enough here: salts and slow hashes
protect low-entropy secrets (passwords) against precomputed tables and dictionaries, and a uniformly
random 140-bit token has neither; brute-forcing 2^140 candidates is out of reach whatever the hash
speed. Being deterministic, the hash can be a unique, indexed column looked up directly.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Literal

# A first connection's token (created, or sent again by the school) lives 14 days, as the guide says;
# a forgotten password's lives 1 hour: it is asked for by whoever types the address, and used at once.
TOKEN_TTL = timedelta(days=14)
RESET_TOKEN_TTL = timedelta(hours=1)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
TOKEN_LENGTH = 28  # characters drawn; the dashes come on top
GROUP = 4
TOKEN_BITS = TOKEN_LENGTH * math.log2(len(ALPHABET))

_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_]+")

TokenState = Literal["valid", "used", "expired", "revoked"]


def _grouped(compact: str) -> str:
    return "-".join(compact[i : i + GROUP] for i in range(0, len(compact), GROUP))


def new_connection_token() -> str:
    """A fresh token to mail to the parent, e.g. ``7KQ2-M9XD-0BFT-RZ4E-HWN8-3CJA-PV6S``."""
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH)))


def normalize_token(text: str) -> str:
    """The canonical form of a typed token (what ``new_connection_token`` returns for a token typed
    right). Text that is not a token stays not a token: it normalises to something no hash matches."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper().translate(_CONFUSABLE)
    return _grouped(compact)


def hash_token(token: str) -> str:
    """SHA-256 (hex) of the normalised token: what is stored and looked up."""
    return hashlib.sha256(normalize_token(token).encode("utf-8")).hexdigest()


def new_session_id() -> str:
    """A session id for the cookie: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def session_hash(session_token: str) -> str:
    """What the sessions table stores for an opaque session token (SHA-256, hex)."""
    return hashlib.sha256(session_token.encode("utf-8")).hexdigest()


def token_ttl(reason: str = "created") -> timedelta:
    """How long a token issued for ``reason`` (created | reissued | password_reset) lives."""
    return RESET_TOKEN_TTL if reason == "password_reset" else TOKEN_TTL


def token_expires_at(issued_at: datetime, reason: str = "created") -> datetime:
    return issued_at + token_ttl(reason)


def token_state(
    issued_at: datetime,
    used_at: datetime | None,
    revoked_at: datetime | None,
    now: datetime,
    reason: str = "created",
) -> TokenState:
    """Where a token stands at ``now``. ``revoked`` means a newer token replaced it (the service may show
    it like a used or unknown one). A token is valid from ``issued_at`` up to, not including,
    ``issued_at`` + its lifetime (``token_ttl``): at exactly 14 days (1 hour for a password reset) it has
    expired. Used wins over revoked, which wins over expired."""
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    if now >= token_expires_at(issued_at, reason):
        return "expired"
    return "valid"
