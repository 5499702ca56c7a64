"""Queries about getting in: connection tokens, sessions and failed sign-ins (none stores a secret as
such, see the tables)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from services.auth.db import accounts, aware, connection_tokens, locked, sessions, sign_in_failures

# -- connection tokens ----------------------------------------------------------------------------


def token_with_account(s: Session, token_hash: str, *, lock: bool = False) -> Row | None:
    """A connection token's state and its account's names, by the token's hash."""
    t, a = connection_tokens, accounts
    q = (
        select(
            t.c.id.label("token_id"),
            t.c.reason,
            t.c.issued_at,
            t.c.used_at,
            t.c.revoked_at,
            a.c.id.label("account_id"),
            a.c.username,
            a.c.email,
            a.c.first_name,
            a.c.last_name,
            a.c.disabled_at,
        )
        .join(a, a.c.id == t.c.account_id)
        .where(t.c.token_hash == token_hash)
    )
    return s.execute(locked(s, q, of=t) if lock else q).first()


def insert_connection_token(
    s: Session, acc, token_hash: str, reason: str, now: datetime, expires_at: datetime
) -> None:
    """A new token for ``acc``; its older unused ones are revoked."""
    t = connection_tokens
    revoke_unused_tokens(s, acc.id, now)
    s.execute(
        t.insert().values(
            id=str(uuid.uuid4()),
            school_id=acc.school_id,
            account_id=acc.id,
            token_hash=token_hash,
            reason=reason,
            issued_at=now,
            expires_at=expires_at,
        )
    )


def revoke_unused_tokens(s: Session, account_id: str, now: datetime) -> None:
    t = connection_tokens
    s.execute(
        update(t)
        .where(t.c.account_id == account_id, t.c.used_at.is_(None), t.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def mark_token_used(s: Session, token_id: str, now: datetime) -> None:
    s.execute(update(connection_tokens).where(connection_tokens.c.id == token_id).values(used_at=now))


def tokens_issued_since(s: Session, account_id: str, reason: str, since: datetime) -> int:
    t = connection_tokens
    q = (
        select(func.count())
        .select_from(t)
        .where(t.c.account_id == account_id, t.c.reason == reason, t.c.issued_at > since)
    )
    return s.execute(q).scalar_one()


# -- sessions -------------------------------------------------------------------------------------


def session(s: Session, session_id: str) -> Row | None:
    return s.execute(select(sessions).where(sessions.c.id == session_id)).first()


def insert_session(
    s: Session,
    session_id: str,
    acc,
    *,
    csrf_token: str,
    active_child_id: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    s.execute(
        sessions.insert().values(
            id=session_id,
            school_id=acc.school_id,
            account_id=acc.id,
            csrf_token=csrf_token,
            active_child_id=active_child_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def touch_session(s: Session, session_id: str, now: datetime, expires_at: datetime) -> None:
    s.execute(
        update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now, expires_at=expires_at)
    )


def set_active_child(s: Session, session_id: str, child_id: str | None) -> None:
    s.execute(update(sessions).where(sessions.c.id == session_id).values(active_child_id=child_id))


def end_session(s: Session, session_id: str, now: datetime) -> None:
    """End a session (nothing happens when it ended already or never existed)."""
    s.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(s: Session, account_id: str, now: datetime, *, but: str | None = None) -> int:
    """End the account's sessions, all or all but the one with id ``but``; how many of them were still
    usable (not expired)."""
    conditions = [sessions.c.account_id == account_id, sessions.c.ended_at.is_(None)]
    if but is not None:
        conditions.append(sessions.c.id != but)
    usable = s.execute(
        select(func.count()).select_from(sessions).where(*conditions, sessions.c.expires_at > now)
    ).scalar_one()
    s.execute(update(sessions).where(*conditions).values(ended_at=now))
    return usable


def delete_sessions_expired_before(s: Session, account_id: str, before: datetime) -> None:
    s.execute(delete(sessions).where(sessions.c.account_id == account_id, sessions.c.expires_at < before))


# -- failed sign-ins ------------------------------------------------------------------------------


def failure_times(s: Session, kind: str, value: str, since: datetime) -> list[datetime]:
    f = sign_in_failures
    rows = s.execute(
        select(f.c.at).where(f.c.key_kind == kind, f.c.key_value == value, f.c.at > since)
    ).scalars()
    return [aware(at) for at in rows]


def delete_failures_before(s: Session, before: datetime) -> None:
    s.execute(delete(sign_in_failures).where(sign_in_failures.c.at < before))


def insert_failure(s: Session, kind: str, value: str, at: datetime) -> int:
    inserted = s.execute(sign_in_failures.insert().values(key_kind=kind, key_value=value, at=at))
    key = cast(CursorResult, inserted).inserted_primary_key
    assert key is not None  # an insert's
    return key[0]


def delete_failures(s: Session, ids: list[int]) -> None:
    s.execute(delete(sign_in_failures).where(sign_in_failures.c.id.in_(ids)))


def clear_failures(s: Session, kind: str, value: str) -> None:
    f = sign_in_failures
    s.execute(delete(f).where(f.c.key_kind == kind, f.c.key_value == value))
