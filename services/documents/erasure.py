"""A family erased (issue #21, ``auth.family.erased.v1``; auth decided who): documents deletes the
erased children's documents and their files, the documents addressed to an erased parent alone, the
erased parents' read receipts, their data exports and archives, then the published outbox rows.

Photos stay: a photo is the class's (documents records no child in it; a per-child link would go
here once photo subjects exist, issue #21 section 4). A child still enrolled is not in the event and
keeps their documents. Everything is scoped to the event's school; a second event for the same
family finds nothing left and changes nothing."""

from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from kit.family_data import Erase, purge_published
from services.documents import db, exports_db
from services.documents.blobstore import BlobStore

log = logging.getLogger("documents.erasure")


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
