from datetime import UTC, datetime, timedelta

import pytest

from services.auth.domain.throttle import (
    ACCOUNT_POLICY,
    ADDRESS_POLICY,
    Decision,
    SignInDecision,
    ThrottlePolicy,
    address_key,
    combine,
    decide,
    decide_sign_in,
    prune_before,
)

T0 = datetime(2024, 9, 2, 20, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_no_failures_no_delay():
    assert decide([], T0) == Decision(True, 0.0, 0)


def test_an_account_s_first_two_tries_are_free_then_delays_grow_and_cap():
    failures: list[datetime] = []
    delays = []
    for i in range(5):
        decision = decide(failures, s(10 * i), ACCOUNT_POLICY)
        assert decision.allowed
        delays.append(decision.delay_seconds)
        failures.append(s(10 * i + 1))
    assert delays == [0.0, 0.0, 0.5, 1.0, 2.0]


def test_five_account_failures_lock_it_for_five_minutes_even_for_the_right_password():
    failures = [s(i) for i in range(5)]  # last failure at T0 + 4 s
    decision = decide(failures, s(5), ACCOUNT_POLICY)
    assert decision == Decision(False, 0.0, 299)
    # a correct password changes nothing: decide is asked before checking it
    assert not decide(failures, s(4 + 299), ACCOUNT_POLICY).allowed
    assert decide(failures, s(4 + 299.5), ACCOUNT_POLICY).retry_after_seconds == 1


def test_an_account_lock_ends_after_its_window():
    failures = [s(i) for i in range(5)]
    after = decide(failures, s(4 + 300), ACCOUNT_POLICY)
    assert after.allowed
    assert after.delay_seconds == ACCOUNT_POLICY.max_delay


def test_one_more_failure_after_a_lock_locks_again_while_the_old_ones_count():
    failures = [s(i) for i in range(5)] + [s(310)]
    assert decide(failures, s(311), ACCOUNT_POLICY) == Decision(False, 0.0, 299)
    assert decide(failures, s(610), ACCOUNT_POLICY).allowed


def test_failures_older_than_the_window_do_not_count():
    failures = [s(0), s(1), s(2), s(3)]
    assert decide(failures, s(60), ACCOUNT_POLICY).delay_seconds == 2.0
    # 15 minutes after the first two, two remain: the third try waits the first delay
    assert decide(failures, s(15 * 60 + 1.5), ACCOUNT_POLICY) == Decision(True, 0.5, 0)
    assert decide(failures, s(15 * 60 + 2.5), ACCOUNT_POLICY) == Decision(True, 0.0, 0)
    # the window slides: a failure exactly 15 minutes old no longer counts
    assert decide(failures, s(15 * 60 + 3), ACCOUNT_POLICY) == Decision(True, 0.0, 0)


def test_five_failures_spread_over_more_than_the_window_never_lock():
    failures = [s(i * 240) for i in range(5)]  # one every 4 minutes: 16 minutes in all
    assert decide(failures, s(4 * 240 + 1), ACCOUNT_POLICY).allowed


def test_failures_in_any_order_and_old_ones_mixed_in():
    failures = [s(4), s(-3600), s(2), s(0), s(-7200), s(3), s(1)]
    assert decide(failures, s(10), ACCOUNT_POLICY).retry_after_seconds == 294


def test_an_address_tolerates_more_failures_before_slowing_and_locking():
    failures = [s(i) for i in range(10)]
    assert decide(failures, s(11), ADDRESS_POLICY) == Decision(True, 0.5, 0)
    assert decide([s(i) for i in range(29)], s(30), ADDRESS_POLICY) == Decision(True, 2.0, 0)
    locked = decide([s(i) for i in range(30)], s(30), ADDRESS_POLICY)
    assert locked == Decision(False, 0.0, 15 * 60 - 1)
    assert decide([s(i) for i in range(30)], s(29 + 15 * 60), ADDRESS_POLICY) == Decision(True, 0.0, 0)


def test_combine_refuses_if_any_refuses_for_the_longest_wait():
    assert combine(Decision(True, 0.5), Decision(False, 0, 120), Decision(False, 0, 30)) == Decision(
        False, 0.0, 120
    )
    assert combine(Decision(True, 0.5), Decision(True, 2.0)) == Decision(True, 2.0, 0)
    assert combine() == Decision(True, 0.0, 0)


def test_a_sign_in_from_a_locked_address_is_checked_after_the_longest_delay_and_only_a_failure_locked():
    address = [s(i) for i in range(30)]
    assert decide_sign_in([], address, s(30)) == SignInDecision(0, ADDRESS_POLICY.max_delay, 15 * 60 - 1)
    # the username's own failures still count as before
    assert decide_sign_in([s(29)] * 3, address, s(30)) == SignInDecision(0, 2.0, 15 * 60 - 1)


def test_a_locked_username_refuses_the_sign_in_whatever_the_address():
    account = [s(i) for i in range(5)]
    assert decide_sign_in(account, [], s(5)) == SignInDecision(refused_retry_after=5 * 60 - 1)
    assert decide_sign_in(account, None, s(5)) == SignInDecision(refused_retry_after=5 * 60 - 1)


def test_a_sign_in_waits_the_longer_of_its_username_s_and_address_s_delays():
    assert decide_sign_in([s(0)] * 2, [s(0)] * 10, s(1)) == SignInDecision(0, 0.5, 0)
    assert decide_sign_in([s(0)] * 4, [s(0)] * 10, s(1)) == SignInDecision(0, 2.0, 0)
    assert decide_sign_in([], [s(0)] * 12, s(1)) == SignInDecision(0, 2.0, 0)
    assert decide_sign_in([s(0)] * 3, None, s(1)) == SignInDecision(0, 1.0, 0)


def test_failures_older_than_every_window_may_be_pruned():
    assert prune_before(T0) == T0 - timedelta(minutes=15)
    longer = ThrottlePolicy(timedelta(hours=1), 1, 1.0, 2.0, 3, timedelta(minutes=1))
    assert prune_before(T0, ACCOUNT_POLICY, longer) == T0 - timedelta(hours=1)


def test_inconsistent_policies_are_refused():
    with pytest.raises(ValueError, match="lock_for may not exceed window"):
        ThrottlePolicy(timedelta(minutes=5), 2, 0.5, 2.0, 5, timedelta(minutes=10))
    with pytest.raises(ValueError, match="free_failures <= lock_after"):
        ThrottlePolicy(timedelta(minutes=5), 6, 0.5, 2.0, 5, timedelta(minutes=1))


def test_a_stranger_can_lock_an_account_only_a_few_minutes_at_a_time():
    assert ACCOUNT_POLICY.lock_for <= timedelta(minutes=5)
    assert ACCOUNT_POLICY.max_delay <= 2.0


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        (" 192.0.2.7 ", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_address_keys_group_an_ipv6_subscriber(address, key):
    assert address_key(address) == key
