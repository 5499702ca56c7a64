"""Auth's part of a family's export (issue #21, ``cartable.privacy.v1.FamilyDataService``): the
parent's account, their children, who is whose guardian, the parent's sessions, connection tokens and
failed sign-ins, and the audit entries about them. Every query is scoped to the caller's school and to
the ids asked (children only those the parent is the guardian of); never a hash nor a secret. The
national numbers are opened here, the family's own, and go in this part only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cartable.privacy.v1 import privacy_pb2 as ppb
from kit.family_data import json_file, rows
from kit.identity import Identity
from services.auth.db import (
    accounts,
    audit_entries,
    connection_tokens,
    guardianships,
    recovery_codes,
    second_factors,
    sessions,
    sign_in_failures,
    students,
)
from services.auth.use_cases.common import Deps, shown_national_number
from services.auth.views import student_status


def exporter(deps: Deps) -> Callable[[Identity, str, list[str]], list[ppb.ExportFile]]:
    """``export(identity, parent_id, student_ids)`` as kit.family_data.registration serves it."""

    def export(who: Identity, parent_id: str, student_ids: list[str]) -> list[ppb.ExportFile]:
        with deps.db.unit_of_work() as s:
            parts = family_data(deps, s, who.school_id, parent_id, student_ids)
        return [json_file(f"auth/{name}.json", data) for name, data in parts.items()]

    return export


def family_data(
    deps: Deps, s: Session, school_id: str, parent_id: str, student_ids: list[str]
) -> dict[str, Any]:
    """Each file's content, by name (nothing for ids of another school: empty parts)."""
    a = accounts
    acc = s.execute(
        select(a).where(a.c.id == parent_id, a.c.school_id == school_id, a.c.role == "parent")
    ).first()
    if acc is None:
        return {
            "account": {},
            "children": [],
            "guardianships": [],
            "sessions": [],
            "connection_tokens": [],
            "sign_in_failures": [],
            "audit_entries": [],
        }
    g, st = guardianships, students
    children = s.execute(
        select(st)
        .join(g, and_(g.c.student_id == st.c.id, g.c.parent_id == acc.id))
        .where(st.c.school_id == school_id, st.c.id.in_(student_ids))
        .order_by(st.c.first_name, st.c.id)
    ).all()
    child_ids = [c.id for c in children]
    factor = s.execute(select(second_factors).where(second_factors.c.account_id == acc.id)).first()
    codes = s.execute(select(recovery_codes.c.used_at).where(recovery_codes.c.account_id == acc.id)).all()
    sess, tok, aud = sessions, connection_tokens, audit_entries
    return {
        "account": {
            "id": acc.id,
            "first_name": acc.first_name,
            "last_name": acc.last_name,
            "email": acc.email,
            "username": acc.username,
            "language": acc.language,
            "national_number": shown_national_number(deps, acc.national_number, full=True),
            "created_at": acc.created_at,
            "password_changed_at": acc.password_changed_at,
            "disabled_at": acc.disabled_at,
            "second_factor_enabled": bool(factor is not None and factor.enabled_at is not None),
            "second_factor_enabled_at": factor.enabled_at if factor is not None else None,
            "recovery_codes_left": sum(1 for c in codes if c.used_at is None),
        },
        "children": [
            {
                "id": c.id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "class_name": c.class_name,
                "level": c.level,
                "birth_date": c.birth_date,
                "national_number": shown_national_number(deps, c.national_number, full=True),
                "school_reference": c.external_id or "",
                "status": student_status(c),
                "left_on": c.left_on,
                "severe_disability": c.severe_disability,
                "created_at": c.created_at,
            }
            for c in children
        ],
        "guardianships": rows(
            s.execute(
                select(g.c.parent_id, g.c.student_id, g.c.created_at)
                .where(g.c.parent_id == acc.id, g.c.school_id == school_id)
                .order_by(g.c.created_at, g.c.student_id)
            )
        ),
        "sessions": rows(
            s.execute(
                select(sess.c.created_at, sess.c.last_seen_at, sess.c.expires_at, sess.c.ended_at)
                .where(sess.c.account_id == acc.id, sess.c.school_id == school_id)
                .order_by(sess.c.created_at)
            )
        ),
        "connection_tokens": rows(
            s.execute(
                select(tok.c.reason, tok.c.issued_at, tok.c.expires_at, tok.c.used_at, tok.c.revoked_at)
                .where(tok.c.account_id == acc.id, tok.c.school_id == school_id)
                .order_by(tok.c.issued_at)
            )
        ),
        "sign_in_failures": rows(
            s.execute(
                select(sign_in_failures.c.at)
                .where(sign_in_failures.c.key_kind == "account", sign_in_failures.c.key_value == acc.username)
                .order_by(sign_in_failures.c.at)
            )
        ),
        # about them or by them: ids, actions and dates (not the staff's names, nor free text)
        "audit_entries": rows(
            s.execute(
                select(aud.c.id, aud.c.at, aud.c.actor_role, aud.c.action, aud.c.object_type, aud.c.object_id)
                .where(
                    aud.c.school_id == school_id,
                    or_(aud.c.object_id.in_([acc.id, *child_ids]), aud.c.actor_id == acc.id),
                )
                .order_by(aud.c.at, aud.c.seq)
            )
        ),
    }
