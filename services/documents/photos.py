"""Use cases of photo albums, one unit of work each (see PHOTOS.md for the choices).

Who sees what: staff see every album of their school, drafts included; a parent sees the published
albums of their school that are for the whole school (no class) or for the class of the student the
call names (``student_id``, the active child). Photo files are served to a parent when the album is
visible for one of the children their identity names. Anything else answers ``not_found``, like a
photo that never existed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.documents.v1 import events_pb2
from kit.errors import Conflict, InvalidRequest, NotFound, TooLarge, Unavailable
from kit.identity import Identity
from kit.service import Runtime
from services.documents.blobstore import BlobStore
from services.documents.db import photo_album_classes, photo_album_offers, photo_albums, photos
from services.documents.domain.photos import (
    CONTENT_TYPE,
    ProcessedPhoto,
    RejectedPhoto,
    photo_filename,
    pixels_of,
    process_photo,
)

log = logging.getLogger("documents.photos")

MAX_FILES_PER_UPLOAD = 100
MAX_CLASSES = 100
VARIANTS = ("thumbnail", "display", "full")
MAX_REQUEST_PIXELS = 400_000_000  # decoded at most two at a time: bounds the memory of one upload


@dataclass(frozen=True)
class PhotoView:
    id: str
    album_id: str
    number: int
    title: str
    filename: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    size_bytes: int
    uploaded_at: datetime


@dataclass(frozen=True)
class AlbumView:
    id: str
    title: str
    event: str
    taken_on: date | None
    class_names: tuple[str, ...]
    created_at: datetime
    published_at: datetime | None
    photo_count: int
    cover: PhotoView | None
    offered_period_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    title: str = ""


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC)


def _photo_view(row) -> PhotoView:
    return PhotoView(
        row.id,
        row.album_id,
        row.number,
        row.title,
        row.filename,
        row.width,
        row.height,
        row.thumb_width,
        row.thumb_height,
        row.display_bytes,
        _aware(row.uploaded_at),
    )


def new_blob_key() -> str:
    u = str(uuid.uuid4())
    return f"{u[:2]}/{u}.jpg"


def _after(cursor: str, what: str) -> int:
    """The opaque cursor of a page as the service gave it (digits); anything else is a 400."""
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise InvalidRequest(f"invalid {what} cursor", fields={"cursor": "use next_cursor as given"})
    return int(cursor)


class PhotosService:
    def __init__(self, rt: Runtime, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs
        self.max_bytes = rt.settings.max_upload_bytes

    # -- who sees what ----------------------------------------------------------------------------

    def _audience(self, who: Identity, student_id: str) -> list[str] | None:
        """None for staff (every album of their school); else the classes whose albums count."""
        if who.is_staff:
            return None
        if student_id:
            who.require_student(student_id)
            return [who.students[student_id]]
        return sorted({c for c in who.students.values() if c})

    def _visible(self, who: Identity, audience: list[str] | None):
        a, c = photo_albums, photo_album_classes
        conds = [a.c.school_id == who.school_id, a.c.withdrawn_at.is_(None)]
        if audience is not None:
            for_classes = select(c.c.album_id).where(c.c.album_id == a.c.id)
            conds += [
                a.c.published_at.is_not(None),
                or_(~exists(for_classes), exists(for_classes.where(c.c.class_name.in_(audience)))),
            ]
        return and_(*conds)

    def _albums(self, s: Session, rows, counts: dict[str, int]) -> list[AlbumView]:
        """Album views for ``rows``, with their classes, cover and offers, in three queries."""
        ids = [r.id for r in rows]
        if not ids:
            return []
        classes: dict[str, list[str]] = {}
        for r in s.execute(
            select(photo_album_classes)
            .where(photo_album_classes.c.album_id.in_(ids))
            .order_by(photo_album_classes.c.class_name)
        ):
            classes.setdefault(r.album_id, []).append(r.class_name)
        first = (
            select(photos.c.album_id, func.min(photos.c.number).label("n"))
            .where(photos.c.album_id.in_(ids), photos.c.withdrawn_at.is_(None))
            .group_by(photos.c.album_id)
            .subquery()
        )
        covers = {
            r.album_id: _photo_view(r)
            for r in s.execute(
                select(photos).join(
                    first, and_(first.c.album_id == photos.c.album_id, first.c.n == photos.c.number)
                )
            )
        }
        offers: dict[str, list[str]] = {}
        for r in s.execute(
            select(photo_album_offers.c.album_id, photo_album_offers.c.period_id)
            .where(photo_album_offers.c.album_id.in_(ids))
            .order_by(photo_album_offers.c.offered_at)
        ):
            offers.setdefault(r.album_id, []).append(r.period_id)
        return [
            AlbumView(
                r.id,
                r.title,
                r.event,
                r.taken_on,
                tuple(classes.get(r.id, ())),
                _aware(r.created_at),
                _aware(r.published_at),
                counts.get(r.id, 0),
                covers.get(r.id),
                tuple(offers.get(r.id, ())),
            )
            for r in rows
        ]

    def _count(self, s: Session, album_id: str) -> int:
        return s.execute(
            select(func.count()).where(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
        ).scalar_one()

    def _load_album(self, s: Session, who: Identity, album_id: str, audience: list[str] | None):
        row = s.execute(
            select(photo_albums).where(photo_albums.c.id == album_id, self._visible(who, audience))
        ).first()
        if row is None:
            raise NotFound("no such album")
        return row

    # -- reading ----------------------------------------------------------------------------------

    def list_albums(
        self, who: Identity, student_id: str = "", limit: int = 50, cursor: str = ""
    ) -> tuple[list[AlbumView], str]:
        """Albums the caller may see, newest first; parents only those with photos. (page, next cursor)"""
        audience = self._audience(who, student_id)
        offset = _after(cursor, "album")
        a = photo_albums
        counts = (
            select(photos.c.album_id, func.count().label("n"))
            .where(photos.c.school_id == who.school_id, photos.c.withdrawn_at.is_(None))
            .group_by(photos.c.album_id)
            .subquery()
        )
        n = func.coalesce(counts.c.n, 0)
        q = (
            select(a, n.label("photo_count"))
            .outerjoin(counts, counts.c.album_id == a.c.id)
            .where(self._visible(who, audience))
        )
        if audience is not None:
            q = q.where(n > 0)
        q = (
            q.order_by(func.coalesce(a.c.published_at, a.c.created_at).desc(), a.c.id)
            .limit(limit + 1)
            .offset(offset)
        )
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(q).all()
            more = len(rows) > limit
            rows = rows[:limit]
            views = self._albums(s, rows, {r.id: r.photo_count for r in rows})
        return views, (str(offset + limit) if more else "")

    def get_album(
        self, who: Identity, album_id: str, student_id: str = "", limit: int = 60, cursor: str = ""
    ) -> tuple[AlbumView, list[PhotoView], str]:
        """The album and a page of its photos in upload order; (album, photos, next cursor)."""
        audience = self._audience(who, student_id)
        after = _after(cursor, "photo")
        with self.rt.db.unit_of_work() as s:
            row = self._load_album(s, who, album_id, audience)
            [album] = self._albums(s, [row], {row.id: self._count(s, album_id)})
            rows = s.execute(
                select(photos)
                .where(
                    photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None), photos.c.number > after
                )
                .order_by(photos.c.number)
                .limit(limit + 1)
            ).all()
        more = len(rows) > limit
        page = [_photo_view(r) for r in rows[:limit]]
        return album, page, (str(page[-1].number) if more else "")

    def get_photo(
        self, who: Identity, photo_id: str, student_id: str = ""
    ) -> tuple[PhotoView, AlbumView, str, str]:
        """One photo, its album and the ids of the photos before and after it (or "")."""
        audience = self._audience(who, student_id)
        with self.rt.db.unit_of_work() as s:
            photo, album_row = self._load_photo(s, who, photo_id, audience)
            [album] = self._albums(s, [album_row], {album_row.id: self._count(s, album_row.id)})
            live = and_(photos.c.album_id == photo.album_id, photos.c.withdrawn_at.is_(None))
            prev_id = s.execute(
                select(photos.c.id)
                .where(live, photos.c.number < photo.number)
                .order_by(photos.c.number.desc())
                .limit(1)
            ).scalar_one_or_none()
            next_id = s.execute(
                select(photos.c.id)
                .where(live, photos.c.number > photo.number)
                .order_by(photos.c.number)
                .limit(1)
            ).scalar_one_or_none()
        return _photo_view(photo), album, prev_id or "", next_id or ""

    def _load_photo(self, s: Session, who: Identity, photo_id: str, audience: list[str] | None):
        photo = s.execute(
            select(photos).where(
                photos.c.id == photo_id, photos.c.school_id == who.school_id, photos.c.withdrawn_at.is_(None)
            )
        ).first()
        if photo is None:
            raise NotFound("no such photo")
        album = self._load_album(s, who, photo.album_id, audience)
        return photo, album

    def open_photo(
        self, who: Identity, photo_id: str, variant: str, with_content: bool = True
    ) -> tuple[PhotoView, bytes]:
        """The thumbnail, display or full-size JPEG of a photo the caller may see (any of a parent's
        children); without reading the file when not ``with_content`` (the bytes are then empty)."""
        if variant not in VARIANTS:
            raise InvalidRequest(
                "variant must be thumbnail, display or full", fields={"variant": "thumbnail | display | full"}
            )
        with self.rt.db.unit_of_work() as s:
            photo, _album = self._load_photo(s, who, photo_id, self._audience(who, ""))
        if not with_content:
            return _photo_view(photo), b""
        key = {
            "thumbnail": photo.thumb_key,
            "display": photo.display_key,
            "full": photo.full_key or photo.display_key,
        }[variant]
        try:
            content = self.blobs.get(key)
        except FileNotFoundError:
            log.error("photo file missing", extra={"photo_id": photo_id, "variant": variant})
            raise NotFound("the file is missing; the school has been told") from None
        return _photo_view(photo), content

    # -- staff --------------------------------------------------------------------------------------

    def create_album(
        self,
        who: Identity,
        title: str,
        event: str = "",
        taken_on: str = "",
        class_names: list[str] | None = None,
        publish: bool = True,
    ) -> AlbumView:
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
            s.execute(
                photo_albums.insert().values(
                    id=album_id,
                    school_id=who.school_id,
                    title=title,
                    event=event,
                    taken_on=day,
                    created_by=who.account_id,
                    created_at=now,
                    published_at=now if publish else None,
                    withdrawn_at=None,
                    withdrawn_by=None,
                    next_number=1,
                )
            )
            if classes:
                s.execute(
                    photo_album_classes.insert(), [{"album_id": album_id, "class_name": c} for c in classes]
                )
            if publish:
                self._published(s, who, album_id, title, classes)
            row = self._load_album(s, who, album_id, None)
            [album] = self._albums(s, [row], {})
        return album

    def _published(self, s: Session, who: Identity, album_id: str, title: str, classes) -> None:
        self.rt.record(
            s,
            "documents.album.published.v1",
            events_pb2.AlbumPublished(album_id=album_id, title=title, class_names=list(classes)),
            who.school_id,
        )

    def publish_album(self, who: Identity, album_id: str) -> AlbumView:
        """Parents of the album's classes see it from now on (publishing twice changes nothing)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = self._load_album(s, who, album_id, None)
            if row.published_at is None:
                s.execute(
                    update(photo_albums)
                    .where(photo_albums.c.id == album_id, photo_albums.c.published_at.is_(None))
                    .values(published_at=self.rt.clock())
                )
                classes = (
                    s.execute(
                        select(photo_album_classes.c.class_name).where(
                            photo_album_classes.c.album_id == album_id
                        )
                    )
                    .scalars()
                    .all()
                )
                self._published(s, who, album_id, row.title, classes)
                row = self._load_album(s, who, album_id, None)
            [album] = self._albums(s, [row], {album_id: self._count(s, album_id)})
        return album

    def _process_all(self, uploads: list[Upload]) -> list[ProcessedPhoto]:
        """Every file processed (a few at a time: Pillow works outside the GIL), or a 400 naming each
        refused file by its name."""

        def one(u: Upload) -> ProcessedPhoto | RejectedPhoto:
            try:
                return process_photo(u.content)
            except RejectedPhoto as e:
                return e

        declared = sum(pixels_of(u.content) for u in uploads)
        if declared > MAX_REQUEST_PIXELS:
            raise TooLarge(
                f"these images hold {declared // 1_000_000} megapixels in all; send at most "
                f"{MAX_REQUEST_PIXELS // 1_000_000} at once"
            )
        with ThreadPoolExecutor(max_workers=min(2, len(uploads))) as pool:
            results = list(pool.map(one, uploads))
        fields = {}
        for i, (u, r) in enumerate(zip(uploads, results, strict=True)):
            if isinstance(r, RejectedPhoto):
                fields[f"files[{i}]"] = f"{u.filename or f'#{i + 1}'}: {r.message}"
        if fields:
            refused = ", ".join(v.split(": ", 1)[0] for v in fields.values())
            raise InvalidRequest(
                f"{len(fields)} of {len(uploads)} files refused ({refused}); no photo was added",
                fields=fields,
            )
        return [r for r in results if isinstance(r, ProcessedPhoto)]

    def add_photos(
        self,
        who: Identity,
        album_id: str,
        uploads: list[Upload],
        still_wanted: Callable[[], bool] | None = None,
    ) -> list[PhotoView]:
        """Several photos at once, all or nothing: one bad file and none is added, no file kept.

        ``still_wanted`` (the gRPC call still active) is asked right before the commit: a caller that
        gave up waiting (its deadline passed, the staff member will upload again) gets nothing added,
        so a retried upload does not add every photo twice."""
        who.require_staff()
        fields = {}
        if not uploads:
            fields["files"] = "at least one JPEG or PNG file"
        elif len(uploads) > MAX_FILES_PER_UPLOAD:
            fields["files"] = f"at most {MAX_FILES_PER_UPLOAD} files at once"
        for i, u in enumerate(uploads):
            if len(u.title or "") > 300:
                fields[f"titles[{i}]"] = "at most 300 characters"
        if fields:
            raise InvalidRequest("the photos cannot be added", fields=fields)
        if sum(len(u.content) for u in uploads) > self.max_bytes:
            raise TooLarge(f"at most {self.max_bytes // (1024 * 1024)} MiB of files at once")
        with self.rt.db.unit_of_work() as s:  # a missing album is said before any work
            self._load_album(s, who, album_id, None)
        processed = self._process_all(uploads)

        written: list[str] = []
        try:
            keys = []
            for p in processed:
                thumb_key, display_key, full_key = new_blob_key(), new_blob_key(), new_blob_key()
                for key, rendition in (
                    (thumb_key, p.thumbnail),
                    (display_key, p.display),
                    (full_key, p.full),
                ):
                    self.blobs.put(key, rendition.data, CONTENT_TYPE)
                    written.append(key)
                keys.append((thumb_key, display_key, full_key))
            now = self.rt.clock()
            with self.rt.db.unit_of_work() as s:
                album = s.execute(
                    select(photo_albums)
                    .where(photo_albums.c.id == album_id, self._visible(who, None))
                    .with_for_update()
                ).first()
                if album is None:  # withdrawn meanwhile
                    raise NotFound("no such album")
                if still_wanted is not None and not still_wanted():
                    raise Unavailable("the upload was abandoned by its caller; no photo was added")
                rows = []
                for i, (u, p, (thumb_key, display_key, full_key)) in enumerate(
                    zip(uploads, processed, keys, strict=True)
                ):
                    number = album.next_number + i
                    rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "album_id": album_id,
                            "school_id": who.school_id,
                            "number": number,
                            "title": (u.title or "").strip(),
                            "filename": photo_filename(u.filename, f"photo-{number}"),
                            "width": p.display.width,
                            "height": p.display.height,
                            "thumb_width": p.thumbnail.width,
                            "thumb_height": p.thumbnail.height,
                            "display_key": display_key,
                            "thumb_key": thumb_key,
                            "full_key": full_key,
                            "display_bytes": len(p.display.data),
                            "thumb_bytes": len(p.thumbnail.data),
                            "uploaded_by": who.account_id,
                            "uploaded_at": now,
                            "withdrawn_at": None,
                            "withdrawn_by": None,
                        }
                    )
                s.execute(photos.insert(), rows)
                s.execute(
                    update(photo_albums)
                    .where(photo_albums.c.id == album_id)
                    .values(next_number=album.next_number + len(rows))
                )
        except BaseException:
            self._delete_blobs(written)  # nothing refers to them
            raise
        return [
            PhotoView(
                r["id"],
                album_id,
                r["number"],
                r["title"],
                r["filename"],
                r["width"],
                r["height"],
                r["thumb_width"],
                r["thumb_height"],
                r["display_bytes"],
                _aware(now),
            )
            for r in rows
        ]

    def _delete_blobs(self, keys: list[str]) -> int:
        """Delete files; a failure is logged, not raised (the rows are already withdrawn: nothing serves
        them, and ``purge-withdrawn-photos`` tries again)."""
        failed = 0
        for key in keys:
            try:
                self.blobs.delete(key)
            except Exception:
                failed += 1
                log.exception("photo file not deleted", extra={"blob_key": key})
        return failed

    def withdraw_photo(self, who: Identity, photo_id: str) -> None:
        """The photo disappears for everyone and its files are deleted."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            photo, _album = self._load_photo(s, who, photo_id, None)
            s.execute(
                update(photos)
                .where(photos.c.id == photo_id, photos.c.withdrawn_at.is_(None))
                .values(withdrawn_at=self.rt.clock(), withdrawn_by=who.account_id)
            )
        self._delete_blobs([k for k in (photo.thumb_key, photo.display_key, photo.full_key) if k])

    def withdraw_album(self, who: Identity, album_id: str) -> int:
        """The album and all its photos disappear for everyone; their files are deleted. The number of
        photos withdrawn with it."""
        who.require_staff()
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            self._load_album(s, who, album_id, None)
            live = and_(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
            keys = s.execute(
                select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(live)
            ).all()
            s.execute(update(photos).where(live).values(withdrawn_at=now, withdrawn_by=who.account_id))
            s.execute(
                update(photo_albums)
                .where(photo_albums.c.id == album_id)
                .values(withdrawn_at=now, withdrawn_by=who.account_id)
            )
        self._delete_blobs([k for row in keys for k in row if k])
        return len(keys)

    def record_offer(
        self, who: Identity, album_id: str, period_id: str, price_cents: int, item_count: int
    ) -> None:
        """Remember that the album's photos were put in an ordering period's catalog (once per period)."""
        who.require_staff()
        if not period_id:
            raise InvalidRequest("period_id is required", fields={"period_id": "required"})
        try:
            with self.rt.db.unit_of_work() as s:
                self._load_album(s, who, album_id, None)
                s.execute(
                    photo_album_offers.insert().values(
                        album_id=album_id,
                        period_id=period_id,
                        price_cents=price_cents,
                        item_count=item_count,
                        offered_by=who.account_id,
                        offered_at=self.rt.clock(),
                    )
                )
        except IntegrityError:
            raise Conflict("the album is already offered in this period", code="already_offered") from None

    # -- operations -------------------------------------------------------------------------------

    def purge_withdrawn(self) -> tuple[int, int]:
        """Delete again the files of every withdrawn photo (after a blob store outage); (files, failures)."""
        with self.rt.db.unit_of_work() as s:
            keys = s.execute(
                select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(
                    photos.c.withdrawn_at.is_not(None)
                )
            ).all()
        flat = [k for row in keys for k in row if k]
        return len(flat), self._delete_blobs(flat)
