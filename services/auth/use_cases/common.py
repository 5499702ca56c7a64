"""What the auth use cases share: their dependencies, the hashing profile, and small steps.

The slow steps (argon2 hashing and verification, the throttling delay) run outside any transaction so
that they never hold a database lock: a use case that needs them reads in a short first transaction,
hashes or waits, then re-checks what it read and writes everything in one unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.dates import BRUSSELS
from kit.db import Database
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound, RateLimited
from kit.identity import TokenSigner
from services.auth.db import access, directory
from services.auth.domain.paging import decode_cursor, page_size
from services.auth.domain.passwords import DEFAULT_PARAMETERS, OWASP_MINIMUM, PasswordHasher, WeakPassword
from services.auth.domain.people import (
    BadValue,
    clean_class,
    clean_name,
    looks_like_email,
    mask_national_number,
)
from services.auth.domain.throttle import (
    ACCOUNT_POLICY,
    ADDRESS_POLICY,
    RESET_ADDRESS_POLICY,
    SignInDecision,
    decide_sign_in,
    prune_before,
)
from services.auth.events import Event
from services.auth.hashing import BoundedHasher
from services.auth.secretbox import SecretBox

# one logger for every auth use case
log = logging.getLogger("auth.service")

T = TypeVar("T")

LANGUAGES = ("fr", "nl", "en")


@dataclass(frozen=True)
class Deps:
    """What the auth use cases are given; ``app.py`` builds it from the runtime."""

    db: Database
    record: Callable[[Session, str, Message, str], object]  # an event into the outbox (Runtime.record)
    # many (name, payload, school id) into the outbox in one multi-row insert (kit.bus.record_events)
    record_many: Callable[[Session, list[tuple[str, Message, str]]], object]
    clock: Callable[[], datetime]  # the service's time (tests move it)
    hasher: BoundedHasher  # argon2, at most AUTH_MAX_CONCURRENT_HASHES at once (Unavailable beyond)
    signer: Callable[[], TokenSigner]  # auth's identity-token signer, read from its key file once (the
    # server: at start)
    # seals the TOTP secrets and the national numbers (secretbox.py: AUTH_TOTP_KEY), built on first use
    totp_box: Callable[[], SecretBox]
    sleep: Callable[[float], None]  # waits a throttling delay (tests record it instead); RateLimited when
    # too many are waiting already (hashing.WaitRoom)
    service: str = "auth"  # the name kit.audit.record gives this service's audit entries

    def emit(self, s: Session, event: Event) -> None:
        """Record ``event`` in the outbox, in the transaction of ``s``."""
        self.record(s, event.name, event.payload, event.school_id)

    def emit_many(self, s: Session, batch: list[Event]) -> None:
        """Record every event of ``batch``, in order, in the transaction of ``s`` (a few statements
        whatever their number: an import announces thousands)."""
        if batch:
            self.record_many(s, [(e.name, e.payload, e.school_id) for e in batch])


def hasher_for_profile(profile: str) -> PasswordHasher:
    """AUTH_PASSWORD_PROFILE: "rfc9106-low-memory" (default, 64 MiB, t=3) or "owasp-minimum" (19 MiB,
    t=2: for small servers, and the test suite). Both are argon2id; existing hashes keep verifying
    whatever the profile, and are rehashed at the next sign-in."""
    return PasswordHasher(OWASP_MINIMUM if profile == "owasp-minimum" else DEFAULT_PARAMETERS)


def retrying(deps: Deps, fn: Callable[[Session], T], attempts: int = 3) -> T:
    """Run ``fn`` in a unit of work, again when a unique constraint refuses it (two staff creating
    the same username at once)."""
    for attempt in range(attempts):
        try:
            with deps.db.unit_of_work() as s:
                return fn(s)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def record_failures(s: Session, now: datetime, keys: list[tuple[str, str]]) -> list[int]:
    """Count an attempt as failed for each (kind, value) key with a value, until it proves right (the
    caller deletes the returned ids then); failures too old for any policy go."""
    access.delete_failures_before(s, prune_before(now, ACCOUNT_POLICY, ADDRESS_POLICY, RESET_ADDRESS_POLICY))
    return [access.insert_failure(s, kind, value, now) for kind, value in keys if value]


def forget_attempt(deps: Deps, pending: list[int]) -> None:
    """An attempt counted by ``record_failures`` that was never checked (no hashing slot): it is no
    failure, since nothing was learnt from it."""
    if pending:
        with deps.db.unit_of_work() as s:
            access.delete_failures(s, pending)


def account_disabled() -> Forbidden:
    """What an account the school disabled is told when it proves who it is (API.md: 403)."""
    return Forbidden("this account has been disabled by the school; contact it", code="account_disabled")


def require_school(s: Session, school_id: str) -> None:
    if not school_id or not directory.school_exists(s, school_id):
        raise NotFound("unknown school")


# -- checking what people type --------------------------------------------------------------------


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def text_field(value: str, name: str, errors: dict[str, str], *, max_len: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[name] = "required"
    elif len(value) > max_len:
        errors[name] = f"at most {max_len} characters"
    return value


def name_field(value: str, name: str, errors: dict[str, str]) -> str:
    """A person's first or last name (domain/people.clean_name), or the reason in ``errors``."""
    return _checked(clean_name, value, name, errors)


def class_field(value: str, errors: dict[str, str], name: str = "class_name") -> str:
    return _checked(clean_class, value, name, errors)


def _checked(check: Callable[[str], str], value: str, name: str, errors: dict[str, str]) -> str:
    try:
        return check(value)
    except BadValue as bad:
        errors[name] = bad.message
        return ""


def page_of(limit: int, cursor: str, *, paged: bool, values: int) -> tuple[int | None, list[str] | None]:
    """A list's page size (domain/paging.page_size; None: everything) and the sort values it starts
    after (from ``cursor``, carrying ``values`` of them); InvalidRequest with fields.limit or
    fields.cursor."""
    try:
        size = page_size(limit, paged)
    except ValueError as bad:
        raise InvalidRequest("limit is 1 to 200", fields={"limit": str(bad)}) from None
    try:
        after = decode_cursor(cursor, values) if cursor else None
    except ValueError:
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"}) from None
    return size, after


def school_today(deps: Deps) -> date:
    """Today on the school's wall clock (Europe/Brussels)."""
    return deps.clock().astimezone(BRUSSELS).date()


# -- national register numbers: sealed at rest (the TOTP secrets' Fernet key), masked when shown ---


def seal_national_number(deps: Deps, digits: str) -> str | None:
    """The 11 digits as stored (sealed), None for none."""
    return deps.totp_box().seal(digits) if digits else None


def shown_national_number(deps: Deps, sealed: str | None, *, full: bool = False) -> str:
    """A stored national number as staff see it: ``••••••••••91``, or the 11 digits when ``full``
    (a student's or parent's own page); "" for none, and for one sealed with a key no longer known
    (a rotation gone wrong must not break a list)."""
    if not sealed:
        return ""
    try:
        digits = deps.totp_box().open(sealed)
    except ValueError:
        log.warning("a national number sealed with an unknown key")
        return ""
    return digits if full else mask_national_number(digits)


def email_field(value: str, errors: dict[str, str], name: str = "email") -> str:
    email = normalize_email(value)
    if not email:
        errors[name] = "required"
    elif not looks_like_email(email):
        errors[name] = "not an e-mail address"
    return email


def language_field(value: str, errors: dict[str, str]) -> str:
    language = (value or "fr").strip().lower()
    if language not in LANGUAGES:
        errors["language"] = "one of fr, nl, en"
    return language


def unique(values: Iterable[str]) -> list[str]:
    """The non-blank values, trimmed, once each, in their first order."""
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def weak_password_error(err: WeakPassword, password_field: str, confirm_field: str) -> InvalidRequest:
    """A refused password as a 400: the field carries the machine code (``too_short``, ``common``,
    ``mismatch``...) that pages translate; the message is for a person and ends with the same code."""
    name = confirm_field if err.code == "mismatch" else password_field
    return InvalidRequest(f"{err.message} [{err.code}]", fields={name: err.code})


# -- throttling (domain/throttle.py) --------------------------------------------------------------


def throttle(s: Session, now: datetime, name: str, address: str) -> SignInDecision:
    """May a password (or second-factor code) be checked now for this username (and client address,
    when known), after how long a wait? RateLimited while the username is locked; a locked address
    only answers failures (signin.py): the right password of an existing account still signs in."""
    account_failures = access.failure_times(s, "account", name, now - ACCOUNT_POLICY.window)
    address_failures = (
        access.failure_times(s, "address", address, now - ADDRESS_POLICY.window) if address else None
    )
    decision = decide_sign_in(account_failures, address_failures, now)
    if decision.refused_retry_after:
        log.info("sign-in refused while the username is locked", extra={"client": address})
        minutes = max(1, round(decision.refused_retry_after / 60))
        raise RateLimited(
            f"too many failed attempts for this username: try again in {minutes} min, "
            "or ask for a new password",
            code="rate_limited",
            retry_after=decision.refused_retry_after,
        )
    return decision


def wait_delay(deps: Deps, decision: SignInDecision) -> None:
    """Wait the throttling delay (RateLimited when too many sign-ins are waiting already)."""
    if decision.delay_seconds:
        deps.sleep(decision.delay_seconds)


def refuse_erased(s: Session, account_id: str) -> None:
    """Conflict ``account_erased``: an erased family's account stays a tombstone (issue #21): it is
    not enabled, renamed or given children again (a new account is made for a family that returns)."""
    from services.auth.db import erasure as erased_store  # erasure imports this module

    if erased_store.erased(s, "parent", [account_id]):
        raise Conflict("this family was erased: its account cannot be used again", code="account_erased")
