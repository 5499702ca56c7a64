"""What a page keeps between two steps in Flask's session cookie, out of the browser's reach: the cookie
is only signed, so these values are encrypted too (Fernet, a key derived from the app's secret and
the value's purpose) and good for a limited time.

Used for the connection token between the two steps of /jeton, the username and password between
the two steps of a sign-in with a second factor (auth's SignIn wants both again with the code), the
authenticator secret while it is being set up, and the recovery codes until they are saved.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, session


def _fernet(purpose: str) -> Fernet:
    key = hashlib.sha256(f"cartable {purpose}\0".encode() + str(current_app.secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def keep(name: str, value: Any, purpose: str) -> None:
    """Keep ``value`` (anything JSON can write) under ``name`` until :func:`kept` or :func:`drop`."""
    session[name] = _fernet(purpose).encrypt(json.dumps(value).encode()).decode()


def kept(name: str, purpose: str, ttl: int) -> Any | None:
    """The value kept under ``name`` if it is younger than ``ttl`` seconds, else None (and dropped)."""
    sealed = session.get(name)
    if not sealed:
        return None
    try:
        return json.loads(_fernet(purpose).decrypt(sealed.encode(), ttl=ttl))
    except (InvalidToken, ValueError):
        session.pop(name, None)
        return None


def drop(*names: str) -> None:
    for name in names:
        session.pop(name, None)
