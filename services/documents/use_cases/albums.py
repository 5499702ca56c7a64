"""Photo albums: listing and paging what the caller may see, creating, publishing and withdrawing
albums (see PHOTOS.md for the choices).

Who sees what: staff see every album of their school, drafts included; a parent sees the published
albums of their school that are for the whole school (no class) or for the class of the student the
call names (``student_id``, the active child). Anything else answers ``not_found``, like an album that
never existed.
"""

from __future__ import annotations

import uuid
from datetime import date

from cartable.documents.v1 import documents_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.documents import events, photos_db
from services.documents.blobstore import BlobStore
from services.documents.use_cases.common import (
    album_message,
    album_messages,
    audience,
    delete_blobs,
    load_album,
    photo_messages,
    require_students_here,
    sees_albums,
    viewer,
)

MAX_CLASSES = 100


def _after(cursor: str, what: str) -> int:
    """The opaque cursor of a page as the service gave it (digits); anything else is a 400."""
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise InvalidRequest(f"invalid {what} cursor", fields={"cursor": "use next_cursor as given"})
    return int(cursor)


def _page_size(limit: int, default: int) -> int:
    return limit if 0 < limit <= 200 else default


class Albums:
    def __init__(self, rt: Runtime, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs

    def list_albums(
        self, who: Identity, student_id: str = "", limit: int = 0, cursor: str = ""
    ) -> pb.ListAlbumsResponse:
        """Albums the caller may see, newest first; parents only those with photos (none for a child
        who left the school). Pages of ``limit`` (1 to 200, else 50)."""
        if not sees_albums(who, student_id):
            return pb.ListAlbumsResponse()
        seen_by = audience(who, student_id)
        offset = _after(cursor, "album")
        limit = _page_size(limit, 50)
        with self.rt.db.unit_of_work() as s:
            require_students_here(s, who, [student_id])
            rows = photos_db.album_page(s, who.school_id, seen_by, limit + 1, offset, viewer(who))
            more = len(rows) > limit
            rows = rows[:limit]
            albums = album_messages(s, rows, {r.id: r.photo_count for r in rows}, viewer(who))
        return pb.ListAlbumsResponse(albums=albums, next_cursor=str(offset + limit) if more else "")

    def get_album(
        self, who: Identity, album_id: str, student_id: str = "", limit: int = 0, cursor: str = ""
    ) -> pb.GetAlbumResponse:
        """The album and a page of its photos in upload order (``limit`` 1 to 200, else 60)."""
        seen_by = audience(who, student_id)
        after = _after(cursor, "photo")
        limit = _page_size(limit, 60)
        with self.rt.db.unit_of_work() as s:
            require_students_here(s, who, [student_id])
            album = album_message(s, load_album(s, who, album_id, seen_by), viewer(who))
            rows = photos_db.photos_after(s, album_id, after, limit + 1, viewer(who))
            more = len(rows) > limit
            page = rows[:limit]
            photos = photo_messages(s, who, page)
        return pb.GetAlbumResponse(
            album=album,
            photos=photos,
            next_cursor=str(page[-1].number) if more else "",
        )

    # -- staff --------------------------------------------------------------------------------------

    def create_album(
        self,
        who: Identity,
        title: str,
        event: str = "",
        taken_on: str = "",
        class_names: list[str] | None = None,
        publish: bool = True,
    ) -> pb.CreateAlbumResponse:
        """A new album for the whole school (no class) or some classes; a draft unless ``publish``."""
        who.require_staff()
        title, event, taken_on = (title or "").strip(), (event or "").strip(), (taken_on or "").strip()
        classes = list(dict.fromkeys(c.strip() for c in (class_names or []) if c and c.strip()))
        fields = {}
        if not title or len(title) > 200:
            fields["title"] = "required, at most 200 characters"
        if len(event) > 200:
            fields["event"] = "at most 200 characters"
        day = None
        if taken_on:
            try:
                day = date.fromisoformat(taken_on)
            except ValueError:
                fields["taken_on"] = "a date YYYY-MM-DD"
        if len(classes) > MAX_CLASSES or any(len(c) > 50 for c in classes):
            fields["class_names"] = f"at most {MAX_CLASSES} classes of at most 50 characters"
        if fields:
            raise InvalidRequest("the album cannot be created", fields=fields)
        album_id = str(uuid.uuid4())
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            photos_db.insert_album(
                s,
                album_id=album_id,
                school_id=who.school_id,
                title=title,
                event=event,
                taken_on=day,
                class_names=classes,
                created_by=who.account_id,
                created_at=now,
                published_at=now if publish else None,
            )
            if publish:
                events.album_published(self.rt, s, who.school_id, album_id, title, classes)
            [album] = album_messages(s, [load_album(s, who, album_id, None)], {})
        return pb.CreateAlbumResponse(album=album)

    def publish_album(self, who: Identity, album_id: str) -> pb.PublishAlbumResponse:
        """Parents of the album's classes see it from now on (publishing twice changes nothing)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = load_album(s, who, album_id, None)
            if row.published_at is None:
                photos_db.publish_album(s, album_id, self.rt.clock())
                classes = photos_db.class_names_of(s, album_id)
                events.album_published(self.rt, s, who.school_id, album_id, row.title, classes)
                audit.record(self.rt, s, who, "documents.album.published", "album", album_id, row.title)
                row = load_album(s, who, album_id, None)
            return pb.PublishAlbumResponse(album=album_message(s, row))

    def withdraw_album(self, who: Identity, album_id: str) -> pb.WithdrawAlbumResponse:
        """The album and all its photos disappear for everyone; their files are deleted. Answers the
        number of photos withdrawn with it."""
        who.require_staff()
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            load_album(s, who, album_id, None)
            keys = photos_db.withdraw_album(s, album_id, who.account_id, now)
            audit.record(
                self.rt, s, who, "documents.album.withdrawn", "album", album_id, f"{len(keys)} photos"
            )
        delete_blobs(self.blobs, [k for row in keys for k in row if k])
        return pb.WithdrawAlbumResponse(photo_count=len(keys))
