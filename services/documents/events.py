"""What the documents service publishes: each event's routing key written once, beside its message.
Recorded in the outbox of the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from cartable.documents.v1 import events_pb2
from kit.service import Runtime


def document_deposited(
    rt: Runtime, s: Session, school_id: str, document_id: str, student_id: str, title: str
) -> None:
    """A document is there for a student (deposited by staff or rendered by the platform)."""
    rt.record(
        s,
        "documents.document.deposited.v1",
        events_pb2.DocumentDeposited(document_id=document_id, student_id=student_id, title=title),
        school_id,
    )


def album_published(
    rt: Runtime, s: Session, school_id: str, album_id: str, title: str, class_names: Iterable[str]
) -> None:
    """Parents of the album's classes (none: the whole school) see it from now on."""
    rt.record(
        s,
        "documents.album.published.v1",
        events_pb2.AlbumPublished(album_id=album_id, title=title, class_names=list(class_names)),
        school_id,
    )


def data_export_ready(
    rt: Runtime, s: Session, school_id: str, export_id: str, parent_id: str, expires_at: str
) -> None:
    """A family's data is ready to download until ``expires_at`` (notifications mails the parent a
    link to their account page, never the file)."""
    rt.record(
        s,
        "documents.data_export.ready.v1",
        events_pb2.DataExportReady(export_id=export_id, parent_id=parent_id, expires_at=expires_at),
        school_id,
    )
