"""Auth's TOTP secrets are sealed with ``kit.secretbox`` (Fernet, key ``AUTH_TOTP_KEY``; a local run
writes its own under ``var/keys/totp.key``); the box lives in kit since finance and documents seal the
national numbers with one too. Re-exported here for auth's imports."""

from kit.secretbox import SecretBox, local_key_file, totp_box

__all__ = ["SecretBox", "local_key_file", "totp_box"]
