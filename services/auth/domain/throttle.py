"""How failed sign-ins are slowed, then refused for a while (HTTP 429), per account and per address.

The service keeps, for each key (the normalised username typed, whether or not it exists, and the
client's address, see ``address_key``), the times of the failed sign-ins it checked, and asks
``decide`` before checking a password:

* the first failures in the window are free, then each attempt waits a growing delay (0.5 s, 1 s,
  2 s, capped at 2 s) before the password is checked;
* once ``lock_after`` failures fall within the window, the key is locked for ``lock_for`` after the
  latest of them: every attempt is refused, a correct password too (otherwise a lock would only tell
  the attacker when a guess is right). Refused attempts are not failures and must not be recorded,
  so a lock always ends ``lock_for`` after the last checked failure;
* after a lock, while the failures that caused it are still in the window, each attempt waits the
  longest delay and one more failure locks again: a guesser gets one try per ``lock_for``;
* windows slide: failures older than ``window`` no longer count. A successful sign-in should clear the
  account's failures.

An address's lock is not an account's (``decide_sign_in``): a school's Wi-Fi or a mobile operator's
NAT puts many parents behind one address (a parents' evening), and one machine there trying
usernames must not shut all of them out. So while an address is locked its attempts still wait the
longest delay and are still checked: the right password of an existing account signs in (its own
username's throttling alone applies), and anything else (a wrong password, an unknown username) is
answered with the address's lock, the same for both, so the lock tells the guesser nothing more.

Numbers: an account is locked 5 minutes after 5 failures within 15 minutes, so a stranger who knows a
parent's username can shut them out only 5 minutes at a time, and must keep trying to keep them out,
which also feeds the address's count. An address is locked 15 minutes after 30 failures within 15
minutes: more than an account, yet enough to slow one machine trying a common password against many
usernames to one try per longest delay, each answered "locked".
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Decision:
    allowed: bool
    delay_seconds: float = 0.0  # wait this long before checking the password (allowed only)
    retry_after_seconds: int = 0  # for the Retry-After header (refused only)


ALLOW = Decision(True)


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta  # failures older than this do not count
    free_failures: int  # this many failures in the window cost no delay
    first_delay: float  # seconds, then doubled with each further failure
    max_delay: float  # seconds
    lock_after: int  # this many failures in the window lock the key
    lock_for: timedelta  # from the latest failure

    def __post_init__(self) -> None:
        if not 0 <= self.free_failures <= self.lock_after or self.lock_after < 1:
            raise ValueError("need 0 <= free_failures <= lock_after, lock_after >= 1")
        if self.lock_for > self.window:
            # the lock is anchored on a failure that must still be in the window when the lock ends
            raise ValueError("lock_for may not exceed window")

    def delay_after(self, failures: int) -> float:
        """The wait before checking a password when ``failures`` failures are in the window."""
        if failures < self.free_failures:
            return 0.0
        return min(self.first_delay * 2.0 ** (failures - self.free_failures), self.max_delay)


# Per account (the username typed): 1st and 2nd tries free, then 0.5 s, 1 s, 2 s; 5 failures within
# 15 min lock the account for 5 min.
ACCOUNT_POLICY = ThrottlePolicy(
    window=timedelta(minutes=15),
    free_failures=2,
    first_delay=0.5,
    max_delay=2.0,
    lock_after=5,
    lock_for=timedelta(minutes=5),
)

# Per client address: 10 failures within 15 min free, then 0.5 s, 1 s, 2 s...; 30 lock it for 15 min.
ADDRESS_POLICY = ThrottlePolicy(
    window=timedelta(minutes=15),
    free_failures=10,
    first_delay=0.5,
    max_delay=2.0,
    lock_after=30,
    lock_for=timedelta(minutes=15),
)

# Password-reset requests per client address: 10 within 15 minutes, then refused (429) for 15 minutes,
# whether or not the addresses asked for are known. No delay: nothing is being guessed.
RESET_ADDRESS_POLICY = ThrottlePolicy(
    window=timedelta(minutes=15),
    free_failures=10,
    first_delay=0.0,
    max_delay=0.0,
    lock_after=10,
    lock_for=timedelta(minutes=15),
)


def decide(failures: Iterable[datetime], now: datetime, policy: ThrottlePolicy = ACCOUNT_POLICY) -> Decision:
    """May one more sign-in be attempted at ``now`` for a key whose failed sign-ins happened at
    ``failures`` (any order; older ones than the window are ignored)?"""
    since = now - policy.window
    recent = [t for t in failures if t > since]
    if len(recent) >= policy.lock_after:
        locked_until = max(recent) + policy.lock_for
        if now < locked_until:
            return Decision(False, 0.0, max(1, math.ceil((locked_until - now).total_seconds())))
    return Decision(True, policy.delay_after(len(recent)), 0)


@dataclass(frozen=True)
class SignInDecision:
    """What to do with one sign-in attempt, from its username's and its address's failures."""

    refused_retry_after: int = 0  # > 0: the username is locked, refuse whatever the password
    delay_seconds: float = 0.0  # otherwise wait this long, then check the password
    failure_retry_after: int = 0  # > 0: the address is locked; a failed check is answered so


def decide_sign_in(
    account_failures: Iterable[datetime],
    address_failures: Iterable[datetime] | None,
    now: datetime,
    account_policy: ThrottlePolicy = ACCOUNT_POLICY,
    address_policy: ThrottlePolicy = ADDRESS_POLICY,
) -> SignInDecision:
    """The username's lock refuses the attempt; the address's lock (``address_failures`` None when
    the address is unknown) only makes it wait the longest delay and turns a failure into the lock."""
    by_account = decide(account_failures, now, account_policy)
    if not by_account.allowed:
        return SignInDecision(refused_retry_after=by_account.retry_after_seconds)
    if address_failures is None:
        return SignInDecision(delay_seconds=by_account.delay_seconds)
    by_address = decide(address_failures, now, address_policy)
    if not by_address.allowed:
        return SignInDecision(
            delay_seconds=max(by_account.delay_seconds, address_policy.max_delay),
            failure_retry_after=by_address.retry_after_seconds,
        )
    return SignInDecision(delay_seconds=combine(by_account, by_address).delay_seconds)


def combine(*decisions: Decision) -> Decision:
    """One decision for several keys (account and address): refused if any refuses, for the longest
    time; else the longest delay."""
    refused = [d.retry_after_seconds for d in decisions if not d.allowed]
    if refused:
        return Decision(False, 0.0, max(refused))
    return Decision(True, max((d.delay_seconds for d in decisions), default=0.0), 0)


def prune_before(now: datetime, *policies: ThrottlePolicy) -> datetime:
    """Failures before this time no longer matter to any of ``policies`` and may be deleted."""
    return now - max(p.window for p in policies or (ACCOUNT_POLICY, ADDRESS_POLICY))


def address_key(address: str) -> str:
    """The throttling key of a client address: an IPv4 address as is, an IPv6 one by its /64 (one
    subscriber usually holds a whole /64), an IPv4-mapped IPv6 one as the IPv4. Anything else as given."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
