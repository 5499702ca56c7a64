"""Use cases of the notifications service, one unit of work each."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import or_, select, update

from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.notifications import db
from services.notifications.db import outgoing_mails, school_events
from services.notifications.domain.mail import (
    SENSITIVE_KINDS,
    Preferences,
    language_or_default,
    validate_preferences,
)


@dataclass(frozen=True)
class SchoolEvent:
    id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    class_names: tuple[str, ...]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _parse_instant(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequest("invalid date", fields={field: "expected an RFC 3339 instant"}) from None
    if dt.tzinfo is None:
        raise InvalidRequest("invalid date", fields={field: "the instant needs an offset"})
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class MailPreferencesView:
    preferences: Preferences  # language resolved: the parent's choice, else the one auth knows
    email: str


@dataclass(frozen=True)
class FailedMail:
    id: str
    kind: str
    recipient: str
    account_id: str
    student_id: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime
    failed_at: datetime
    retryable: bool


def _encode_cursor(at: datetime, mail_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{mail_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, mail_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return _aware(datetime.fromisoformat(at)), mail_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"}) from None


def _require_parent(who: Identity) -> None:
    if who.role != "parent":
        raise Forbidden("mail preferences are a parent's")


class NotificationsService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_events(self, who: Identity, student_id: str, limit: int = 20) -> list[SchoolEvent]:
        """Upcoming events of the caller's school; for a student, those of the whole school or their class."""
        class_name = None
        if student_id:
            who.require_student(student_id)
            class_name = who.students.get(student_id, "")
        limit = max(1, min(limit or 20, 200))
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            q = (
                select(school_events)
                .where(school_events.c.school_id == who.school_id, school_events.c.ends_at >= now)
                .order_by(school_events.c.starts_at)
            )
            if class_name is not None:
                q = q.where(
                    or_(
                        school_events.c.class_names == "",
                        school_events.c.class_names.contains(class_name),
                    )
                )
            rows = s.execute(q.limit(limit * 4)).all()
        out = []
        for r in rows:
            classes = tuple(c for c in r.class_names.split("\n") if c)
            if class_name is not None and classes and class_name not in classes:
                continue  # substring match above was only a pre-filter
            out.append(
                SchoolEvent(r.id, r.title, r.description, _aware(r.starts_at), _aware(r.ends_at), classes)
            )
        return out[:limit]

    def create_event(
        self,
        who: Identity,
        title: str,
        description: str,
        starts_at: str,
        ends_at: str,
        class_names: list[str],
    ) -> str:
        """The school publishes an event for the whole school (no classes) or some classes."""
        who.require_staff()
        fields = {}
        title = (title or "").strip()
        if not title or len(title) > 200:
            fields["title"] = "required, at most 200 characters"
        start = end = None
        try:
            start = _parse_instant(starts_at, "starts_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        try:
            end = _parse_instant(ends_at or starts_at, "ends_at")
        except InvalidRequest as e:
            fields.update(e.fields)
        if start and end and end < start:
            fields["ends_at"] = "must not be before starts_at"
        if fields:
            raise InvalidRequest("the event is not valid", fields=fields)
        classes = sorted({c.strip() for c in class_names if c.strip()})
        event_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            s.execute(
                school_events.insert().values(
                    id=event_id,
                    school_id=who.school_id,
                    title=title,
                    description=(description or "").strip(),
                    starts_at=start,
                    ends_at=end,
                    class_names="\n".join(classes),
                    created_at=self.rt.clock(),
                )
            )
        return event_id

    # -- mail preferences (parents) ---------------------------------------------------------------

    def get_mail_preferences(self, who: Identity) -> MailPreferencesView:
        """The calling parent's choice of mails and language (defaults until they choose)."""
        _require_parent(who)
        with self.rt.db.unit_of_work() as s:
            contact, prefs, _chosen = db.contact_of(s, who.account_id)
        known_language = contact["language"] if contact else None
        prefs = replace(prefs, language=language_or_default(prefs.language, known_language))
        return MailPreferencesView(prefs, contact["email"] if contact else "")

    def update_mail_preferences(
        self, who: Identity, prefs: Preferences, keep: Collection[str] = ()
    ) -> MailPreferencesView:
        """The calling parent chooses which mails they receive, their language and the balance under
        which they are alerted (0: never). Connection-token mails are not optional. The fields named
        in ``keep`` stay as they were (a client that does not know them yet)."""
        _require_parent(who)
        errors = validate_preferences(prefs)
        if errors:
            raise InvalidRequest("the preferences are not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            if keep:
                _contact, current, _chosen = db.contact_of(s, who.account_id)
                prefs = replace(prefs, **{f: getattr(current, f) for f in keep})
            db.save_preferences(s, who.account_id, who.school_id, prefs, self.rt.clock())
        return self.get_mail_preferences(who)

    # -- failed mails (staff) ---------------------------------------------------------------------

    def list_failed_mails(
        self, who: Identity, limit: int = 50, cursor: str = ""
    ) -> tuple[list[FailedMail], str]:
        """Mails of the caller's school that could not be sent, newest failure first, and the next cursor."""
        who.require_staff()
        limit = max(1, min(limit or 50, 200))
        after = _decode_cursor(cursor) if cursor else None
        with self.rt.db.unit_of_work() as s:
            rows = db.failed_mails(s, who.school_id, limit + 1, after)
        page = [
            FailedMail(
                id=r["id"],
                kind=r["kind"],
                recipient=r["recipient"],
                account_id=r["account_id"] or "",
                student_id=r["student_id"] or "",
                subject=r["subject"],
                attempts=r["attempts"],
                last_error=r["last_error"] or "",
                created_at=_aware(r["created_at"]),
                failed_at=_aware(r["failed_at"]),
                retryable=not r["sensitive"],
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return page, (_encode_cursor(page[-1].failed_at, page[-1].id) if more else "")

    def retry_failed_mail(self, who: Identity, mail_id: str) -> None:
        """The manager sends a failed mail again (once the relay or the address is fixed). A
        connection-token mail is not kept: the manager issues a new token instead."""
        who.require_staff()
        m = outgoing_mails
        with self.rt.db.unit_of_work() as s:
            row = s.execute(
                select(m.c.status, m.c.kind, m.c.sensitive).where(
                    m.c.id == mail_id, m.c.school_id == who.school_id
                )
            ).first()
            if row is None:
                raise NotFound("no such mail")
            if row.status != "failed":
                raise Conflict("this mail has not failed", code="mail_not_failed")
            if row.sensitive or row.kind in SENSITIVE_KINDS:
                raise Conflict("issue a new connection token instead", code="token_mail_not_kept")
            s.execute(
                update(m)
                .where(m.c.id == mail_id, m.c.status == "failed")
                .values(status="pending", attempts=0, failed_at=None, next_attempt_at=self.rt.clock())
            )
