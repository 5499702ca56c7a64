"""Photos: uploading several at once (all or nothing), serving a photo and its files to those who may
see it, withdrawing one, and deleting again the files of withdrawn photos.

A photo's files are served to a parent when its album is visible for one of the children their
identity names (see albums.py); anything else answers ``not_found``, like a photo that never existed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import SimpleNamespace

from sqlalchemy.orm import Session

from cartable.documents.v1 import documents_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound, TooLarge, Unavailable
from kit.identity import Identity
from kit.service import Runtime
from services.documents import photos_db, views
from services.documents.blobstore import BlobStore
from services.documents.domain.photos import (
    CONTENT_TYPE,
    MAX_PROCESSING_BYTES,
    ProcessedPhoto,
    RejectedPhoto,
    memory_of,
    photo_filename,
    pixels_of,
    process_photo,
)
from services.documents.use_cases.common import (
    album_message,
    audience,
    delete_blobs,
    load_album,
    new_blob_key,
    photo_messages,
    require_students_here,
    viewer,
)

log = logging.getLogger("documents.photos")

MAX_FILES_PER_UPLOAD = 100
VARIANTS = ("thumbnail", "display", "full")
MAX_REQUEST_PIXELS = 400_000_000  # decoded at most two at a time: bounds the memory of one upload
# What the photos being processed may take together, in the whole service (every upload at once): one
# photo of the largest size, or two smaller ones; with the service's own ~100 MiB this stays within the
# 256 MiB its manifests give it. Raise it together with that limit.
DECODING_BUDGET_BYTES = MAX_PROCESSING_BYTES


class MemoryBudget:
    """Memory shared by the decodes of every upload: a decode waits until its share is free, so
    concurrent uploads take turns instead of exhausting the service's memory."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        amount = min(amount, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= amount)
            self._free -= amount
        try:
            yield
        finally:
            with self._changed:
                self._free += amount
                self._changed.notify_all()


def _load_photo(s: Session, who: Identity, photo_id: str, seen_by: list[str] | None):
    """The live photo and its album if ``seen_by`` sees the album and the caller the photo (a refused
    child's photo: staff and that child's family only); else not_found."""
    photo = photos_db.find_live_photo(s, who.school_id, photo_id, viewer(who))
    if photo is None:
        raise NotFound("no such photo")
    return photo, load_album(s, who, photo.album_id, seen_by)


def _process_all(uploads: Sequence[pb.PhotoUpload], budget: MemoryBudget) -> list[ProcessedPhoto]:
    """Every file processed (two at a time: Pillow works outside the GIL; each once its memory is free
    in ``budget``), or a 400 naming each refused file by its name."""

    def one(u: pb.PhotoUpload) -> ProcessedPhoto | RejectedPhoto:
        try:
            with budget.reserve(memory_of(u.content)):
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


class Photos:
    def __init__(self, rt: Runtime, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs
        self.max_bytes = rt.settings.max_upload_bytes
        self.decoding = MemoryBudget(DECODING_BUDGET_BYTES)

    # -- reading ----------------------------------------------------------------------------------

    def get_photo(self, who: Identity, photo_id: str, student_id: str = "") -> pb.GetPhotoResponse:
        """One photo, its album and the ids of the photos before and after it (or "")."""
        seen_by = audience(who, student_id)
        with self.rt.db.unit_of_work() as s:
            require_students_here(s, who, [student_id])
            photo, album_row = _load_photo(s, who, photo_id, seen_by)
            album = album_message(s, album_row, viewer(who))
            prev_id, next_id = photos_db.neighbours(s, photo.album_id, photo.number, viewer(who))
            [message] = photo_messages(s, who, [photo])
        return pb.GetPhotoResponse(
            photo=message,
            album=album,
            previous_photo_id=prev_id or "",
            next_photo_id=next_id or "",
        )

    def open_photo(
        self, who: Identity, photo_id: str, variant: str, with_content: bool = True
    ) -> pb.OpenPhotoResponse:
        """The thumbnail, display or full-size JPEG of a photo the caller may see (any of a parent's
        children); without reading the file when not ``with_content`` (the bytes are then empty)."""
        if variant not in VARIANTS:
            raise InvalidRequest(
                "variant must be thumbnail, display or full", fields={"variant": "thumbnail | display | full"}
            )
        with self.rt.db.unit_of_work() as s:
            photo, _album = _load_photo(s, who, photo_id, audience(who, ""))
        if not with_content:
            return pb.OpenPhotoResponse(photo=views.photo_pb(photo), content_type=CONTENT_TYPE, content=b"")
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
        return pb.OpenPhotoResponse(photo=views.photo_pb(photo), content_type=CONTENT_TYPE, content=content)

    # -- staff --------------------------------------------------------------------------------------

    def add_photos(
        self,
        who: Identity,
        album_id: str,
        uploads: Sequence[pb.PhotoUpload],
        still_wanted: Callable[[], bool] | None = None,
    ) -> pb.AddPhotosResponse:
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
            load_album(s, who, album_id, None)
        processed = _process_all(uploads, self.decoding)

        written: list[str] = []
        try:
            keys = []
            for p in processed:
                thumb_key, display_key, full_key = (
                    new_blob_key("jpg"),
                    new_blob_key("jpg"),
                    new_blob_key("jpg"),
                )
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
                album = load_album(s, who, album_id, None, lock=True)  # not found: withdrawn meanwhile
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
                photos_db.insert_photos(s, album_id, rows, next_number=album.next_number + len(rows))
        except BaseException:
            delete_blobs(self.blobs, written)  # nothing refers to them
            raise
        return pb.AddPhotosResponse(photos=[views.photo_pb(SimpleNamespace(**r)) for r in rows])

    def withdraw_photo(self, who: Identity, photo_id: str) -> pb.WithdrawPhotoResponse:
        """The photo disappears for everyone and its files are deleted."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            photo, album = _load_photo(s, who, photo_id, None)
            photos_db.withdraw_photo(s, photo_id, who.account_id, self.rt.clock())
            audit.record(
                self.rt, s, who, "documents.photo.withdrawn", "photo", photo_id, f"album {album.title}"
            )
        delete_blobs(self.blobs, [k for k in (photo.thumb_key, photo.display_key, photo.full_key) if k])
        return pb.WithdrawPhotoResponse()

    # -- operations -------------------------------------------------------------------------------

    def purge_withdrawn(self) -> tuple[int, int]:
        """Delete again the files of every withdrawn photo (after a blob store outage); (files, failures)."""
        with self.rt.db.unit_of_work() as s:
            keys = photos_db.withdrawn_photo_keys(s)
        flat = [k for row in keys for k in row if k]
        return len(flat), delete_blobs(self.blobs, flat)
