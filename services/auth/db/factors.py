"""Queries about second factors: an account's TOTP factor (its secret sealed, see secretbox.py), its
recovery codes (hashes), and whether the school requires a factor of its staff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.orm import Session

from services.auth.db import accounts, locked, recovery_codes, schools, second_factors

# -- the school's requirement ---------------------------------------------------------------------


def session_facts(s: Session, school_id: str, account_id: str) -> tuple[str, bool, bool]:
    """What a session's answer says beside the account, in one statement: (the school's name, whether
    the school requires a second factor of its staff, whether the account has one)."""
    has_factor = (
        select(second_factors.c.account_id)
        .where(second_factors.c.account_id == account_id, second_factors.c.secret.is_not(None))
        .exists()
    )
    row = s.execute(
        select(schools.c.name, schools.c.require_second_factor, has_factor.label("has_factor")).where(
            schools.c.id == school_id
        )
    ).first()
    if row is None:
        return "", False, bool(enabled_ids(s, [account_id]))
    return row.name or "", bool(row.require_second_factor), bool(row.has_factor)


def school_requires(s: Session, school_id: str) -> bool:
    q = select(schools.c.require_second_factor).where(schools.c.id == school_id)
    return bool(s.execute(q).scalar_one_or_none())


def set_school_requires(s: Session, school_id: str, required: bool) -> None:
    s.execute(update(schools).where(schools.c.id == school_id).values(require_second_factor=required))


def staff_without_factor(s: Session, school_id: str) -> int:
    """How many of the school's enabled staff accounts have no second factor yet."""
    a, f = accounts, second_factors
    q = (
        select(func.count())
        .select_from(a)
        .outerjoin(f, f.c.account_id == a.c.id)
        .where(
            a.c.school_id == school_id, a.c.role == "staff", a.c.disabled_at.is_(None), f.c.secret.is_(None)
        )
    )
    return s.execute(q).scalar_one()


# -- an account's factor --------------------------------------------------------------------------


def factor(s: Session, account_id: str, *, lock: bool = False) -> Row | None:
    q = select(second_factors).where(second_factors.c.account_id == account_id)
    return s.execute(locked(s, q) if lock else q).first()


def enabled_ids(s: Session, account_ids: Iterable[str]) -> set[str]:
    """Those of ``account_ids`` that have a second factor."""
    ids = list(account_ids)
    if not ids:
        return set()
    f = second_factors
    return set(
        s.execute(select(f.c.account_id).where(f.c.account_id.in_(ids), f.c.secret.is_not(None))).scalars()
    )


def set_pending(s: Session, acc, sealed: str, now: datetime) -> None:
    """A set-up waiting for its first code (replaces any earlier one that was not confirmed)."""
    if factor(s, acc.id) is None:
        s.execute(
            second_factors.insert().values(
                account_id=acc.id, school_id=acc.school_id, pending_secret=sealed, pending_since=now
            )
        )
    else:
        s.execute(
            update(second_factors)
            .where(second_factors.c.account_id == acc.id)
            .values(pending_secret=sealed, pending_since=now)
        )


def enable(s: Session, account_id: str, sealed: str, step: int, now: datetime) -> None:
    """The pending secret becomes the factor, its first code's step used."""
    s.execute(
        update(second_factors)
        .where(second_factors.c.account_id == account_id)
        .values(secret=sealed, enabled_at=now, last_used_step=step, pending_secret=None, pending_since=None)
    )


def use_step(s: Session, account_id: str, step: int) -> bool:
    """Mark a code's step used, unless that step (or a later one) was used already: False then."""
    f = second_factors
    done = s.execute(
        update(f)
        .where(f.c.account_id == account_id, (f.c.last_used_step.is_(None)) | (f.c.last_used_step < step))
        .values(last_used_step=step)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def remove(s: Session, account_id: str) -> None:
    """No second factor any more (nor pending set-up, nor recovery codes)."""
    s.execute(delete(recovery_codes).where(recovery_codes.c.account_id == account_id))
    s.execute(delete(second_factors).where(second_factors.c.account_id == account_id))


# -- recovery codes -------------------------------------------------------------------------------


def replace_recovery_codes(s: Session, account_id: str, hashes: list[str], now: datetime) -> None:
    s.execute(delete(recovery_codes).where(recovery_codes.c.account_id == account_id))
    s.execute(
        recovery_codes.insert(),
        [{"account_id": account_id, "code_hash": h, "created_at": now} for h in hashes],
    )


def use_recovery_code(s: Session, account_id: str, code_hash: str, now: datetime) -> bool:
    """Use one unused recovery code of the account with this hash; False when there is none."""
    r = recovery_codes
    done = s.execute(
        update(r)
        .where(r.c.account_id == account_id, r.c.code_hash == code_hash, r.c.used_at.is_(None))
        .values(used_at=now)
    )
    return done.rowcount >= 1  # type: ignore[attr-defined]  # a CursorResult


def recovery_codes_left(s: Session, account_id: str) -> int:
    r = recovery_codes
    q = select(func.count()).select_from(r).where(r.c.account_id == account_id, r.c.used_at.is_(None))
    return s.execute(q).scalar_one()
