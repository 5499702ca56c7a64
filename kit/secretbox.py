"""What a service must read back but nobody else may (auth's TOTP secrets, the national numbers of
finance's tax certificates) is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, cryptography's):
a leaked database, backup or outbox gives no one's secret.

Each box has its key setting: one or more Fernet keys, comma-separated; the first encrypts, every one
decrypts, so a rotation puts the new key first and keeps the old one until everything was re-encrypted.

- ``totp_box``: ``AUTH_TOTP_KEY`` (``auth_totp_key``), auth's alone;
- ``national_number_box``: ``NATIONAL_NUMBER_KEY`` (``national_number_key``), one per deployment,
  shared by finance (which seals) and documents (which opens to render a certificate's PDF).

In a local run or a test, without it, a key is written once under ``var/keys/`` (readable by its owner
only, shared by every process of the run), as the identity keys are; any other environment refuses,
naming the variable, where the box is built (each process that uses it builds it at start).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kit.settings import Settings, SettingsError

TOTP_KEY_FILE = "totp.key"
NATIONAL_NUMBER_KEY_FILE = "national_numbers.key"


class SecretBox:
    """Encrypts short secrets to text and back."""

    def __init__(self, keys: list[bytes], variable: str = "the secret box's key") -> None:
        if not keys:
            raise SettingsError(f"{variable}: no key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise SettingsError(
                f"{variable}: each key must be a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def seal(self, plain: str) -> str:
        """``plain`` encrypted (a different text each time), as ASCII."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text; ValueError (naming no part of it) when it was not sealed by one of our keys."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise ValueError("a secret sealed with an unknown key") from None


def local_key_file(settings: Settings, name: str = TOTP_KEY_FILE) -> Path:
    """Where a local run keeps the key ``name`` (``totp.key`` by default)."""
    return settings.var_dir / "keys" / name


def box_from_setting(settings: Settings, value: str, variable: str, key_file: str) -> SecretBox:
    """The box of the keys in ``value`` (the setting ``variable``), or, in a local run or a test only,
    of the key in ``local_key_file(settings, key_file)``, written when missing."""
    if value:
        return SecretBox([k.strip().encode("ascii") for k in value.split(",") if k.strip()], variable)
    if not settings.is_local:
        raise SettingsError(f"missing environment variable {variable}")
    path = local_key_file(settings, key_file)
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
    return SecretBox([path.read_bytes().strip()], variable)


def totp_box(settings: Settings) -> SecretBox:
    """The box of auth's TOTP secrets (``AUTH_TOTP_KEY``)."""
    return box_from_setting(settings, settings.auth_totp_key, "AUTH_TOTP_KEY", TOTP_KEY_FILE)


def national_number_box(settings: Settings) -> SecretBox:
    """The box of the national numbers finance keeps and sends (``NATIONAL_NUMBER_KEY``)."""
    return box_from_setting(
        settings, settings.national_number_key, "NATIONAL_NUMBER_KEY", NATIONAL_NUMBER_KEY_FILE
    )
