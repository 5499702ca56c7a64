"""Tables of the documents service: documents, who they are for, read state per parent; photo albums,
their classes, their photos, the children tagged in them, photo consents and the ordering periods
albums were offered in; data exports. The documents' queries are here, the albums' and photos' in
photos_db.py, the exports' in exports_db.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from kit.bus import bus_tables
from kit.db import aware as aware  # re-exported: this service's modules read it from here
from kit.migrations import new_metadata

metadata = new_metadata()
outbox, inbox = bus_tables(metadata)

documents = Table(
    "documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("student_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("blob_key", String(200), nullable=False),
    Column("source", String(40), nullable=False),  # deposit | invoice | credit_note | mandate
    # e.g. invoice:<id>, mandate:<mandate id>:<student id>: renders once
    Column("source_ref", String(120), nullable=True, unique=True),
    Column("deposited_at", DateTime(timezone=True), nullable=False),
    # One parent's own document among the student's (a tax certificate names its payer): only that
    # parent and the staff see it. NULL: every parent of the student.
    Column("for_account_id", String(36), nullable=True),
    Index("ix_documents_student_deposited", "student_id", "deposited_at"),
)

document_reads = Table(
    "document_reads",
    metadata,
    Column("document_id", String(36), ForeignKey("documents.id"), primary_key=True),
    Column("account_id", String(36), primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False),
)

# -- photos ----------------------------------------------------------------------------------------

photo_albums = Table(
    "photo_albums",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("event", String(200), nullable=False),  # "" when none
    Column("taken_on", Date, nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),  # null: a draft, staff only
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),  # set: gone for everyone
    Column("withdrawn_by", String(36), nullable=True),
    Column("next_number", Integer, nullable=False),  # the number the next uploaded photo gets
    Index("ix_photo_albums_school_published", "school_id", "published_at"),
)

# No row: the album is for the whole school.
photo_album_classes = Table(
    "photo_album_classes",
    metadata,
    Column("album_id", String(36), ForeignKey("photo_albums.id"), primary_key=True),
    Column("class_name", String(50), primary_key=True),
)

photos = Table(
    "photos",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("album_id", String(36), ForeignKey("photo_albums.id"), nullable=False),
    Column("school_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("width", Integer, nullable=False),  # display size
    Column("height", Integer, nullable=False),
    Column("thumb_width", Integer, nullable=False),
    Column("thumb_height", Integer, nullable=False),
    Column("display_key", String(200), nullable=False),
    Column("thumb_key", String(200), nullable=False),
    Column("full_key", String(200), nullable=True),  # the download; None for photos before it existed
    Column("display_bytes", BigInteger, nullable=False),
    Column("thumb_bytes", BigInteger, nullable=False),
    Column("uploaded_by", String(36), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),  # set: files deleted, never served
    Column("withdrawn_by", String(36), nullable=True),
    UniqueConstraint("album_id", "number"),
    # album lists count a school's live photos per album
    Index("ix_photos_school_album_live", "school_id", "album_id", "withdrawn_at"),
)

photo_album_offers = Table(
    "photo_album_offers",
    metadata,
    Column("album_id", String(36), ForeignKey("photo_albums.id"), primary_key=True),
    Column("period_id", String(36), primary_key=True),
    Column("price_cents", BigInteger, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("offered_by", String(36), nullable=False),
    Column("offered_at", DateTime(timezone=True), nullable=False),
)


# Which children appear in a photo (tagged by staff), and each child's photo consent (issue #21;
# queries in photos_db.py). No consent row: the photo is shared with the other families of the album,
# the default the school's photo policy gives (parents are told so when enrolling).
photo_subjects = Table(
    "photo_subjects",
    metadata,
    Column("photo_id", String(36), ForeignKey("photos.id"), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("tagged_by", String(36), nullable=False),
    Column("tagged_at", DateTime(timezone=True), nullable=False),
    Index("ix_photo_subjects_school_student", "school_id", "student_id"),
)

photo_consents = Table(
    "photo_consents",
    metadata,
    Column("school_id", String(36), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Column("share_with_other_families", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(36), nullable=False),
)

# A family's data as one ZIP (issue #21; queries in exports_db.py). One pending export per parent.
_PENDING: dict[str, Any] = {f"{d}_where": text("status = 'pending'") for d in ("postgresql", "sqlite")}
data_exports = Table(
    "data_exports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("parent_id", String(36), nullable=False),
    Column("requested_by", String(36), nullable=False),
    Column("status", String(20), nullable=False),  # pending | ready | expired
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("ready_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),  # a builder holds it until then
    Column("blob_key", String(200), nullable=True),  # the ZIP; None while pending and once expired
    Column("size_bytes", BigInteger, nullable=False),
    Index("ix_data_exports_parent", "school_id", "parent_id", "requested_at"),
    Index("uq_data_exports_one_pending", "school_id", "parent_id", unique=True, **_PENDING),
)


# -- documents queries -----------------------------------------------------------------------------


def document_page(
    s: Session,
    school_id: str,
    account_id: str,
    student_id: str,
    state: str,
    limit: int,
    offset: int,
    *,
    parent: bool = False,
) -> tuple[Sequence[Row], int, int]:
    """A page of the student's documents with ``account_id``'s read state (``read_at`` on each row),
    newest first; (rows, total in ``state``, unread in all). A ``parent`` does not see another
    parent's own documents (``for_account_id``)."""
    d, r = documents, document_reads
    joined = d.outerjoin(r, and_(r.c.document_id == d.c.id, r.c.account_id == account_id))
    mine = and_(d.c.student_id == student_id, d.c.school_id == school_id)
    if parent:
        mine = and_(mine, or_(d.c.for_account_id.is_(None), d.c.for_account_id == account_id))
    unread = s.execute(
        select(func.count()).select_from(joined).where(mine, r.c.read_at.is_(None))
    ).scalar_one()
    q = select(d, r.c.read_at).select_from(joined).where(mine)
    if state == "unread":
        q = q.where(r.c.read_at.is_(None))
    elif state == "read":
        q = q.where(r.c.read_at.is_not(None))
    if state == "unread":  # the same rows as the unread count (the dashboard's panel): asked once
        total = unread
    else:
        total = s.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = s.execute(q.order_by(d.c.deposited_at.desc(), d.c.id).limit(limit).offset(offset)).all()
    return rows, total, unread


def find_document(s: Session, school_id: str, document_id: str):
    return s.execute(
        select(documents).where(documents.c.id == document_id, documents.c.school_id == school_id)
    ).first()


def read_at(s: Session, document_id: str, account_id: str) -> datetime | None:
    return s.execute(
        select(document_reads.c.read_at).where(
            document_reads.c.document_id == document_id, document_reads.c.account_id == account_id
        )
    ).scalar_one_or_none()


def mark_read(s: Session, document_id: str, account_id: str, at: datetime) -> None:
    s.execute(document_reads.insert().values(document_id=document_id, account_id=account_id, read_at=at))


def students_known_elsewhere(s: Session, school_id: str, student_ids: list[str]) -> set[str]:
    """Of ``student_ids``, those that what this service trusts puts in another school and never in
    ``school_id``: the invoices and credit notes it rendered from finance's events (finance knows each
    school's students; a deposit's ids are only what a staff member typed, so deposits do not count)."""
    schools: dict[str, set[str]] = {}
    for i in range(0, len(student_ids), 500):
        rows = s.execute(
            select(documents.c.student_id, documents.c.school_id)
            .where(documents.c.student_id.in_(student_ids[i : i + 500]), documents.c.source != "deposit")
            .distinct()
        )
        for student_id, school in rows:
            schools.setdefault(student_id, set()).add(school)
    return {sid for sid, known in schools.items() if school_id not in known}


def document_id_for_ref(s: Session, ref: str) -> str | None:
    return s.execute(select(documents.c.id).where(documents.c.source_ref == ref)).scalar_one_or_none()


def insert_document(
    s: Session,
    *,
    school_id: str,
    student_id: str,
    title: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    blob_key: str,
    source: str,
    source_ref: str | None,
    deposited_at: datetime,
) -> str:
    """A new document row; its id."""
    doc_id = str(uuid.uuid4())
    s.execute(
        documents.insert().values(
            id=doc_id,
            school_id=school_id,
            student_id=student_id,
            title=title,
            filename=filename,
            content_type=content_type,
            size_bytes=size_bytes,
            blob_key=blob_key,
            source=source,
            source_ref=source_ref,
            deposited_at=deposited_at,
        )
    )
    return doc_id
