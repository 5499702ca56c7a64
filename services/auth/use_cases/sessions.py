"""Sessions: the opaque token behind the browser's cookie, and the identity tokens it hands out.

A session ends after 12 hours without use, and 7 days after sign-in whatever happens. Session tokens
are returned to the caller once per sign-in and stored only as their SHA-256. Each answer carries a
fresh identity token, signed by auth, that the other services verify, except the session of a staff
account whose school requires a second factor it has not set up yet: that one says
``second_factor_setup_required`` and carries none, so it can only set the factor up.

A parent's children who left the school stay in the session (``Child.status`` left) and in its
identity token, marked as leavers (``Identity.left``): their parents still see them, read-only, and
every service refuses what would be new for them (``Identity.refuse_left``, 409 ``student_left``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import NotFound, Unauthenticated
from kit.identity import Identity
from services.auth import views
from services.auth.db import access, aware, directory, factors, roster
from services.auth.domain.tokens import new_session_id, session_hash
from services.auth.use_cases.common import Deps

IDLE_TIMEOUT = timedelta(hours=12)
ABSOLUTE_TIMEOUT = timedelta(days=7)
# Resolving a session refreshes its idle limit at most once a minute (one write, not one per request).
TOUCH_EVERY = timedelta(minutes=1)
# Sessions that ended or expired this long ago are of no use to anybody: deleted at the next sign-in.
KEEP_ENDED = timedelta(days=30)


def resolve_session(deps: Deps, session_token: str) -> pb.ResolveSessionResponse:
    """The session behind an opaque session token, with a fresh identity token for the other
    services. Unauthenticated when unknown, ended or expired (12 h idle, 7 days in all), or when the
    school disabled the account (code ``account_disabled``)."""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        row, acc = live_session(s, session_token, now)
        return pb.ResolveSessionResponse(session=session_message(deps, s, session_token, row, acc))


def sign_out(deps: Deps, session_token: str) -> pb.SignOutResponse:
    """End the session (nothing to do when it already ended or never existed)."""
    if session_token:
        now = deps.clock()
        with deps.db.unit_of_work() as s:
            access.end_session(s, session_hash(session_token), now)
    return pb.SignOutResponse()


def select_child(deps: Deps, session_token: str, child_id: str) -> pb.SelectChildResponse:
    """A parent with several children chooses the one to act for ("Se connecter avec ce compte").
    A child that is not theirs is NotFound, as if it did not exist."""
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        row, acc = live_session(s, session_token, now)
        children = children_of(s, acc)
        if not child_id or child_id not in {c.id for c in children}:
            raise NotFound("no such child")
        access.set_active_child(s, row.id, child_id)
        row = access.session(s, row.id)
        return pb.SelectChildResponse(session=session_message(deps, s, session_token, row, acc, children))


# -- steps of the other use cases -----------------------------------------------------------------


def open_session(deps: Deps, s: Session, acc, now: datetime, previous_session_token: str = "") -> pb.Session:
    """A new session for ``acc`` (just signed in), with a new id every time; the browser's previous
    session, when given, ends."""
    if previous_session_token:
        access.end_session(s, session_hash(previous_session_token), now)
    access.delete_sessions_expired_before(s, acc.id, now - KEEP_ENDED)
    children = children_of(s, acc)
    token = new_session_id()
    access.insert_session(
        s,
        session_hash(token),
        acc,
        csrf_token=secrets.token_urlsafe(32),
        active_child_id=_chosen_for_them(children),
        now=now,
        expires_at=now + IDLE_TIMEOUT,
    )
    row = access.session(s, session_hash(token))
    return session_message(deps, s, token, row, acc, children)


def live_session(s: Session, session_token: str, now: datetime):
    """The session row and its account, refreshed; Unauthenticated when it is not usable."""
    if not session_token or len(session_token) > 200:
        raise Unauthenticated("sign in first")
    row = access.session(s, session_hash(session_token))
    if row is None or row.ended_at is not None or aware(row.expires_at) <= now:
        raise Unauthenticated("the session has ended; sign in again")
    acc = directory.account(s, row.account_id)
    if acc is None or acc.disabled_at is not None:  # its sessions ended then; this one in a race
        raise Unauthenticated("this account has been disabled by the school", code="account_disabled")
    if now - aware(row.last_seen_at) >= TOUCH_EVERY:
        expires = min(now + IDLE_TIMEOUT, aware(row.created_at) + ABSOLUTE_TIMEOUT)
        access.touch_session(s, row.id, now, expires)
        row = access.session(s, row.id)
    return row, acc


def children_of(s: Session, acc) -> Sequence[Row]:
    """A parent's children (student rows), those who left the school included; none for staff."""
    return roster.all_children_of(s, acc) if acc.role == "parent" else []


def identity_of(acc, children: Sequence[Row], reauthenticated_at: int | None = None) -> Identity:
    """Who an identity token of this account says the caller is: the children it may act for, and
    among them those who left (read-only)."""
    return Identity(
        account_id=acc.id,
        role=acc.role,
        school_id=acc.school_id,
        # staff name no student: Identity.may_act_for lets them act for any of their school's
        students={c.id: c.class_name for c in children},
        reauthenticated_at=reauthenticated_at,
        left={c.id: c.left_on.isoformat() if c.left_on else "" for c in children if not c.active},
    )


def _chosen_for_them(children: Sequence[Row]) -> str | None:
    """The child a session acts for until the parent chooses: the only child, or the only one still
    at the school (a leaver stays one click away); none when there are several to choose from."""
    if len(children) == 1:
        return children[0].id
    active = [c.id for c in children if c.active]
    return active[0] if len(active) == 1 else None


def second_factor_setup_required(s: Session, acc, has_factor: bool | None = None) -> bool:
    """A staff account of a school that requires a second factor, without one yet: its session
    carries no identity token until it sets one up."""
    if acc.role != "staff":
        return False
    if has_factor is None:
        has_factor = bool(factors.enabled_ids(s, [acc.id]))
    return not has_factor and factors.school_requires(s, acc.school_id)


def session_message(
    deps: Deps, s: Session, token: str, row, acc, children: Sequence[Row] | None = None
) -> pb.Session:
    if children is None:
        children = children_of(s, acc)
    ids = [c.id for c in children]
    active = row.active_child_id if row.active_child_id in ids else None
    if active is None:
        active = _chosen_for_them(children)
    if active != row.active_child_id:  # a child was added or unlinked since
        access.set_active_child(s, row.id, active)
    school_name, school_requires, has_factor = factors.session_facts(s, acc.school_id, acc.id)
    setup_required = acc.role == "staff" and school_requires and not has_factor
    identity_token, identity_exp = "", 0
    if not setup_required:  # until then the session only serves to set the factor up
        # Signed with the real time, not the service clock: every verifier checks it against theirs.
        identity_token, identity_exp = deps.signer().sign(identity_of(acc, children))
    return views.session(
        token,
        row,
        acc,
        school_name,
        children,
        active or "",
        identity_token,
        identity_exp,
        second_factor_enabled=has_factor,
        second_factor_setup_required=setup_required,
    )
