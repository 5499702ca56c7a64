"""Rows of the documents service as the messages its API answers (instants in RFC 3339)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cartable.documents.v1 import documents_pb2 as pb
from services.documents.db import aware


def instant(dt: datetime | None) -> str:
    """RFC 3339, or "" for an instant that has not happened."""
    return "" if dt is None else aware(dt).isoformat()


def document_pb(row, read_at: datetime | None) -> pb.Document:
    """A document with the caller's own read state."""
    return pb.Document(
        id=row.id,
        student_id=row.student_id,
        title=row.title,
        deposited_at=instant(row.deposited_at),
        read_at=instant(read_at),
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        filename=row.filename,
        source=row.source,
    )


def photo_pb(row, subject_ids: Iterable[str] = ()) -> pb.Photo:
    """A photo; its size is the display size's (what a download gave when it was the only one). The
    children tagged in it only in staff's answers."""
    return pb.Photo(
        id=row.id,
        album_id=row.album_id,
        number=row.number,
        title=row.title,
        filename=row.filename,
        width=row.width,
        height=row.height,
        thumb_width=row.thumb_width,
        thumb_height=row.thumb_height,
        size_bytes=row.display_bytes,
        uploaded_at=instant(row.uploaded_at),
        subject_ids=list(subject_ids),
    )


def album_pb(
    row, class_names: Iterable[str], photo_count: int, cover, offered_period_ids: Iterable[str]
) -> pb.Album:
    """An album with its classes (none: the whole school), live photo count, cover photo row (or None)
    and the ordering periods it was offered in."""
    out = pb.Album(
        id=row.id,
        title=row.title,
        event=row.event,
        taken_on=row.taken_on.isoformat() if row.taken_on else "",
        class_names=list(class_names),
        created_at=instant(row.created_at),
        published_at=instant(row.published_at),
        photo_count=photo_count,
        offered_period_ids=list(offered_period_ids),
    )
    if cover is not None:
        out.cover.CopyFrom(photo_pb(cover))
    return out
