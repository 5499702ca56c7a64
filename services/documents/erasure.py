"""A family erased (issue #21, ``auth.family.erased.v1``; auth decided who): documents deletes the
erased children's documents and their files, the documents addressed to an erased parent alone, the
erased parents' read receipts, their data exports and archives, the erased children's photo consents
and their tags in photos, then the published outbox rows.

Photos stay: a photo is the class's; only the link saying the erased child is in it goes, with their
consent (a refusal stays as an anonymous refused subject of those photos: see _erase_photo_links). A
child still enrolled is not in the event and keeps their documents. Everything is scoped to the
event's school; a second event for the same family finds nothing left and changes nothing."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from kit.family_data import Erase, purge_published
from services.documents import db, exports_db
from services.documents.blobstore import BlobStore

log = logging.getLogger("documents.erasure")
ERASED = "erased"  # who set a consent kept anonymous


def _erase_photo_links(s: Session, school: str, students: list[str]) -> None:
    """The children's tags in photos and their consents go. A refused consent must outlive the child's
    id, or erasing a family would show their child's photos to every other family: the photos the
    child was tagged in keep an anonymous refused subject (a random id, linked to nothing), hidden
    from every parent as before."""
    ps, pc = db.photo_subjects, db.photo_consents
    refused = s.execute(
        select(pc.c.student_id).where(
            pc.c.school_id == school, pc.c.student_id.in_(students), pc.c.share_with_other_families.is_(False)
        )
    ).scalars()
    for sid in list(refused):
        tags = and_(ps.c.school_id == school, ps.c.student_id == sid)
        if s.execute(select(ps.c.photo_id).where(tags).limit(1)).first() is None:
            continue
        anonymous = str(uuid.uuid4())
        s.execute(update(ps).where(tags).values(student_id=anonymous))
        s.execute(
            update(pc)
            .where(pc.c.school_id == school, pc.c.student_id == sid)
            .values(student_id=anonymous, updated_by=ERASED)
        )
    s.execute(delete(ps).where(ps.c.school_id == school, ps.c.student_id.in_(students)))
    s.execute(delete(pc).where(pc.c.school_id == school, pc.c.student_id.in_(students)))


def erasure(blobs: BlobStore) -> Erase:
    """``erase(session, event)`` deleting files from ``blobs``."""

    def erase(s: Session, event: auth_events.FamilyErased) -> None:
        school = event.school_id
        students = [x for x in event.student_ids if x]
        parents = [x for x in event.parent_ids if x]
        d, r = db.documents, db.document_reads
        gone = s.execute(
            select(d.c.id, d.c.blob_key).where(
                d.c.school_id == school,
                or_(d.c.student_id.in_(students), d.c.for_account_id.in_(parents)),
            )
        ).all()
        doc_ids = [row.id for row in gone]
        if doc_ids:
            s.execute(delete(r).where(r.c.document_id.in_(doc_ids)))
        if parents:  # their receipts on the documents of children kept (still enrolled)
            of_school = select(d.c.id).where(d.c.school_id == school)
            s.execute(delete(r).where(r.c.account_id.in_(parents), r.c.document_id.in_(of_school)))
        if doc_ids:
            s.execute(delete(d).where(d.c.id.in_(doc_ids)))
        # a deposit for several students shares one file: it goes once no document refers to it
        keys = {row.blob_key for row in gone}
        still = (
            set(s.execute(select(d.c.blob_key).where(d.c.blob_key.in_(keys))).scalars()) if keys else set()
        )
        files = sorted(keys - still)
        if students:
            _erase_photo_links(s, school, students)
        exports = exports_db.of_parents(s, school, parents) if parents else []
        files += [row.blob_key for row in exports if row.blob_key]
        exports_db.delete_of_parents(s, school, parents)
        purged = purge_published(s, db.outbox)
        # Deleted before the commit: a failure raises, the transaction rolls back and the event is
        # handled again (deleting a file already gone is harmless).
        for key in files:
            blobs.delete(key)
        log.info(
            "family erased",
            extra={"documents": len(doc_ids), "exports": len(exports), "files": len(files), "outbox": purged},
        )

    return erase
