"""Steps shared by the documents service's use cases: new blob keys, refusing another school's
students, who sees which album, loading an album the caller may see, album messages, deleting files."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session

from cartable.documents.v1 import documents_pb2 as pb
from kit.errors import NotFound
from kit.identity import Identity
from services.documents import db, photos_db, views
from services.documents.blobstore import BlobStore

log = logging.getLogger("documents.photos")


def new_blob_key(extension: str) -> str:
    """A fresh key in the blob store (spread over 256 prefixes); names never reach the store."""
    u = str(uuid.uuid4())
    return f"{u[:2]}/{u}.{extension}"


def require_students_here(s: Session, who: Identity, student_ids: list[str]) -> None:
    """Refuse (not_found, like an unknown id) students this service knows only in another school. A
    parent's token names their children, checked by the caller; a staff token names none, so a staff
    member's ids are checked against the invoices rendered here (a student never invoiced cannot be
    told apart from a new one of the caller's school)."""
    ids = [sid for sid in student_ids if sid]
    if who.role != "parent" and ids and db.students_known_elsewhere(s, who.school_id, ids):
        raise NotFound("no such student")


def sees_albums(who: Identity, student_id: str) -> bool:
    """Whether the caller sees any album: staff, and parents but for a child who left the school (the
    school's life goes on without them, with other families' children in its photos; the token names
    them so that their documents stay readable), or, naming none, when every child named left."""
    if who.is_staff:
        return True
    if student_id:
        who.require_student(student_id)
        return not who.is_left(student_id)
    return not who.students or any(not who.is_left(sid) for sid in who.students)


def audience(who: Identity, student_id: str) -> list[str] | None:
    """Whose albums count: None for staff (every album of their school); for a parent the class of the
    child the call names, or, when it names none, the classes of all their children still at school.
    A child's class is the token's (auth signs it afresh for each request: a class change shows at the
    next call; documents keeps no copy of it). Nothing to see (``sees_albums``): not_found."""
    if who.is_staff:
        return None
    if not sees_albums(who, student_id):
        raise NotFound("no such album")
    if student_id:
        return [who.students[student_id]]
    return sorted({c for sid, c in who.students.items() if c and not who.is_left(sid)})


def viewer(who: Identity) -> list[str] | None:
    """Whose refused photos the caller still sees (photos_db.shown_to): None for staff (every photo);
    for a parent the children their identity names, those who left included (it is their child)."""
    return None if who.is_staff else sorted(who.students)


def load_album(s: Session, who: Identity, album_id: str, seen_by: list[str] | None, *, lock: bool = False):
    """The album row if ``seen_by`` (an audience) sees it; else not_found, like an album that never
    existed."""
    row = photos_db.find_album(s, who.school_id, album_id, seen_by, lock=lock)
    if row is None:
        raise NotFound("no such album")
    return row


def album_messages(
    s: Session, rows, counts: dict[str, int], family: list[str] | None = None
) -> list[pb.Album]:
    """Album messages for ``rows``, with their classes, cover (of the photos ``family``, a
    ``viewer``, sees) and offers, in three queries."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    classes, covers, offers = (
        photos_db.album_classes(s, ids),
        photos_db.album_covers(s, ids, family),
        photos_db.album_offers(s, ids),
    )
    return [
        views.album_pb(r, classes.get(r.id, ()), counts.get(r.id, 0), covers.get(r.id), offers.get(r.id, ()))
        for r in rows
    ]


def album_message(s: Session, row, family: list[str] | None = None) -> pb.Album:
    """One album's message, its live photos ``family`` (a ``viewer``) sees counted."""
    [album] = album_messages(s, [row], {row.id: photos_db.live_photo_count(s, row.id, family)}, family)
    return album


def photo_messages(s: Session, who: Identity, rows) -> list[pb.Photo]:
    """Photo messages, with the children tagged in them for staff only (one query): a parent never
    learns which other children are in a photo."""
    subjects = photos_db.subjects_of(s, [r.id for r in rows]) if who.is_staff else {}
    return [views.photo_pb(r, subjects.get(r.id, ())) for r in rows]


def delete_blobs(blobs: BlobStore, keys: list[str]) -> int:
    """Delete photo files; a failure is logged, not raised (the rows are already withdrawn: nothing
    serves them, and ``purge-withdrawn-photos`` tries again). The number that failed."""
    failed = 0
    for key in keys:
        try:
            blobs.delete(key)
        except Exception:
            failed += 1
            log.exception("photo file not deleted", extra={"blob_key": key})
    return failed
