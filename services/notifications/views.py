"""Rows and values of the notifications service as the protobuf messages it answers with, and the
one request message it reads into a domain value (a parent's mail preferences)."""

from __future__ import annotations

from dataclasses import asdict

from cartable.notifications.v1 import notifications_pb2 as pb
from services.notifications.db import aware, class_names_of
from services.notifications.domain.mail import PREFERENCE_FIELDS, Preferences


def school_event(r) -> pb.SchoolEvent:
    """A row of school_events."""
    return pb.SchoolEvent(
        id=r.id,
        title=r.title,
        description=r.description,
        starts_at=aware(r.starts_at).isoformat(),
        ends_at=aware(r.ends_at).isoformat(),
        class_names=list(class_names_of(r)),
    )


def mail_preferences(p: Preferences, email: str) -> pb.MailPreferences:
    """A parent's choice (language resolved) and the address their mails go to."""
    return pb.MailPreferences(**{**asdict(p), "language": p.language or ""}, email=email)


def preferences_of(p: pb.MailPreferences) -> Preferences:
    """What a parent sent (``email`` is read only and ignored)."""
    sent = {f: getattr(p, f) for f in PREFERENCE_FIELDS}
    return Preferences(**{**sent, "language": p.language or None})


def failed_mail(r) -> pb.FailedMail:
    """A row (mapping) of outgoing_mails that has failed."""
    return pb.FailedMail(
        id=r["id"],
        kind=r["kind"],
        recipient=r["recipient"],
        account_id=r["account_id"] or "",
        student_id=r["student_id"] or "",
        subject=r["subject"],
        attempts=r["attempts"],
        last_error=r["last_error"] or "",
        created_at=aware(r["created_at"]).isoformat(),
        failed_at=aware(r["failed_at"]).isoformat(),
        retryable=not r["sensitive"],
    )
