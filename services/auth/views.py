"""Rows as the protobuf messages the use cases answer with."""

from __future__ import annotations

from datetime import UTC

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import aware
from services.auth.domain.accounts import account_status
from services.auth.domain.usernames import display_name


def account(acc, school_name: str, second_factor_enabled: bool = False) -> pb.Account:
    return pb.Account(
        second_factor_enabled=second_factor_enabled,
        id=acc.id,
        display_name=display_name(acc.first_name, acc.last_name),
        role=acc.role,
        school_id=acc.school_id,
        language=acc.language,
        email=acc.email,
        username=acc.username,
        school_name=school_name,
    )


def child(student, school_name: str) -> pb.Child:
    return pb.Child(
        id=student.id,
        first_name=student.first_name,
        last_name=student.last_name,
        class_name=student.class_name,
        school_name=school_name,
        level=student.level,
        status=student_status(student),
        left_on=student.left_on.isoformat() if student.left_on else "",
    )


def session(
    token: str,
    row,
    acc,
    school_name: str,
    children,
    active_child_id: str,
    identity_token: str,
    identity_expires_at: int,
    *,
    second_factor_enabled: bool = False,
    second_factor_setup_required: bool = False,
) -> pb.Session:
    """A session row, its account and the account's children (student rows, none for staff)."""
    return pb.Session(
        session_token=token,
        csrf_token=row.csrf_token,
        account=account(acc, school_name, second_factor_enabled),
        second_factor_setup_required=second_factor_setup_required,
        children=[child(c, school_name) for c in children],
        active_child_id=active_child_id,
        identity_token=identity_token,
        identity_expires_at=identity_expires_at,
        expires_at=int(aware(row.expires_at).timestamp()),
    )


def student(
    row, parent_ids: list[str] | None = None, national_number: str = "", *, staff: bool = False
) -> pb.Student:
    """A student row; ``parent_ids`` and ``national_number`` (masked or not: the caller's choice,
    use_cases/common.shown_national_number) only for staff, and the severe disability flag only with
    ``staff`` (health data: parents' and others' answers say false)."""
    return pb.Student(
        id=row.id,
        school_id=row.school_id,
        first_name=row.first_name,
        last_name=row.last_name,
        class_name=row.class_name,
        level=row.level,
        status=student_status(row),
        external_id=row.external_id or "",
        birth_date=row.birth_date.isoformat() if row.birth_date else "",
        left_on=row.left_on.isoformat() if row.left_on else "",
        parent_ids=parent_ids or [],
        national_number=national_number,
        severe_disability=bool(row.severe_disability) if staff else False,
    )


def student_status(row) -> str:
    """active | left."""
    return "active" if row.active else "left"


def status(acc) -> str:
    """invited | active | disabled (domain/accounts.py)."""
    return account_status(acc.password_hash is not None, acc.disabled_at is not None)


def parent_contact(acc, student_ids: list[str], national_number: str = "") -> pb.ParentContact:
    return pb.ParentContact(
        national_number=national_number,
        id=acc.id,
        display_name=display_name(acc.first_name, acc.last_name),
        email=acc.email,
        language=acc.language,
        student_ids=student_ids,
        first_name=acc.first_name,
        last_name=acc.last_name,
        username=acc.username,
        status=status(acc),
    )


def staff_member(acc, second_factor_enabled: bool = False) -> pb.StaffMember:
    return pb.StaffMember(
        second_factor_enabled=second_factor_enabled,
        id=acc.id,
        first_name=acc.first_name,
        last_name=acc.last_name,
        email=acc.email,
        username=acc.username,
        status=status(acc),
        language=acc.language,
    )


def audit_entry(row) -> pb.AuditEntry:
    return pb.AuditEntry(
        id=row.id,
        at=aware(row.at).astimezone(UTC).isoformat(),
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        detail=row.detail,
    )
