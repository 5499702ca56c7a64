"""Documents' part of a family's data (issue #21, ``FamilyDataService.ExportFamilyData``): the
children's documents and their files, the parent's read receipts, the photos of the albums the
children's classes see, with their files, the children's photo consents and the photos each child is
tagged in (whatever album they are in: drafts and other classes' albums too, withdrawn ones marked).

Every query is scoped to the caller's school and to the ids asked (``kit.family_data`` checked the
caller first). A document addressed to one parent only (``for_account_id``: a tax certificate naming
its payer) goes in that parent's export only.

Photos: documents keeps no copy of a child's class; the class is the one the caller's identity token
gives (a parent's), or, for staff (whose token names no class), the classes and leaving dates the
gateway took from auth (CompleteDataExport's ``student_classes``, ``student_left_on``). A child who
left counts for the albums of their class published until their leaving day.
Photo files are the display size (1600 px), and at most ``PHOTO_FILES_BUDGET`` bytes of them go in
the archive (the archive travels in one gRPC message of at most 32 MiB); any other is listed with
``file`` null. A photo another family's child appears in, whose parent refused that other families
see it, is not in the albums' photos (as in the albums themselves, ``photos_db.shown_to``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from cartable.privacy.v1 import privacy_pb2 as ppb
from kit.family_data import json_file
from kit.identity import Identity
from services.documents import db, photos_db
from services.documents.blobstore import BlobStore
from services.documents.db import aware
from services.documents.domain.archive import zip_entry_name
from services.documents.domain.photos import CONTENT_TYPE as JPEG

log = logging.getLogger("documents.family_data")

FILES = "documents/files/"
PHOTO_FILES_BUDGET = 16 * 1024 * 1024
WHOLE_SCHOOL = ""  # the "class" of albums for the whole school


def _until_end_of(day: str) -> datetime | None:
    """The end of a leaving day (YYYY-MM-DD), in UTC; None when the token gives no readable date."""
    try:
        return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time.min, tzinfo=UTC)
    except ValueError:
        return None


def album_audience(
    who: Identity,
    student_ids: list[str],
    classes: dict[str, str] | None = None,
    left_on: dict[str, str] | None = None,
) -> dict[str, datetime | None]:
    """The classes whose albums the export holds, each with the last instant that counts (None: no
    limit): a parent's children's classes from their token; the whole school's albums for everyone
    (until the last child left, if all did). Staff: the classes and leaving dates given (auth's, by
    the gateway), else the whole school's only."""
    seen: dict[str, datetime | None] = {}

    def add(cls: str, until: datetime | None) -> None:
        before = seen.get(cls, until)
        seen[cls] = None if until is None or before is None else max(until, before)

    if not student_ids:
        return {WHOLE_SCHOOL: None}
    if who.role == "parent":
        class_of, left = who.students, {sid: who.left_on(sid) for sid in student_ids if who.is_left(sid)}
    elif classes:
        class_of, left = classes, {sid: day for sid, day in (left_on or {}).items() if day}
    else:
        return {WHOLE_SCHOOL: None}
    for sid in student_ids:
        until = _until_end_of(left[sid]) if sid in left else None
        if sid in left and until is None:
            continue
        if class_of.get(sid):
            add(class_of[sid], until)
        add(WHOLE_SCHOOL, until)
    return seen


def _sees(seen_by: dict[str, datetime | None], cls: str, published: datetime) -> bool:
    if cls not in seen_by:
        return False
    until = seen_by[cls]
    return until is None or published < until


class FamilyData:
    def __init__(self, rt: Any, blobs: BlobStore) -> None:
        self.rt = rt
        self.blobs = blobs

    def export(
        self,
        who: Identity,
        parent_id: str,
        student_ids: list[str],
        *,
        classes: dict[str, str] | None = None,
        left_on: dict[str, str] | None = None,
    ) -> list[ppb.ExportFile]:
        """Documents' part for ``parent_id`` and ``student_ids`` (already checked for ``who``);
        ``classes``/``left_on``: a staff caller's children's (see the module)."""
        with self.rt.db.unit_of_work() as s:
            docs = self._documents(s, who.school_id, parent_id, student_ids)
            reads = self._reads(s, who.school_id, parent_id)
            albums, photos = self._photos(
                s, who.school_id, album_audience(who, student_ids, classes, left_on), student_ids
            )
            consents = self._consents(s, who.school_id, student_ids)
            tagged = self._tagged(s, who.school_id, student_ids)
        files: list[ppb.ExportFile] = []
        for meta, key in docs:
            content = self._get(key, document_id=meta["id"])
            if content is None:
                meta["file"] = None
            else:
                files.append(
                    ppb.ExportFile(name=meta["file"], content=content, content_type=meta["content_type"])
                )
        budget = PHOTO_FILES_BUDGET
        for meta, key, size in photos:
            content = self._get(key, photo_id=meta["id"]) if size <= budget else None
            if content is None:
                meta["file"] = None
                continue
            budget -= len(content)
            files.append(ppb.ExportFile(name=meta["file"], content=content, content_type=JPEG))
        # written once the files are read: a file missing (or left out) is null there
        return [
            json_file("documents/documents.json", [d for d, _ in docs]),
            json_file("documents/read_receipts.json", reads),
            json_file("documents/photos.json", albums),
            json_file("documents/photo_consents.json", consents),
            json_file("documents/photos_of_children.json", tagged),
            *files,
        ]

    def _get(self, key: str, **ids: str) -> bytes | None:
        try:
            return self.blobs.get(key)
        except FileNotFoundError:
            log.error("file missing from the export", extra=ids)
            return None

    def _documents(self, s, school_id: str, parent_id: str, student_ids: list[str]) -> list[tuple[dict, str]]:
        """The children's documents the parent may see, each with its file's name in the ZIP, the
        parent's own read instant and the blob key."""
        if not student_ids:
            return []
        d, r = db.documents, db.document_reads
        rows = s.execute(
            select(d, r.c.read_at)
            .outerjoin(r, and_(r.c.document_id == d.c.id, r.c.account_id == parent_id))
            .where(
                d.c.school_id == school_id,
                d.c.student_id.in_(student_ids),
                or_(d.c.for_account_id.is_(None), d.c.for_account_id == parent_id),
            )
            .order_by(d.c.student_id, d.c.deposited_at, d.c.id)
        ).all()
        out = []
        for row in rows:
            meta = {
                "id": row.id,
                "student_id": row.student_id,
                "title": row.title,
                "filename": row.filename,
                "content_type": row.content_type,
                "size_bytes": row.size_bytes,
                "source": row.source,
                "deposited_at": aware(row.deposited_at),
                "for_parent_only": row.for_account_id is not None,
                "read_at": aware(row.read_at),
                "file": f"{FILES}{row.id}-{zip_entry_name(row.filename)}",
            }
            out.append((meta, row.blob_key))
        return out

    def _reads(self, s, school_id: str, parent_id: str) -> list[dict]:
        """Every document of the school the parent opened, and when (their read receipts)."""
        d, r = db.documents, db.document_reads
        rows = s.execute(
            select(r.c.document_id, d.c.student_id, d.c.title, r.c.read_at)
            .join(d, d.c.id == r.c.document_id)
            .where(r.c.account_id == parent_id, d.c.school_id == school_id)
            .order_by(r.c.read_at, r.c.document_id)
        ).all()
        return [
            {
                "document_id": x.document_id,
                "student_id": x.student_id,
                "title": x.title,
                "read_at": aware(x.read_at),
            }
            for x in rows
        ]

    def _consents(self, s, school_id: str, student_ids: list[str]) -> list[dict]:
        """The photo consents recorded for the children (a child with none shares, the school's
        default: nothing is held about them)."""
        rows = photos_db.consents(s, school_id, student_ids) if student_ids else []
        return [
            {
                "student_id": r.student_id,
                "share_with_other_families": r.share_with_other_families,
                "updated_at": aware(r.updated_at),
                "updated_by": r.updated_by,
            }
            for r in rows
        ]

    def _tagged(self, s, school_id: str, student_ids: list[str]) -> list[dict]:
        """Every photo of the school each child is tagged in, with its album's title and date."""
        if not student_ids:
            return []
        ps, p, a = db.photo_subjects, db.photos, db.photo_albums
        rows = s.execute(
            select(
                ps.c.student_id,
                ps.c.tagged_at,
                p.c.id,
                p.c.number,
                p.c.title,
                p.c.uploaded_at,
                p.c.withdrawn_at,
                a.c.id.label("album_id"),
                a.c.title.label("album_title"),
                a.c.event,
                a.c.taken_on,
                a.c.published_at,
                a.c.withdrawn_at.label("album_withdrawn_at"),
            )
            .join(p, p.c.id == ps.c.photo_id)
            .join(a, a.c.id == p.c.album_id)
            .where(ps.c.school_id == school_id, ps.c.student_id.in_(student_ids), p.c.school_id == school_id)
            .order_by(ps.c.student_id, a.c.created_at, a.c.id, p.c.number)
        ).all()
        return [
            {
                "student_id": r.student_id,
                "photo_id": r.id,
                "number": r.number,
                "title": r.title,
                "uploaded_at": aware(r.uploaded_at),
                "tagged_at": aware(r.tagged_at),
                "album_id": r.album_id,
                "album_title": r.album_title,
                "album_event": r.event,
                "album_taken_on": r.taken_on,
                "album_published_at": aware(r.published_at),
                # withdrawn: its files are deleted, the row kept (who removed what, when)
                "withdrawn": r.withdrawn_at is not None or r.album_withdrawn_at is not None,
            }
            for r in rows
        ]

    def _photos(
        self, s, school_id: str, seen_by: dict[str, datetime | None], student_ids: list[str]
    ) -> tuple[list[dict], list[tuple[dict, str, int]]]:
        """The published albums ``seen_by`` sees (see ``album_audience``) with their live photos the
        family of ``student_ids`` sees; and each photo's metadata, display blob key and size."""
        a, p = db.photo_albums, db.photos
        candidates = s.execute(
            select(a)
            .where(a.c.school_id == school_id, a.c.published_at.is_not(None), a.c.withdrawn_at.is_(None))
            .order_by(a.c.published_at, a.c.id)
        ).all()
        classes = photos_db.album_classes(s, [x.id for x in candidates]) if candidates else {}
        albums: list[dict] = []
        by_id: dict[str, dict] = {}
        for album in candidates:
            published = aware(album.published_at)
            wanted = classes.get(album.id) or [WHOLE_SCHOOL]
            if not any(_sees(seen_by, cls, published) for cls in wanted):
                continue
            meta = {
                "id": album.id,
                "title": album.title,
                "event": album.event,
                "taken_on": album.taken_on,
                "published_at": published,
                "class_names": classes.get(album.id, []),
                "photos": [],
            }
            albums.append(meta)
            by_id[album.id] = meta
        photos: list[tuple[dict, str, int]] = []
        if not by_id:
            return albums, photos
        rows = s.execute(
            select(p)
            .where(
                p.c.school_id == school_id,
                p.c.album_id.in_(list(by_id)),
                p.c.withdrawn_at.is_(None),
                photos_db.shown_to(student_ids),
            )
            .order_by(p.c.album_id, p.c.number)
        ).all()
        for row in rows:
            meta = {
                "id": row.id,
                "number": row.number,
                "title": row.title,
                "filename": row.filename,
                "uploaded_at": aware(row.uploaded_at),
                "file": f"{FILES}photos/{row.album_id}/{row.number}-{zip_entry_name(row.filename)}",
            }
            by_id[row.album_id]["photos"].append(meta)
            photos.append((meta, row.display_key, row.display_bytes))
        return albums, photos
