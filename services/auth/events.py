"""The events auth publishes, each routing key written once beside the message it sends. A use case
records them with ``deps.emit(s, event)``, in its own transaction (the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from google.protobuf.message import Message

from cartable.auth.v1 import events_pb2
from services.auth.domain.usernames import display_name

TOKEN_ISSUED = "auth.token.issued.v1"
STUDENT_CREATED = "auth.student.created.v1"
PARENT_CREATED = "auth.parent.created.v1"
# the parent as they are now (same message as created), e.g. after a child was linked to them, or the
# school disabled or enabled the account (``disabled``)
PARENT_UPDATED = "auth.parent.updated.v1"
# a student as they are now and the class and level they had (finance: new communications for a
# new level; the services that scope by class follow the class)
STUDENT_UPDATED = "auth.student.updated.v1"
# a staff account as it is now (notifications' contact book of the school's managers)
STAFF_UPDATED = "auth.staff.updated.v1"
# a family erased, on request or by retention (issue #21): ids only, every service erases its own part
FAMILY_ERASED = "auth.family.erased.v1"


@dataclass(frozen=True)
class Event:
    name: str  # the routing key
    payload: Message
    school_id: str


def token_issued(acc, token: str, reason: str, expires_at: datetime) -> Event:
    """A new connection token for ``acc``: notifications mails it. The only place a token leaves auth."""
    return Event(
        TOKEN_ISSUED,
        events_pb2.TokenIssued(
            account_id=acc.id,
            username=acc.username,
            email=acc.email,
            display_name=display_name(acc.first_name, acc.last_name),
            language=acc.language,
            token=token,
            reason=reason,
            expires_at=int(expires_at.timestamp()),
        ),
        acc.school_id,
    )


def student_created(student_id: str, school_id: str, class_name: str, level: str) -> Event:
    """A student registered: finance opens their wallets."""
    return Event(
        STUDENT_CREATED,
        events_pb2.StudentCreated(student_id=student_id, class_name=class_name, level=level),
        school_id,
    )


def student_updated(student, previous_class_name: str, previous_level: str) -> Event:
    """A student's names, class, level or status changed: ``student`` is how they are now (a row, or
    anything with its attributes)."""
    return Event(
        STUDENT_UPDATED,
        events_pb2.StudentUpdated(
            student_id=student.id,
            class_name=student.class_name,
            level=student.level,
            status="active" if student.active else "left",
            left_on=student.left_on.isoformat() if student.left_on else "",
            first_name=student.first_name,
            last_name=student.last_name,
            previous_class_name=previous_class_name,
            previous_level=previous_level,
        ),
        student.school_id,
    )


def staff_updated(acc) -> Event:
    """A staff account created, disabled or enabled: how it is now."""
    return Event(
        STAFF_UPDATED,
        events_pb2.StaffUpdated(
            account_id=acc.id,
            email=acc.email,
            display_name=display_name(acc.first_name, acc.last_name),
            language=acc.language,
            disabled=acc.disabled_at is not None,
        ),
        acc.school_id,
    )


def parent_created(acc, student_ids: list[str], student_names: dict[str, str]) -> Event:
    """A parent account of these students (first names by id): notifications' contact book."""
    return Event(PARENT_CREATED, _parent(acc, student_ids, student_names), acc.school_id)


def parent_updated(acc, children) -> Event:
    """The parent and all their children (student rows) now, those who left the school included,
    e.g. after a child was linked or the account was disabled or enabled."""
    return Event(
        PARENT_UPDATED,
        _parent(acc, [c.id for c in children], {c.id: c.first_name for c in children}),
        acc.school_id,
    )


def _parent(acc, student_ids: list[str], student_names: dict[str, str]) -> events_pb2.ParentCreated:
    return events_pb2.ParentCreated(
        account_id=acc.id,
        email=acc.email,
        display_name=display_name(acc.first_name, acc.last_name),
        language=acc.language,
        student_ids=student_ids,
        student_names=student_names,
        disabled=acc.disabled_at is not None,
    )


def family_erased(
    school_id: str,
    parent_ids: list[str],
    student_ids: list[str],
    reason: str,
    erased_at: datetime,
    keep_financial_until: date,
) -> Event:
    """Those accounts and students were erased here (names gone): every service erases its own."""
    return Event(
        FAMILY_ERASED,
        events_pb2.FamilyErased(
            school_id=school_id,
            parent_ids=parent_ids,
            student_ids=student_ids,
            reason=reason,
            erased_at=erased_at.isoformat(),
            keep_financial_until=keep_financial_until.isoformat(),
        ),
        school_id,
    )
