import math
from datetime import UTC, datetime, timedelta

import pytest

from services.auth.domain.tokens import (
    ALPHABET,
    TOKEN_LENGTH,
    TOKEN_TTL,
    hash_token,
    new_connection_token,
    new_session_id,
    normalize_token,
    token_expires_at,
    token_state,
    token_ttl,
)

T0 = datetime(2024, 9, 2, 8, 30, tzinfo=UTC)


def test_a_token_carries_at_least_128_random_bits():
    token = new_connection_token()
    random_part = token.replace("-", "")
    assert len(random_part) == TOKEN_LENGTH
    assert set(random_part) <= set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert len(random_part) * math.log2(len(ALPHABET)) >= 128


def test_a_token_is_typeable_blocks_of_four_without_ambiguous_letters():
    token = new_connection_token()
    assert all(len(block) == 4 for block in token.split("-"))
    assert not set(token) & set("ILOU")


def test_tokens_are_distinct():
    assert len({new_connection_token() for _ in range(1000)}) == 1000


def test_a_fresh_token_is_already_normal():
    token = new_connection_token()
    assert normalize_token(token) == token


def test_spaces_around_and_lower_case_are_tolerated():
    token = new_connection_token()
    assert normalize_token(f"  {token.lower()} \n") == token
    assert hash_token(f"\t{token.lower()}  ") == hash_token(token)


def test_missing_extra_or_odd_dashes_and_inner_spaces_are_tolerated():
    token = new_connection_token()
    compact = token.replace("-", "")
    assert normalize_token(compact) == token
    assert normalize_token("--" + token.replace("-", " -- ") + "-") == token
    assert normalize_token(token.replace("-", "\u2013")) == token  # en dash from a word processor
    assert normalize_token(" ".join(compact)) == token


def test_o_i_l_are_read_as_zero_and_one():
    assert normalize_token("o1il-0000") == "0111-0000"


def test_hash_is_sha256_hex_and_differs_between_tokens():
    a, b = new_connection_token(), new_connection_token()
    assert len(hash_token(a)) == 64
    assert int(hash_token(a), 16) >= 0
    assert hash_token(a) != hash_token(b)
    assert a not in hash_token(a)


def test_session_ids_are_urlsafe_long_and_distinct():
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(
        len(i) >= 43 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for i in ids
    )


def test_a_token_lives_14_days():
    assert TOKEN_TTL.total_seconds() == 14 * 24 * 3600


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (T0, "valid"),
        (T0 + timedelta(days=14) - timedelta(microseconds=1), "valid"),
        (T0 + timedelta(days=14), "expired"),
        (T0 + timedelta(days=30), "expired"),
    ],
)
def test_a_token_is_valid_until_exactly_14_days(now, state):
    assert token_state(T0, None, None, now) == state


def test_a_password_reset_token_lives_one_hour_and_a_first_connection_s_14_days():
    assert token_ttl("password_reset") == timedelta(hours=1)
    assert token_ttl("created") == token_ttl("reissued") == timedelta(days=14)
    assert token_expires_at(T0, "password_reset") == T0 + timedelta(hours=1)
    assert token_state(T0, None, None, T0 + timedelta(minutes=59, seconds=59), "password_reset") == "valid"
    assert token_state(T0, None, None, T0 + timedelta(hours=1), "password_reset") == "expired"
    assert token_state(T0, None, None, T0 + timedelta(hours=1), "reissued") == "valid"


def test_a_used_token_stays_used_even_once_expired():
    used = T0 + timedelta(days=1)
    assert token_state(T0, used, None, T0 + timedelta(days=2)) == "used"
    assert token_state(T0, used, None, T0 + timedelta(days=20)) == "used"


def test_a_replaced_token_is_revoked_before_expiry_and_after():
    revoked = T0 + timedelta(days=3)
    assert token_state(T0, None, revoked, T0 + timedelta(days=4)) == "revoked"
    assert token_state(T0, None, revoked, T0 + timedelta(days=20)) == "revoked"
