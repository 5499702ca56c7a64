"""Accounts as the school's managers hold them: who is on the staff, disabling and enabling an account
(a parent or a colleague who left, a compromised account), and ending every session of one.

A manager acts on accounts of their own school only (another school's are NOT_FOUND, as if they did
not exist). Disabling takes effect at once: the account's sessions end, it cannot sign in or use a
connection token, and ResolveSession refuses it (sessions.live_session); enabling lets it sign in
again with the password it had. A parent's change is announced (auth.parent.updated.v1) so that
notifications' contact book can stop mailing a disabled parent, a manager's (auth.staff.updated.v1)
so that its contact book of managers does the same.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Forbidden, NotFound
from kit.identity import Identity
from services.auth import events, views
from services.auth.db import access, directory, factors, roster
from services.auth.use_cases.common import Deps, log, refuse_erased


def list_staff(deps: Deps, who: Identity) -> pb.ListStaffResponse:
    """Staff: the school's staff accounts with their status, by name."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        rows = directory.find_staff(s, who.school_id)
        with_factor = factors.enabled_ids(s, [r.id for r in rows])
    return pb.ListStaffResponse(staff=[views.staff_member(r, r.id in with_factor) for r in rows])


def disable_account(deps: Deps, who: Identity, account_id: str) -> pb.DisableAccountResponse:
    """Staff: disable an account of the school (parent or staff). Its sessions end at once, its
    unused connection tokens are revoked; signing in with the right password then answers
    ``account_disabled``. Already disabled: nothing changes. Not one's own account
    (Forbidden ``cannot_disable_self``: a school must keep a manager who can enable the others)."""
    who.require_staff()
    if account_id and account_id == who.account_id:
        raise Forbidden("you cannot disable your own account", code="cannot_disable_self")
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = _account(s, who, account_id)
        if acc.disabled_at is None:
            directory.set_disabled(s, acc.id, now, who.account_id)
            ended = access.end_sessions_of(s, acc.id, now)
            access.revoke_unused_tokens(s, acc.id, now)
            acc = _announced(deps, s, acc.id)
            audit.record(
                deps, s, who, "auth.account.disabled", "account", acc.id, f"{acc.role} {acc.username}"
            )
            log.info("account disabled", extra={"account_id": acc.id, "by": who.account_id, "ended": ended})
        return pb.DisableAccountResponse(**_answer(s, acc))


def enable_account(deps: Deps, who: Identity, account_id: str) -> pb.EnableAccountResponse:
    """Staff: an account of the school disabled before may sign in again (with its password; one
    that never set one is ``invited`` again and needs a new connection token). Already enabled:
    nothing changes."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        acc = _account(s, who, account_id)
        if acc.disabled_at is not None:
            refuse_erased(s, acc.id)
            directory.set_disabled(s, acc.id, None, None)
            acc = _announced(deps, s, acc.id)
            audit.record(
                deps, s, who, "auth.account.enabled", "account", acc.id, f"{acc.role} {acc.username}"
            )
            log.info("account enabled", extra={"account_id": acc.id, "by": who.account_id})
        return pb.EnableAccountResponse(**_answer(s, acc))


def end_sessions(deps: Deps, who: Identity, account_id: str) -> pb.EndSessionsResponse:
    """Staff: end every session of an account of the school (it may sign in again); how many were
    still open."""
    who.require_staff()
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        acc = _account(s, who, account_id)
        ended = access.end_sessions_of(s, acc.id, now)
        audit.record(deps, s, who, "auth.sessions.ended", "account", acc.id, f"{acc.username}, {ended} ended")
    log.info(
        "sessions ended by the school", extra={"account_id": acc.id, "by": who.account_id, "ended": ended}
    )
    return pb.EndSessionsResponse(ended=ended)


def _account(s: Session, who: Identity, account_id: str):
    acc = directory.account_of_school(s, account_id or "", who.school_id, lock=True) if account_id else None
    if acc is None:
        raise NotFound("no such account")
    return acc


def _announced(deps: Deps, s: Session, account_id: str):
    """The account re-read after a change, announced to the other services (a parent's to the
    contact book of parents, a manager's to that of managers)."""
    acc = directory.account(s, account_id)
    assert acc is not None  # locked by _account in this transaction
    if acc.role == "parent":
        deps.emit(s, events.parent_updated(acc, roster.all_children_of(s, acc)))
    else:
        deps.emit(s, events.staff_updated(acc))
    return acc


def _answer(s: Session, acc) -> dict:
    """The response's ``parent`` or ``staff``, by the account's role."""
    if acc.role == "parent":
        ids = directory.children_ids_by_parent(s, [acc.id]).get(acc.id, [])
        return {"parent": views.parent_contact(acc, ids)}
    return {"staff": views.staff_member(acc, bool(factors.enabled_ids(s, [acc.id])))}
