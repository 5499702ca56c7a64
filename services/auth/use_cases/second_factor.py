"""The second factor (TOTP, domain/second_factor.py): setting it up and turning it off from one's own
session, a manager removing a colleague's, the school requiring it of every staff account, and the
step that checks a code at sign-in and activation.

Staff of a school that requires it sign in, while they have none, to a session that only serves to
set it up (sessions.py: ``second_factor_setup_required``, no identity token); parents may opt in.
The secret is stored sealed (secretbox.py); recovery codes only as hashes, shown once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound, RateLimited, Unavailable
from kit.identity import Identity
from services.auth.db import access, directory, factors
from services.auth.domain.second_factor import (
    hash_recovery_code,
    looks_like_totp,
    matching_step,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
)
from services.auth.use_cases.common import (
    Deps,
    forget_attempt,
    log,
    record_failures,
    require_school,
    throttle,
    wait_delay,
)
from services.auth.use_cases.sessions import live_session, session_message

Outcome = Literal["none", "ok", "missing", "wrong"]
_MAX_OTP_INPUT = 64  # a recovery code is 19 characters; anything much longer is not a code


def begin_setup(deps: Deps, session_token: str) -> pb.BeginSecondFactorSetupResponse:
    """A fresh secret for the signed-in account's authenticator app (as text and otpauth:// URI),
    pending until a code confirms it; a set-up begun before and not confirmed is replaced.
    Conflict ``second_factor_enabled`` when the account has a factor already."""
    now = deps.clock()
    secret = new_secret()
    with deps.db.unit_of_work() as s:
        _row, acc = live_session(s, session_token, now)
        current = factors.factor(s, acc.id, lock=True)
        if current is not None and current.secret is not None:
            raise Conflict(
                "a second factor is set up already: turn it off first", code="second_factor_enabled"
            )
        factors.set_pending(s, acc, deps.totp_box().seal(secret), now)
        school_name = directory.school_name(s, acc.school_id)
    return pb.BeginSecondFactorSetupResponse(
        secret=secret, provisioning_uri=provisioning_uri(secret, acc.username, school_name)
    )


def confirm_setup(deps: Deps, session_token: str, code: str) -> pb.ConfirmSecondFactorSetupResponse:
    """The first code from the app turns the factor on: 10 recovery codes (shown this once), the
    account's other sessions end, and this one is answered refreshed (setup no longer required).
    InvalidRequest ``invalid_otp`` for a wrong code, Conflict ``no_setup_pending`` without a set-up."""
    now = deps.clock()
    codes = new_recovery_codes()
    with deps.db.unit_of_work() as s:
        row, acc = live_session(s, session_token, now)
        pending = factors.factor(s, acc.id, lock=True)
        if pending is None or pending.pending_secret is None or pending.secret is not None:
            raise Conflict("begin the set-up first", code="no_setup_pending")
        step = matching_step(deps.totp_box().open(pending.pending_secret), code or "", now, None)
        if step is None:
            raise InvalidRequest(
                "this code is not the one the app shows now", code="invalid_otp", fields={"code": "incorrect"}
            )
        factors.enable(s, acc.id, pending.pending_secret, step, now)
        factors.replace_recovery_codes(s, acc.id, [hash_recovery_code(c) for c in codes], now)
        access.end_sessions_of(s, acc.id, now, but=row.id)
        session = session_message(deps, s, session_token, row, acc)
    log.info("second factor enabled", extra={"account_id": acc.id})
    return pb.ConfirmSecondFactorSetupResponse(recovery_codes=codes, session=session)


def disable(deps: Deps, session_token: str, otp: str, password: str) -> pb.DisableSecondFactorResponse:
    """Turn one's own factor off, proving it with a current code (or a recovery code) or the
    password, throttled like a sign-in. A staff member of a school that requires a factor is then
    back to ``second_factor_setup_required``."""
    now = deps.clock()
    otp = (otp or "").strip()
    with deps.db.unit_of_work() as s:
        _row, acc = live_session(s, session_token, now)
        current = factors.factor(s, acc.id)
        if current is None or current.secret is None:
            raise Conflict("no second factor is set up", code="second_factor_not_enabled")
        if not otp and not password:
            raise InvalidRequest("a code from the app, or the password", fields={"otp": "required"})
        decision = throttle(s, now, acc.username, "")
        pending = record_failures(s, now, [("account", acc.username)])
        stored = acc.password_hash
    right_password = False
    try:
        wait_delay(deps, decision)
        if not otp:
            right_password = bool(stored) and deps.hasher.verify(stored, password)
    except (Unavailable, RateLimited):
        forget_attempt(deps, pending)
        raise
    with deps.db.unit_of_work() as s:
        row, acc = live_session(s, session_token, now)
        if otp:
            proven = verify_second_factor(deps, s, acc, otp, now) == "ok"
        else:
            proven = right_password and acc.password_hash == stored
        if proven:
            access.delete_failures(s, pending)
            access.clear_failures(s, "account", acc.username)
            factors.remove(s, acc.id)
            session = session_message(deps, s, session_token, access.session(s, row.id), acc)
    if not proven:  # after the commit: the attempt stays counted as a failure
        if otp:
            raise InvalidRequest("this code is not right", code="invalid_otp", fields={"otp": "incorrect"})
        raise InvalidRequest(
            "the password is not right", code="invalid_credentials", fields={"password": "incorrect"}
        )
    log.info("second factor disabled", extra={"account_id": acc.id})
    return pb.DisableSecondFactorResponse(session=session)


def reset(deps: Deps, who: Identity, account_id: str) -> pb.ResetSecondFactorResponse:
    """Staff: remove the factor of another account of the school (phone and recovery codes lost);
    its sessions end. NotFound for another school's account, Forbidden ``cannot_reset_self``."""
    who.require_staff()
    if account_id and account_id == who.account_id:
        raise Forbidden("turn your own second factor off from your account", code="cannot_reset_self")
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = (
            directory.account_of_school(s, account_id or "", who.school_id, lock=True) if account_id else None
        )
        if acc is None:
            raise NotFound("no such account")
        factors.remove(s, acc.id)
        access.end_sessions_of(s, acc.id, now)
        audit.record(deps, s, who, "auth.second_factor.reset", "account", acc.id, acc.username)
    log.info("second factor reset by the school", extra={"account_id": acc.id, "by": who.account_id})
    return pb.ResetSecondFactorResponse()


def get_security_settings(deps: Deps, who: Identity) -> pb.SecuritySettings:
    """Staff: does the school require a second factor of its staff, and how many have none yet."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        require_school(s, who.school_id)
        return _settings(s, who.school_id)


def update_security_settings(deps: Deps, who: Identity, require_second_factor: bool) -> pb.SecuritySettings:
    """Staff: require (or no longer require) a second factor of every staff account of the school.
    Staff without one are sent to set it up at their next request (their sessions say so)."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        require_school(s, who.school_id)
        factors.set_school_requires(s, who.school_id, bool(require_second_factor))
        answer = _settings(s, who.school_id)
        audit.record(
            deps,
            s,
            who,
            "auth.security_settings.updated",
            "school",
            who.school_id,
            f"require_second_factor={answer.require_second_factor}",
        )
    log.info(
        "second factor requirement changed",
        extra={"school_id": who.school_id, "required": answer.require_second_factor, "by": who.account_id},
    )
    return answer


# -- steps of the other use cases -----------------------------------------------------------------


def verify_second_factor(deps: Deps, s: Session, acc, otp: str, now: datetime) -> Outcome:
    """For an account that proved its password: ``none`` (it has no factor), ``missing`` (no code
    given), ``wrong``, or ``ok`` (the code was right and is now used up: its step, or the recovery
    code). The account's factor row is locked, so two sign-ins cannot use one code."""
    current = factors.factor(s, acc.id, lock=True)
    if current is None or current.secret is None:
        return "none"
    otp = (otp or "").strip()
    if not otp:
        return "missing"
    if len(otp) > _MAX_OTP_INPUT:
        return "wrong"
    if looks_like_totp(otp):
        step = matching_step(deps.totp_box().open(current.secret), otp, now, current.last_used_step)
        return "ok" if step is not None and factors.use_step(s, acc.id, step) else "wrong"
    if factors.use_recovery_code(s, acc.id, hash_recovery_code(otp), now):
        log.info(
            "recovery code used", extra={"account_id": acc.id, "left": factors.recovery_codes_left(s, acc.id)}
        )
        return "ok"
    return "wrong"


def _settings(s: Session, school_id: str) -> pb.SecuritySettings:
    return pb.SecuritySettings(
        require_second_factor=factors.school_requires(s, school_id),
        staff_without_second_factor=factors.staff_without_factor(s, school_id),
    )
