"""The settings' rules (domain/school_settings) and the identity token's reauthenticated_at claim
(kit/identity: what finance's IBAN change reads; issued by auth's Reauthenticate)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from kit.errors import Forbidden, Unauthenticated
from kit.identity import AUDIENCE, ISSUER, Identity, TokenSigner, TokenVerifier, generate_keypair
from services.finance.domain.school_settings import (
    Reminders,
    iban_changes,
    mask_iban,
    reminder_errors,
    validate_creditor_id,
    validate_enterprise_number,
)

# --- domain ------------------------------------------------------------------------------------------


def test_ibans_travel_masked_to_their_country_and_last_four():
    assert mask_iban("BE68539007547034") == "BE** **** **** 7034"
    assert mask_iban("FR1420041010050500013M02606") == "FR** **** **** **** **** ***2 606"
    assert mask_iban("") == ""


def test_setting_the_first_iban_is_a_change_and_the_same_one_is_not():
    assert iban_changes("", "BE68539007547034")
    assert iban_changes("BE68539007547034", "BE71096123456769")
    assert not iban_changes("BE68539007547034", "BE68539007547034")


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("BE69ZZZ050D000000008", "BE69ZZZ050D000000008"),
        ("be 69 zzz 050d000000008", "BE69ZZZ050D000000008"),
        ("BE80ZZZ0203201340", "BE80ZZZ0203201340"),
        ("ES23ZZZ47690558N", "ES23ZZZ47690558N"),
        ("", ""),
    ],
)
def test_a_creditor_identifier_is_checked_and_compacted(text, compact):
    assert validate_creditor_id(text) == compact


@pytest.mark.parametrize("text", ["BE70ZZZ050D000000008", "BE68539007547034", "ZZZ", "BE69ZZZ"])
def test_a_wrong_creditor_identifier_is_refused(text):
    with pytest.raises(ValueError, match="not a SEPA creditor identifier"):
        validate_creditor_id(text)


@pytest.mark.parametrize(
    "text", ["0203.201.340", "0203201340", "BE 0203.201.340", "BE0203201340", " 0203 201 340 "]
)
def test_an_enterprise_number_is_checked_and_kept_as_ten_digits(text):
    assert validate_enterprise_number(text) == "0203201340"


@pytest.mark.parametrize("text", ["0203.201.341", "123", "BE68539007547034", "abcdefghij"])
def test_a_wrong_enterprise_number_is_refused(text):
    with pytest.raises(ValueError, match="not a Belgian enterprise number"):
        validate_enterprise_number(text)


def test_reminders_are_bounded():
    assert reminder_errors(Reminders(True, 7, 14, 3)) == {}
    assert set(reminder_errors(Reminders(True, 0, 181, 0))) == {
        "first_after_days",
        "repeat_every_days",
        "max_count",
    }


# --- kit.identity: reauthenticated_at ----------------------------------------------------------------


@pytest.fixture
def pair(tmp_path):
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    return TokenSigner.from_file(tmp_path / "k.pem"), TokenVerifier.from_files([tmp_path / "k.pub"])


def test_reauthenticated_at_survives_the_round_trip_and_is_none_when_absent(pair):
    signer, verifier = pair
    base = Identity(account_id="a", role="staff", school_id="s", students={"x": "1A"})
    plain = verifier.verify(signer.sign(base)[0])
    assert plain.reauthenticated_at is None
    assert (plain.account_id, plain.role, plain.school_id, plain.students) == ("a", "staff", "s", {"x": "1A"})
    at = int(time.time()) - 42
    again = verifier.verify(signer.sign(Identity("a", "staff", "s", reauthenticated_at=at))[0])
    assert again.reauthenticated_at == at
    assert "reauthenticated_at" not in jwt.decode(signer.sign(base)[0], options={"verify_signature": False})


@pytest.mark.parametrize("bad", ["1700000000", 1.5, True, [1]])
def test_a_malformed_reauthenticated_at_is_refused(pair, tmp_path, bad):
    _signer, verifier = pair
    key = serialization.load_pem_private_key((tmp_path / "k.pem").read_bytes(), password=None)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "role": "staff", "school": "s", "exp": now + 60}
    token = jwt.encode({**claims, "reauthenticated_at": bad}, key, algorithm="EdDSA")  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


def test_a_forged_reauthentication_does_not_verify(pair, tmp_path):
    """The claim is only as good as the signature: another key's token is refused as before."""
    _signer, verifier = pair
    generate_keypair(tmp_path / "o.pem", tmp_path / "o.pub")
    other = TokenSigner.from_file(tmp_path / "o.pem")
    with pytest.raises(Unauthenticated):
        verifier.verify(other.sign(Identity("a", "staff", "s", reauthenticated_at=int(time.time())))[0])


def test_require_reauthenticated_counts_the_window_from_now():
    now = 1_800_000_000
    fresh = Identity("a", "staff", "s", reauthenticated_at=now - 300)
    fresh.require_reauthenticated(300, now=now)
    with pytest.raises(Forbidden) as err:
        Identity("a", "staff", "s", reauthenticated_at=now - 301).require_reauthenticated(300, now=now)
    assert err.value.code == "reauthentication_required"
    with pytest.raises(Forbidden):
        Identity("a", "staff", "s").require_reauthenticated(300, now=now)
    assert Identity("a", "staff", "s", reauthenticated_at=now + 20).reauthenticated_within(300, now=now)
    assert not Identity("a", "staff", "s", reauthenticated_at=now + 60).reauthenticated_within(300, now=now)
