"""The second factor: TOTP (RFC 6238, as authenticator apps compute it: SHA-1, 6 digits, 30 s steps)
and single-use recovery codes.

A code is accepted for the current step and one step either side (a phone's clock a little off, a
code typed as it changes), and never twice: once a step's code was accepted, no code of that step or
an earlier one is, so a code seen over a shoulder or in a proxy's log cannot be replayed.

Recovery codes (10, shown once when the factor is set up) each open one sign-in when the phone is
lost. 16 characters of Crockford's base32 (80 random bits), shown as ``XXXX-XXXX-XXXX-XXXX``; like
connection tokens (domain/tokens.py) they are uniformly random, so a SHA-256 of the normalised code is
what is stored and looked up: a slow hash protects guessable secrets, which these are not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

ISSUER = "Cartable"
DIGITS = 6
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps either side of the current one
RECOVERY_CODES = 10
_RECOVERY_LENGTH = 16
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NOT_CODE = re.compile(r"[\s\-_.]+")


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits), what the authenticator app stores."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, school_name: str = "") -> str:
    """The ``otpauth://totp/...`` URI a QR code carries, naming the account as the app will list it."""
    label = f"{username} ({school_name})" if school_name else username
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=label, issuer_name=ISSUER
    )


def step_at(now: datetime) -> int:
    """The TOTP time step (counter) of an instant."""
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, now: datetime) -> str:
    """The code an app shows at ``now`` (tests and the set-up page's help)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)


def normalize_otp(text: str) -> str:
    """What was typed, without spaces, dashes or dots, upper case (codes are shown grouped)."""
    return _NOT_CODE.sub("", text or "").upper()


def looks_like_totp(text: str) -> bool:
    code = normalize_otp(text)
    return len(code) == DIGITS and code.isdigit()


def matching_step(secret: str, code: str, now: datetime, last_used_step: int | None) -> int | None:
    """The step whose code ``code`` is, within ±``VALID_WINDOW`` of ``now`` and after
    ``last_used_step``; None when it is none of them (wrong, too old, or replayed)."""
    code = normalize_otp(code)
    if not (len(code) == DIGITS and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_at(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """``n`` fresh recovery codes, e.g. ``7KQ2-M9XD-0BFT-RZ4E``."""
    codes = []
    for _ in range(n):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def hash_recovery_code(text: str) -> str:
    """SHA-256 (hex) of the typed code, normalised (dashes, spaces, case, O/I/L as 0/1/1)."""
    code = normalize_otp(text).translate(_CONFUSABLE)
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()
