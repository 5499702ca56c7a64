"""A parent's choice of mails (which ones, in which language, the low-balance alert), and the mails
that could not be sent, which staff list and send again."""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from datetime import datetime

from cartable.notifications.v1 import notifications_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.notifications import db, views
from services.notifications.db import aware
from services.notifications.domain.mail import SENSITIVE_KINDS, language_or_default, validate_preferences


def _encode_cursor(at: datetime, mail_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{mail_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, mail_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return aware(datetime.fromisoformat(at)), mail_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"}) from None


def _require_parent(who: Identity) -> None:
    if who.role != "parent":
        raise Forbidden("mail preferences are a parent's")


class Mails:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- mail preferences (parents) ---------------------------------------------------------------

    def _preferences(self, who: Identity) -> pb.MailPreferences:
        with self.rt.db.unit_of_work() as s:
            contact, prefs = db.contact_of(s, who.account_id)
        # The language: the parent's choice, else the one auth knows.
        known_language = contact["language"] if contact else None
        prefs = replace(prefs, language=language_or_default(prefs.language, known_language))
        return views.mail_preferences(prefs, contact["email"] if contact else "")

    def get_mail_preferences(self, who: Identity) -> pb.GetMailPreferencesResponse:
        """The calling parent's choice of mails and language (defaults until they choose)."""
        _require_parent(who)
        return pb.GetMailPreferencesResponse(preferences=self._preferences(who))

    def update_mail_preferences(
        self, who: Identity, req: pb.UpdateMailPreferencesRequest
    ) -> pb.UpdateMailPreferencesResponse:
        """The calling parent chooses which mails they receive, their language and the balance under
        which they are alerted (0: never). Connection-token mails are not optional. A client that
        predates the meetings switch leaves it out: the parent's choice stays as it was."""
        _require_parent(who)
        prefs = views.preferences_of(req.preferences)
        errors = validate_preferences(prefs)
        if errors:
            raise InvalidRequest("the preferences are not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            if not req.preferences.HasField("meetings"):
                _contact, current = db.contact_of(s, who.account_id)
                prefs = replace(prefs, meetings=current.meetings)
            db.save_preferences(s, who.account_id, who.school_id, prefs, self.rt.clock())
        return pb.UpdateMailPreferencesResponse(preferences=self._preferences(who))

    # -- failed mails (staff) ---------------------------------------------------------------------

    def list_failed_mails(
        self, who: Identity, limit: int = 50, cursor: str = ""
    ) -> pb.ListFailedMailsResponse:
        """Mails of the caller's school that could not be sent, newest failure first, and the next cursor."""
        who.require_staff()
        limit = max(1, min(limit or 50, 200))
        after = _decode_cursor(cursor) if cursor else None
        with self.rt.db.unit_of_work() as s:
            rows = db.failed_mails(s, who.school_id, limit + 1, after)
        page = rows[:limit]
        more = len(rows) > limit
        last = page[-1] if page else None
        return pb.ListFailedMailsResponse(
            mails=[views.failed_mail(r) for r in page],
            next_cursor=_encode_cursor(aware(last["failed_at"]), last["id"]) if more and last else "",
        )

    def retry_failed_mail(self, who: Identity, mail_id: str) -> pb.RetryFailedMailResponse:
        """The manager sends a failed mail again (once the relay or the address is fixed). A
        connection-token mail is not kept: the manager issues a new token instead."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = db.mail_state(s, who.school_id, mail_id)
            if row is None:
                raise NotFound("no such mail")
            if row.status != "failed":
                raise Conflict("this mail has not failed", code="mail_not_failed")
            if row.sensitive or row.kind in SENSITIVE_KINDS:
                raise Conflict("issue a new connection token instead", code="token_mail_not_kept")
            db.requeue_failed_mail(s, mail_id, self.rt.clock())
        return pb.RetryFailedMailResponse()
