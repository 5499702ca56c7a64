"""TOTP codes and recovery codes (domain/second_factor.py), and the sealed storage of the secrets
(secretbox.py)."""

from __future__ import annotations

import dataclasses
import re
import stat
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from cryptography.fernet import Fernet

from kit.settings import SettingsError, load_settings
from services.auth.app import registrations
from services.auth.domain.second_factor import (
    code_at,
    hash_recovery_code,
    looks_like_totp,
    matching_step,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    step_at,
)
from services.auth.secretbox import SecretBox, local_key_file, totp_box

T0 = datetime(2026, 9, 1, 7, 30, 10, tzinfo=UTC)


def test_a_code_is_what_an_authenticator_app_computes():
    secret = new_secret()
    assert len(pyotp.TOTP(secret).byte_secret()) >= 20  # 160 bits
    assert code_at(secret, T0) == pyotp.TOTP(secret).at(T0)
    assert matching_step(secret, code_at(secret, T0), T0, None) == step_at(T0)


def test_a_code_is_accepted_one_step_either_side_and_no_further():
    secret = new_secret()
    for offset, accepted in [(-60, False), (-30, True), (0, True), (30, True), (60, False)]:
        code = code_at(secret, T0 + timedelta(seconds=offset))
        assert (matching_step(secret, code, T0, None) is not None) is accepted, offset


def test_a_used_step_s_code_and_older_ones_are_refused():
    secret = new_secret()
    now_code = code_at(secret, T0)
    step = matching_step(secret, now_code, T0, None)
    assert step is not None
    assert matching_step(secret, now_code, T0, step) is None  # replayed in the same step
    assert matching_step(secret, code_at(secret, T0 - timedelta(seconds=30)), T0, step) is None
    later = T0 + timedelta(seconds=30)
    assert matching_step(secret, code_at(secret, later), later, step) == step + 1


def test_codes_typed_with_spaces_are_read_and_other_text_is_not_a_code():
    secret = new_secret()
    code = code_at(secret, T0)
    assert matching_step(secret, f" {code[:3]} {code[3:]} ", T0, None) is not None
    assert looks_like_totp("123 456") and not looks_like_totp("12345") and not looks_like_totp("ABCD-EFGH")
    assert matching_step(secret, "", T0, None) is None
    assert matching_step(secret, "12345a", T0, None) is None


def test_the_provisioning_uri_names_the_issuer_the_account_and_the_secret():
    uri = provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "anne.lambert", "École Sainte-Marie")
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert "anne.lambert" in parsed.path and parsed.path.startswith("/Cartable:")
    query = parse_qs(parsed.query)
    assert query["secret"] == ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"]
    assert query["issuer"] == ["Cartable"]


def test_ten_distinct_recovery_codes_of_80_random_bits_readable_in_blocks():
    codes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", c) for c in codes)


def test_a_recovery_code_s_hash_ignores_case_spaces_and_dashes():
    (code,) = new_recovery_codes(1)
    h = hash_recovery_code(code)
    assert len(h) == 64 and code not in h
    assert hash_recovery_code(code.lower().replace("-", " ")) == h
    assert hash_recovery_code(new_recovery_codes(1)[0]) != h


# -- sealed secrets -------------------------------------------------------------------------------


def test_a_sealed_secret_does_not_show_and_opens_with_the_key_only():
    box = SecretBox([Fernet.generate_key()])
    secret = new_secret()
    sealed = box.seal(secret)
    assert secret not in sealed
    assert box.open(sealed) == secret
    with pytest.raises(ValueError, match="unknown key"):
        SecretBox([Fernet.generate_key()]).open(sealed)


def test_a_rotated_key_still_opens_what_the_old_one_sealed():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = SecretBox([old]).seal("S3CRET")
    rotated = SecretBox([new, old])
    assert rotated.open(sealed) == "S3CRET"
    assert SecretBox([new]).open(rotated.seal("S3CRET")) == "S3CRET"  # the first key seals


def test_a_local_run_writes_its_own_key_once_readable_by_its_owner_only(tmp_path):
    settings = load_settings("auth", {"CARTABLE_VAR_DIR": str(tmp_path)})
    sealed = totp_box(settings).seal("S3CRET")
    path = local_key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert totp_box(settings).open(sealed) == "S3CRET"  # the same key the next time


def test_the_key_comes_from_the_setting_when_given(tmp_path):
    key = Fernet.generate_key().decode()
    settings = load_settings("auth", {"CARTABLE_VAR_DIR": str(tmp_path), "AUTH_TOTP_KEY": key})
    assert SecretBox([key.encode()]).open(totp_box(settings).seal("x")) == "x"
    assert not local_key_file(settings).exists()
    with pytest.raises(SettingsError):
        totp_box(dataclasses.replace(settings, auth_totp_key="not a key"))


def test_production_refuses_to_serve_without_the_key(sqlite_rt):
    sqlite_rt.settings = dataclasses.replace(sqlite_rt.settings, env="production", auth_totp_key="")
    with pytest.raises(SettingsError, match="AUTH_TOTP_KEY"):
        registrations(sqlite_rt)
    sqlite_rt.settings = dataclasses.replace(sqlite_rt.settings, auth_totp_key=Fernet.generate_key().decode())
    assert registrations(sqlite_rt)
