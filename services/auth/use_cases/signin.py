"""Checking a password someone types: signing in, changing one's password, and typing it again
before a sensitive change (reauthenticate). All are throttled.

Failed attempts are slowed, then refused for a while (RateLimited with retry_after), per username typed
and per client address (domain/throttle.py). A locked username refuses every attempt; a locked address
only its failures, so the right password of an existing account behind it still signs in. An attempt
counts as a failure from the moment it is allowed until the password proves right, so parallel
guesses count too; one that could not be checked (no hashing slot, too many waiting) counts for
nothing. A success clears the account's failures. Hashing and waiting happen between two short
transactions (see common.py).
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidRequest,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from kit.identity import Identity
from services.auth.db import access, directory
from services.auth.domain.passwords import WeakPassword, check_password_policy
from services.auth.domain.throttle import (
    SignInDecision,
    address_key,
)
from services.auth.domain.usernames import normalize_username
from services.auth.use_cases.common import (
    Deps,
    account_disabled,
    forget_attempt,
    log,
    record_failures,
    throttle,
    wait_delay,
    weak_password_error,
)
from services.auth.use_cases.second_factor import verify_second_factor
from services.auth.use_cases.sessions import (
    children_of,
    identity_of,
    live_session,
    open_session,
    second_factor_setup_required,
)


def sign_in(
    deps: Deps,
    username: str,
    password: str,
    client_address: str = "",
    previous_session_token: str = "",
    otp: str = "",
) -> pb.SignInResponse:
    """Open a session for a username and password (parent or staff), and the second factor's code
    (``otp``) when the account has one.

    Whether the username exists never shows: an unknown one is checked against a dummy hash, answers
    the same ``invalid_credentials`` and is throttled the same. The right password of an account the
    school disabled answers Forbidden ``account_disabled``; of an account with a second factor,
    without ``otp``, Unauthenticated ``second_factor_required`` (not a failure: the client asks for
    the code and sends everything again), with a wrong one Unauthenticated ``invalid_otp`` (a failure,
    throttled like a wrong password). A new session id every time; the browser's previous session,
    when given, ends."""
    name = normalize_username(username or "")[:320]
    address = address_key(client_address) if client_address else ""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        decision = throttle(s, now, name, address)
        pending = record_failures(s, now, [("account", name), ("address", address)])
        account = directory.account_by_username(s, name)
        stored = account.password_hash if account is not None else None
    try:
        wait_delay(deps, decision)
        if stored is None:  # unknown username, or not activated yet: the time of a check, then refused
            right = deps.hasher.dummy_verify(password or "")
        else:
            right = deps.hasher.verify(stored, password or "")
    except (Unavailable, RateLimited):
        forget_attempt(deps, pending)  # not checked: no failure (domain/throttle.py)
        raise
    if account is None or stored is None or not right:
        log.info(
            "sign-in failed",
            extra={"account_id": account.id if account is not None else None, "client": address},
        )
        if decision.failure_retry_after:  # the address is locked: it learns no more than that
            raise _address_locked(decision)
        raise Unauthenticated("wrong username or password", code="invalid_credentials")
    new_hash = _rehashed(deps, stored, password)
    with deps.db.unit_of_work() as s:
        # no exception in here: what it decides about the failures must be committed
        outcome = _open(deps, s, account.id, stored, new_hash, otp, pending, now, previous_session_token)
    if isinstance(outcome, AppError):
        raise outcome
    log.info("signed in", extra={"account_id": outcome.account.id, "role": outcome.account.role})
    return pb.SignInResponse(session=outcome)


def _open(
    deps: Deps,
    s: Session,
    account_id: str,
    stored: str,
    new_hash: str | None,
    otp: str,
    pending: list[int],
    now: datetime,
    previous_session_token: str,
) -> pb.Session | AppError:
    """The second half of a sign-in whose password proved right: the session, or the error to
    answer once this transaction is committed (the attempt's failure kept or forgotten)."""
    acc = directory.account_for_update(s, account_id)
    if acc is None or acc.password_hash != stored:  # the password changed in between: a failure
        return Unauthenticated("wrong username or password", code="invalid_credentials")
    if acc.disabled_at is not None:  # the password was right: say why it does not open
        access.delete_failures(s, pending)
        log.info("sign-in of a disabled account", extra={"account_id": acc.id})
        return account_disabled()
    second = verify_second_factor(deps, s, acc, otp, now)
    if second == "missing":  # not a failure, but the account's earlier ones stay: no free guesses
        access.delete_failures(s, pending)
        return Unauthenticated("enter the code from your authenticator app", code="second_factor_required")
    if second == "wrong":  # counted like a wrong password
        log.info("sign-in with a wrong second-factor code", extra={"account_id": acc.id})
        return Unauthenticated("this code is not right", code="invalid_otp")
    access.delete_failures(s, pending)
    access.clear_failures(s, "account", acc.username)
    if new_hash:
        directory.rehash_password(s, acc.id, new_hash)
    return open_session(deps, s, acc, now, previous_session_token)


def change_password(
    deps: Deps, session_token: str, current_password: str, new_password: str, new_password_confirm: str
) -> pb.ChangePasswordResponse:
    """A signed-in account changes its password: the current one must be right (wrong guesses are
    throttled like sign-ins), the new one typed twice and strong. Every other session of the
    account ends; this one goes on."""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        row, acc = live_session(s, session_token, now)
        try:
            check_password_policy(
                new_password or "", new_password_confirm or "", username=acc.username, email=acc.email
            )
        except WeakPassword as err:
            raise weak_password_error(err, "new_password", "new_password_confirm") from None
        decision = throttle(s, now, acc.username, "")
        pending = record_failures(s, now, [("account", acc.username)])
        stored = acc.password_hash
    right = _typed_password_right(deps, decision, pending, stored, current_password)
    try:
        new_hash = deps.hasher.hash(new_password) if right else ""
    except Unavailable:
        forget_attempt(deps, pending)
        raise
    if not right:
        raise InvalidRequest("the current password is not right", fields={"current_password": "incorrect"})
    with deps.db.unit_of_work() as s:
        access.delete_failures(s, pending)
        access.clear_failures(s, "account", acc.username)
        current = directory.account_for_update(s, acc.id)
        if current is None or current.password_hash != stored:
            raise Conflict("the password was changed meanwhile; try again", code="password_changed")
        directory.set_password(s, acc.id, new_hash, now)
        access.end_sessions_of(s, acc.id, now, but=row.id)
    log.info("password changed, other sessions ended", extra={"account_id": acc.id})
    return pb.ChangePasswordResponse()


def reauthenticate(
    deps: Deps, session_token: str, who: Identity | None, current_password: str, client_address: str = ""
) -> pb.ReauthenticateResponse:
    """The signed-in caller types their password again before a sensitive change (the school's
    IBAN): a fresh identity token for the same account, school and students, carrying
    ``reauthenticated_at``. The account is the session's, or without a session token the identity
    token's (still enabled, of the same school). Throttled like a sign-in, per account and address;
    a wrong or empty password is Unauthenticated ``invalid_credentials`` (``fields.current_password``)."""
    if not (current_password or ""):
        raise Unauthenticated(
            "type your password", code="invalid_credentials", fields={"current_password": "required"}
        )
    address = address_key(client_address) if client_address else ""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = _caller(s, session_token, who, now)
        if second_factor_setup_required(s, acc):
            raise Forbidden("set up your second factor first", code="second_factor_setup_required")
        decision = throttle(s, now, acc.username, address)
        pending = record_failures(s, now, [("account", acc.username), ("address", address)])
        stored = acc.password_hash
    if not _typed_password_right(deps, decision, pending, stored, current_password):
        log.info("reauthentication failed", extra={"account_id": acc.id, "client": address})
        if decision.failure_retry_after:
            raise _address_locked(decision)
        raise Unauthenticated(
            "the password is not right", code="invalid_credentials", fields={"current_password": "incorrect"}
        )
    at = int(time.time())  # an instant in the token, like its iat: the real time, not the service clock
    with deps.db.unit_of_work() as s:
        access.delete_failures(s, pending)
        access.clear_failures(s, "account", acc.username)
        current = directory.account(s, acc.id)
        if current is None or current.disabled_at is not None:
            raise account_disabled()
        identity = identity_of(current, children_of(s, current), reauthenticated_at=at)
    token, expires = deps.signer().sign(identity)
    log.info("reauthenticated", extra={"account_id": acc.id})
    return pb.ReauthenticateResponse(identity_token=token, identity_expires_at=expires, reauthenticated_at=at)


def _caller(s: Session, session_token: str, who: Identity | None, now: datetime):
    """The account calling: its session's (refreshed), else its identity token's."""
    if session_token:
        return live_session(s, session_token, now)[1]
    if who is None or who.role not in ("parent", "staff"):
        raise Unauthenticated("sign in first")
    acc = directory.account(s, who.account_id)
    if acc is None or acc.school_id != who.school_id:
        raise Unauthenticated("sign in first")
    if acc.disabled_at is not None:
        raise Unauthenticated("this account has been disabled by the school", code="account_disabled")
    return acc


def _typed_password_right(
    deps: Deps, decision: SignInDecision, pending: list[int], stored: str | None, password: str
) -> bool:
    """Wait the throttling delay, then check ``password`` against the account's hash (an account
    without one checks nothing and is wrong). An attempt that could not be checked (no hashing
    slot, too many waiting) is forgotten and its error raised."""
    try:
        wait_delay(deps, decision)
        return bool(stored) and deps.hasher.verify(stored or "", password or "")
    except (Unavailable, RateLimited):
        forget_attempt(deps, pending)
        raise


def _rehashed(deps: Deps, stored: str, password: str) -> str | None:
    """The password hashed with today's parameters when the stored hash is older; None when not
    needed, or when no hashing slot is free (it waits for the next sign-in rather than fail this one)."""
    if not deps.hasher.needs_rehash(stored):
        return None
    try:
        return deps.hasher.hash(password)
    except Unavailable:
        return None


def _address_locked(decision: SignInDecision) -> RateLimited:
    log.info("sign-in failed from a locked address")
    return RateLimited(
        "too many failed sign-ins from your network: try again later "
        "(the right username and password still work)",
        code="rate_limited",
        retry_after=decision.failure_retry_after,
    )
