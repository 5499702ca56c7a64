"""The mail that a family's data export is ready (issue #21): documents.data_export.ready.v1 (documents
built the ZIP, for the parent or for a manager asking on the parent's behalf) makes one mail to that
parent, in their language: a link to their account page, where they sign in to download it, and the
date until which it can be. Never the file, nor anything of its contents: the archive is handed out
only by documents, only to that parent.

As in ``handlers.py``, the handler runs in the consumer's transaction (the inbox makes it once per
event) and only queues a row for the mailer; the (event_id, kind, recipient) key keeps one mail per
event even if the inbox were bypassed. A parent the contact book does not know (or of another school)
gets nothing: there is no address to write to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.documents.v1 import events_pb2 as documents_events
from cartable.events.v1 import envelope_pb2
from kit.bus import Binding
from kit.service import Runtime
from services.notifications.domain.mail import DATA_EXPORT_READY
from services.notifications.handlers import MailQueue

DATA_EXPORT_READY_EVENT = "documents.data_export.ready.v1"
# The gateway's page of the parent's account where exports are asked for, followed and downloaded
# ("Mon compte › Mes données", gateway/pages/privacy.py). The file's own address is never mailed.
ACCOUNT_PAGE = "/compte/donnees"


def bindings(rt: Runtime, mails: MailQueue | None = None) -> dict[str, Binding]:
    mails = mails or MailQueue(rt)

    def export_ready(s: Session, env: envelope_pb2.Envelope, ev: documents_events.DataExportReady) -> None:
        values = {"expires_at": ev.expires_at, "link": rt.settings.public_base_url + ACCOUNT_PAGE}
        mails.to_account(s, env, DATA_EXPORT_READY, ev.parent_id, values)

    return {DATA_EXPORT_READY_EVENT: Binding(documents_events.DataExportReady, export_ready)}
