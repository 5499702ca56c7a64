"""Connection tokens: the one-time code that sets a password, at the first connection and after a
forgotten password, and the school sending a parent a new one.

Secrets: a connection token leaves this service only in the ``auth.token.issued.v1`` event (and from
there in the mail); it is never logged, and stored only as its hash (domain/tokens.py). A new token
replaces the account's previous ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound, RateLimited, Unauthenticated, Unavailable
from kit.identity import Identity
from services.auth import events
from services.auth.db import access, aware, directory, factors
from services.auth.domain.passwords import WeakPassword, check_password_policy
from services.auth.domain.throttle import RESET_ADDRESS_POLICY, address_key, decide
from services.auth.domain.tokens import hash_token, new_connection_token, token_expires_at, token_state
from services.auth.domain.usernames import display_name
from services.auth.use_cases.common import (
    Deps,
    account_disabled,
    forget_attempt,
    log,
    normalize_email,
    record_failures,
    throttle,
    wait_delay,
    weak_password_error,
)
from services.auth.use_cases.second_factor import verify_second_factor
from services.auth.use_cases.sessions import open_session

# At most this many reset tokens per account per hour; more requests answer the same but mail nothing,
# so nobody can flood a parent's mailbox.
RESETS_PER_ACCOUNT_PER_HOUR = 3

_MAX_TOKEN_INPUT = 200  # a typed token longer than this is not a token


def check_connection_token(deps: Deps, token: str) -> pb.CheckConnectionTokenResponse:
    """Tell whether a typed connection token may be used (first step of the first connection),
    without using it: the page then asks for the password. Errors as ``activate``."""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        row = _usable_token(s, token, now)
        has_factor = bool(factors.enabled_ids(s, [row.account_id]))
    return pb.CheckConnectionTokenResponse(
        username=row.username,
        display_name=display_name(row.first_name, row.last_name),
        second_factor_required=has_factor,
    )


def activate(
    deps: Deps,
    token: str,
    password: str,
    password_confirm: str,
    client_address: str = "",
    previous_session_token: str = "",
    otp: str = "",
) -> pb.ActivateResponse:
    """First connection (and the end of a forgotten password): the connection token, typed with
    any spaces around it, and a new password typed twice. Sets the password, uses the token up,
    ends the account's other sessions and opens a new one at once.

    Unknown or replaced token: InvalidRequest ``invalid_token``; used: Conflict ``token_used``;
    14 days old or more (1 hour for a password reset): Conflict ``token_expired``; weak or different
    passwords: InvalidRequest with the reason's code in ``fields.password`` /
    ``fields.password_confirm``; the account disabled: Forbidden ``account_disabled``. An account with
    a second factor also needs its code (``otp``: a token by mail must not skip it): without,
    Unauthenticated ``second_factor_required``; wrong, ``invalid_otp``, throttled like a sign-in.
    The token stays usable after any of these."""
    now = deps.clock()
    pending: list[int] = []
    with deps.db.unit_of_work() as s:
        row = _usable_token(s, token, now)
        has_factor = bool(factors.enabled_ids(s, [row.account_id]))
        if has_factor and not (otp or "").strip():
            raise Unauthenticated("enter the code from your authenticator app", code="second_factor_required")
        if has_factor:
            decision = throttle(s, now, row.username, "")
            pending = record_failures(s, now, [("account", row.username)])
    try:
        check_password_policy(password or "", password_confirm or "", username=row.username, email=row.email)
    except WeakPassword as err:
        forget_attempt(deps, pending)
        raise weak_password_error(err, "password", "password_confirm") from None
    try:
        if has_factor:
            wait_delay(deps, decision)
        new_hash = deps.hasher.hash(password)
    except (Unavailable, RateLimited):
        forget_attempt(deps, pending)
        raise
    with deps.db.unit_of_work() as s:
        row = _usable_token(s, token, now, lock=True)  # again: the same token may have been used meanwhile
        acc = directory.account_for_update(s, row.account_id)
        second = verify_second_factor(deps, s, acc, otp, now)
        if second not in ("wrong", "missing"):  # "missing": the factor was set up meanwhile
            access.delete_failures(s, pending)
            access.mark_token_used(s, row.token_id, now)
            directory.set_password(s, row.account_id, new_hash, now)
            access.end_sessions_of(s, row.account_id, now)
            access.clear_failures(s, "account", row.username)
            session = open_session(deps, s, directory.account(s, row.account_id), now, previous_session_token)
    if second in ("wrong", "missing"):  # after the commit: the wrong code stays counted
        raise Unauthenticated("this code is not right", code="invalid_otp")
    log.info("password set with a connection token", extra={"account_id": row.account_id})
    return pb.ActivateResponse(session=session)


def request_password_reset(
    deps: Deps, email: str, client_address: str = ""
) -> pb.RequestPasswordResetResponse:
    """Forgotten password: the answer is the same whether or not the address is known. When it is,
    each account with that address gets a new connection token valid 1 hour (mailed with the username
    by notifications), which replaces the previous one. Requests are limited per client address
    (RateLimited, whatever the address asked for) and per account (beyond a few an hour, quietly
    nothing more is mailed)."""
    wanted = normalize_email(email)
    address = address_key(client_address) if client_address else ""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        if address:
            since = now - RESET_ADDRESS_POLICY.window
            decision = decide(
                access.failure_times(s, "reset_address", address, since), now, RESET_ADDRESS_POLICY
            )
            if not decision.allowed:
                raise RateLimited(
                    "too many requests; try again later",
                    code="rate_limited",
                    retry_after=decision.retry_after_seconds,
                )
            record_failures(s, now, [("reset_address", address)])
        if wanted and len(wanted) <= 320:
            for acc in directory.accounts_by_email(s, wanted):
                if acc.disabled_at is not None:  # the school disabled it: no way back in by mail
                    continue
                recent = access.tokens_issued_since(s, acc.id, "password_reset", now - timedelta(hours=1))
                if recent >= RESETS_PER_ACCOUNT_PER_HOUR:
                    log.info("password reset not mailed again so soon", extra={"account_id": acc.id})
                    continue
                issue_token(deps, s, acc, "password_reset", now)
    return pb.RequestPasswordResetResponse()


def issue_connection_token(deps: Deps, who: Identity, parent_id: str) -> pb.IssueConnectionTokenResponse:
    """The school sends a parent a new connection token (auth.token.issued.v1, reason
    ``reissued``); the previous one stops working. NotFound for a parent of another school,
    Conflict ``account_disabled`` for a disabled one."""
    who.require_staff()
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = directory.parent_of_school(s, parent_id or "", who.school_id)
        if acc is None:
            raise NotFound("no such parent")
        if acc.disabled_at is not None:
            raise Conflict("this account is disabled: enable it first", code="account_disabled")
        issue_token(deps, s, acc, "reissued", now)
        audit.record(deps, s, who, "auth.connection_token.issued", "account", acc.id, "reissued")
    return pb.IssueConnectionTokenResponse()


# -- steps of the other use cases -----------------------------------------------------------------


def issue_token(deps: Deps, s: Session, acc, reason: str, now: datetime) -> tuple[str, datetime]:
    """A new connection token for ``acc``; older ones stop working. The token is only in the event
    (and returned, for the command that creates a staff account)."""
    token = new_connection_token()
    expires_at = token_expires_at(now, reason)
    access.insert_connection_token(s, acc, hash_token(token), reason, now, expires_at)
    deps.emit(s, events.token_issued(acc, token, reason, expires_at))
    log.info("connection token issued", extra={"account_id": acc.id, "reason": reason})
    return token, expires_at


def _usable_token(s: Session, token: str, now: datetime, lock: bool = False):
    """The typed token's row with its account's names; the reason it may not be used, raised."""
    token = (token or "").strip()
    row = None
    if token and len(token) <= _MAX_TOKEN_INPUT:
        row = access.token_with_account(s, hash_token(token), lock=lock)
    if row is None:
        raise InvalidRequest(
            "this connection token is not valid: check it, or ask for a new one",
            code="invalid_token",
            fields={"token": "invalid"},
        )
    if row.disabled_at is not None:  # the school disabled the account (and revoked its tokens)
        raise account_disabled()
    state = token_state(aware(row.issued_at), aware(row.used_at), aware(row.revoked_at), now, row.reason)
    if state == "revoked":  # replaced by a newer token: to the parent, just not valid
        raise InvalidRequest(
            "this connection token is no longer valid: use the latest one you received",
            code="invalid_token",
            fields={"token": "invalid"},
        )
    if state == "used":
        raise Conflict(
            "this connection token has already been used; sign in, or ask for a new one",
            code="token_used",
        )
    if state == "expired":
        lifetime = "1 hour" if row.reason == "password_reset" else "14 days"
        raise Conflict(
            f"this connection token has expired (it was valid {lifetime}); ask for a new one",
            code="token_expired",
        )
    return row
