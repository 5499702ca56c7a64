"""What the notifications service publishes: each routing key once, beside the message it carries."""

from __future__ import annotations

from cartable.notifications.v1 import events_pb2

MAIL_FAILED = "notifications.mail.failed.v1"


def mail_failed(mail: dict, error: str) -> tuple[str, events_pb2.MailFailed]:
    """A mail given up (a row of outgoing_mails as the mailer claimed it) and why."""
    return MAIL_FAILED, events_pb2.MailFailed(
        mail_id=mail["id"],
        template=mail["kind"],
        reason=error,
        account_id=mail["account_id"] or "",
        source_event_id=mail["event_id"],
        attempts=mail["attempts"],
    )
