"""Secrets auth must read back (the TOTP secrets of the second factor) are stored encrypted with
Fernet (AES-128-CBC + HMAC-SHA256, cryptography's): a leaked database or backup gives no one's codes.

The key comes from ``AUTH_TOTP_KEY`` (kit/settings.py ``auth_totp_key``): one or more Fernet keys,
comma-separated; the first encrypts, every one decrypts, so a rotation puts the new key first and
keeps the old one until every secret was re-encrypted. In a local run or a test, without it, a key is
written once under ``var/keys/totp.key`` (readable by its owner only), as the identity keys are; any
other environment refuses to start without it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kit.settings import Settings, SettingsError


class SecretBox:
    """Encrypts short secrets to text and back."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SettingsError("no key for the TOTP secrets")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise SettingsError(
                "AUTH_TOTP_KEY: each key must be a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text; ValueError when it was not sealed by one of our keys."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("a secret sealed with an unknown key") from None


def local_key_file(settings: Settings) -> Path:
    return settings.var_dir / "keys" / "totp.key"


def totp_box(settings: Settings) -> SecretBox:
    """The box of the TOTP secrets, from ``auth_totp_key``, or (local runs and tests only) from the
    local key file, written when missing."""
    if settings.auth_totp_key:
        return SecretBox([k.strip().encode("ascii") for k in settings.auth_totp_key.split(",") if k.strip()])
    if not settings.is_local:
        raise SettingsError("missing environment variable AUTH_TOTP_KEY")
    path = local_key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        try:
            os.link(tmp, path)  # only if still missing: two processes starting at once agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return SecretBox([path.read_bytes().strip()])
