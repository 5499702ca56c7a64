import unicodedata

import argon2
import pytest

from services.auth.domain.passwords import (
    DEFAULT_PARAMETERS,
    MAX_LENGTH,
    OWASP_MINIMUM,
    PasswordHasher,
    WeakPassword,
    check_password_policy,
    common_passwords,
    is_common,
)


@pytest.fixture(scope="module")
def hasher():
    return PasswordHasher()


@pytest.fixture(scope="module")
def stored(hasher):
    # one real hash for the whole module: argon2 is slow on purpose
    return hasher.hash("Crème brûlée au jardin")


def _params(encoded: str) -> dict[str, int]:
    # $argon2id$v=19$m=65536,t=3,p=4$salt$hash
    return {k: int(v) for k, v in (kv.split("=") for kv in encoded.split("$")[3].split(","))}


def test_hash_is_argon2id_with_at_least_owasp_parameters(stored):
    assert stored.startswith("$argon2id$v=19$")
    params = _params(stored)
    assert params["m"] >= 19456
    assert params["t"] >= 2
    assert params["p"] >= 1


def test_hashing_twice_gives_different_salted_hashes(hasher, stored):
    assert hasher.hash("Crème brûlée au jardin") != stored


def test_verify_accepts_the_right_password(hasher, stored):
    assert hasher.verify(stored, "Crème brûlée au jardin") is True


def test_verify_accepts_the_password_typed_in_another_unicode_form(hasher, stored):
    assert hasher.verify(stored, unicodedata.normalize("NFD", "Crème brûlée au jardin")) is True


def test_verify_answers_false_on_a_wrong_password(hasher, stored):
    assert hasher.verify(stored, "creme brulee au jardin") is False


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$argon2id$v=19$m=1", None])
def test_verify_answers_false_on_an_unreadable_hash(hasher, bad_hash):
    assert hasher.verify(bad_hash, "whatever") is False


def test_a_current_hash_needs_no_rehash(hasher, stored):
    assert hasher.needs_rehash(stored) is False


def test_a_hash_made_with_weaker_parameters_needs_rehash(hasher):
    weaker = argon2.PasswordHasher.from_parameters(OWASP_MINIMUM).hash("Crème brûlée au jardin")
    assert hasher.needs_rehash(weaker) is True
    assert hasher.verify(weaker, "Crème brûlée au jardin") is True


def test_an_unreadable_hash_needs_rehash(hasher):
    assert hasher.needs_rehash("plaintext?") is True


def test_parameters_below_the_owasp_minimum_are_refused():
    with pytest.raises(ValueError, match="OWASP minimum"):
        PasswordHasher(argon2.profiles.CHEAPEST)
    assert DEFAULT_PARAMETERS.type is argon2.Type.ID


def test_dummy_verify_is_always_false(hasher):
    assert hasher.dummy_verify("cartable dummy password") is False


# --- policy ---------------------------------------------------------------------------------------


def _code(password, confirm=None, **kw):
    with pytest.raises(WeakPassword) as caught:
        check_password_policy(password, password if confirm is None else confirm, **kw)
    return caught.value.code


def test_different_confirmation_is_refused_as_mismatch():
    assert _code("a long sentence here", "a long sentence hero") == "mismatch"


def test_confirmation_in_another_unicode_form_matches():
    check_password_policy("Mère-grand 1912!", unicodedata.normalize("NFD", "Mère-grand 1912!"))


def test_seven_characters_are_too_short_and_eight_are_enough():
    assert _code("Xk#9v!q") == "too_short"
    check_password_policy("Xk#9v!qZ", "Xk#9v!qZ")


def test_length_counts_code_points_after_nfkc():
    # 8 characters once composed, 12 code points when decomposed: still 8
    decomposed = unicodedata.normalize("NFD", "éèêëàâçô")
    assert len(decomposed) > 8
    check_password_policy(decomposed, decomposed)
    # the ligature "ﬃ" is 1 code point before NFKC, 3 after: "ﬃ" * 3 is 9 characters, not 3
    check_password_policy("ﬃﬃﬃ", "ﬃﬃﬃ")


def test_a_64_character_passphrase_is_accepted():
    passphrase = "le chat de la voisine dort sur le toit de la grange chaque midi!"
    assert len(passphrase) == 64
    check_password_policy(passphrase, passphrase, username="emilie.dupre", email="emilie@example.be")


def test_128_characters_are_accepted_and_129_too_long():
    check_password_policy("ab3$" * 32, "ab3$" * 32)
    assert len("ab3$" * 32) == MAX_LENGTH
    assert _code("ab3$" * 32 + "x") == "too_long"


def test_unicode_passwords_are_accepted():
    for password in ("Łódź żółć 2024", "пароль-очень-длинный", "日本語のパスワードです", "🐢🐢🐇🐢🐇🐢🐇🐇"):
        check_password_policy(password, password)


@pytest.mark.parametrize(
    "password", ["password", "PassWord", "12345678", "iloveyou", "azertyuiop", "motdepasse"]
)
def test_common_passwords_are_refused_whatever_the_case(password):
    assert _code(password) == "common"


def test_local_common_passwords_and_repeated_characters_are_refused():
    assert _code("Cartable123") == "common"
    assert _code("00000000") == "common"


def test_the_common_list_is_large_and_loaded_once():
    assert len(common_passwords()) >= 30_000
    assert common_passwords() is common_passwords()
    assert not is_common("Tortue-Rapide-Au-Matin")


@pytest.mark.parametrize(
    "password",
    ["emilie.dupre-lefevre!", "xx Emilie 2015", "Dupré-Lefèvre 1980", "my emilie@example.be!", "emilie77@@"],
)
def test_passwords_containing_the_username_or_email_are_refused(password):
    code = _code(password, username="emilie.dupre-lefevre", email="emilie77@example.be")
    assert code == "contains_username"


def test_the_email_domain_alone_does_not_count_as_personal():
    check_password_policy(
        "gmail rocks, mostly", "gmail rocks, mostly", username="li.wu", email="li@gmail.com"
    )


def test_weak_password_carries_code_and_message():
    error = WeakPassword("too_short", "the password needs at least 8 characters")
    assert error.code == "too_short"
    assert error.message == str(error)
    assert isinstance(error, ValueError)
