"""Tables of the documents service: documents, who they are for, read state per parent; photo albums,
their classes, their photos and the ordering periods they were offered in; and every query of the
service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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
    exists,
    func,
    or_,
    select,
    text,
    update,
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


# -- album queries ---------------------------------------------------------------------------------


def visible_albums(school_id: str, audience: list[str] | None):
    """The condition on ``photo_albums`` of the albums an audience sees: None for staff (every album of
    their school, drafts included); else the classes whose published albums count, with the albums for
    the whole school (no class)."""
    a, c = photo_albums, photo_album_classes
    conds = [a.c.school_id == school_id, a.c.withdrawn_at.is_(None)]
    if audience is not None:
        for_classes = select(c.c.album_id).where(c.c.album_id == a.c.id)
        conds += [
            a.c.published_at.is_not(None),
            or_(~exists(for_classes), exists(for_classes.where(c.c.class_name.in_(audience)))),
        ]
    return and_(*conds)


def find_album(s: Session, school_id: str, album_id: str, audience: list[str] | None, *, lock: bool = False):
    q = select(photo_albums).where(photo_albums.c.id == album_id, visible_albums(school_id, audience))
    if lock:
        q = q.with_for_update()
    return s.execute(q).first()


def album_page(
    s: Session, school_id: str, audience: list[str] | None, limit: int, offset: int
) -> Sequence[Row]:
    """Up to ``limit`` visible albums from ``offset``, newest first, each with its ``photo_count``;
    for parents (an audience) only those with photos."""
    a = photo_albums
    counts = (
        select(photos.c.album_id, func.count().label("n"))
        .where(photos.c.school_id == school_id, photos.c.withdrawn_at.is_(None))
        .group_by(photos.c.album_id)
        .subquery()
    )
    n = func.coalesce(counts.c.n, 0)
    q = (
        select(a, n.label("photo_count"))
        .outerjoin(counts, counts.c.album_id == a.c.id)
        .where(visible_albums(school_id, audience))
    )
    if audience is not None:
        q = q.where(n > 0)
    q = q.order_by(func.coalesce(a.c.published_at, a.c.created_at).desc(), a.c.id).limit(limit).offset(offset)
    return s.execute(q).all()


def album_classes(s: Session, album_ids: list[str]) -> dict[str, list[str]]:
    """Each album's classes, sorted (no entry: the whole school)."""
    out: dict[str, list[str]] = {}
    for r in s.execute(
        select(photo_album_classes)
        .where(photo_album_classes.c.album_id.in_(album_ids))
        .order_by(photo_album_classes.c.class_name)
    ):
        out.setdefault(r.album_id, []).append(r.class_name)
    return out


def album_covers(s: Session, album_ids: list[str]) -> dict:
    """Each album's first live photo (no entry: the album has none)."""
    first = (
        select(photos.c.album_id, func.min(photos.c.number).label("n"))
        .where(photos.c.album_id.in_(album_ids), photos.c.withdrawn_at.is_(None))
        .group_by(photos.c.album_id)
        .subquery()
    )
    return {
        r.album_id: r
        for r in s.execute(
            select(photos).join(
                first, and_(first.c.album_id == photos.c.album_id, first.c.n == photos.c.number)
            )
        )
    }


def album_offers(s: Session, album_ids: list[str]) -> dict[str, list[str]]:
    """The ordering periods each album was offered in, in the order it was offered."""
    out: dict[str, list[str]] = {}
    for r in s.execute(
        select(photo_album_offers.c.album_id, photo_album_offers.c.period_id)
        .where(photo_album_offers.c.album_id.in_(album_ids))
        .order_by(photo_album_offers.c.offered_at)
    ):
        out.setdefault(r.album_id, []).append(r.period_id)
    return out


def insert_album(
    s: Session,
    *,
    album_id: str,
    school_id: str,
    title: str,
    event: str,
    taken_on: date | None,
    class_names: list[str],
    created_by: str,
    created_at: datetime,
    published_at: datetime | None,
) -> None:
    s.execute(
        photo_albums.insert().values(
            id=album_id,
            school_id=school_id,
            title=title,
            event=event,
            taken_on=taken_on,
            created_by=created_by,
            created_at=created_at,
            published_at=published_at,
            withdrawn_at=None,
            withdrawn_by=None,
            next_number=1,
        )
    )
    if class_names:
        s.execute(
            photo_album_classes.insert(), [{"album_id": album_id, "class_name": c} for c in class_names]
        )


def publish_album(s: Session, album_id: str, at: datetime) -> None:
    s.execute(
        update(photo_albums)
        .where(photo_albums.c.id == album_id, photo_albums.c.published_at.is_(None))
        .values(published_at=at)
    )


def class_names_of(s: Session, album_id: str) -> list[str]:
    return list(
        s.execute(select(photo_album_classes.c.class_name).where(photo_album_classes.c.album_id == album_id))
        .scalars()
        .all()
    )


def withdraw_album(s: Session, album_id: str, by: str, at: datetime) -> Sequence[Row]:
    """The album and its live photos withdrawn; the blob keys of those photos (a row each)."""
    live = and_(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
    keys = s.execute(select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(live)).all()
    s.execute(update(photos).where(live).values(withdrawn_at=at, withdrawn_by=by))
    s.execute(
        update(photo_albums).where(photo_albums.c.id == album_id).values(withdrawn_at=at, withdrawn_by=by)
    )
    return keys


def insert_offer(
    s: Session, album_id: str, period_id: str, price_cents: int, item_count: int, by: str, at: datetime
) -> None:
    """Raises IntegrityError when the album is already offered in the period."""
    s.execute(
        photo_album_offers.insert().values(
            album_id=album_id,
            period_id=period_id,
            price_cents=price_cents,
            item_count=item_count,
            offered_by=by,
            offered_at=at,
        )
    )


# -- photo queries ---------------------------------------------------------------------------------


def live_photo_count(s: Session, album_id: str) -> int:
    return s.execute(
        select(func.count()).where(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
    ).scalar_one()


def photos_after(s: Session, album_id: str, after: int, limit: int) -> Sequence[Row]:
    """Up to ``limit`` live photos of the album numbered after ``after``, in upload order."""
    return s.execute(
        select(photos)
        .where(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None), photos.c.number > after)
        .order_by(photos.c.number)
        .limit(limit)
    ).all()


def find_live_photo(s: Session, school_id: str, photo_id: str):
    return s.execute(
        select(photos).where(
            photos.c.id == photo_id, photos.c.school_id == school_id, photos.c.withdrawn_at.is_(None)
        )
    ).first()


def neighbours(s: Session, album_id: str, number: int) -> tuple[str | None, str | None]:
    """The ids of the live photos just before and just after ``number`` in the album (or None)."""
    live = and_(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
    prev_id = s.execute(
        select(photos.c.id).where(live, photos.c.number < number).order_by(photos.c.number.desc()).limit(1)
    ).scalar_one_or_none()
    next_id = s.execute(
        select(photos.c.id).where(live, photos.c.number > number).order_by(photos.c.number).limit(1)
    ).scalar_one_or_none()
    return prev_id, next_id


def insert_photos(s: Session, album_id: str, rows: list[dict], next_number: int) -> None:
    """New photo rows, and the album's number for the next upload."""
    s.execute(photos.insert(), rows)
    s.execute(update(photo_albums).where(photo_albums.c.id == album_id).values(next_number=next_number))


def withdraw_photo(s: Session, photo_id: str, by: str, at: datetime) -> None:
    s.execute(
        update(photos)
        .where(photos.c.id == photo_id, photos.c.withdrawn_at.is_(None))
        .values(withdrawn_at=at, withdrawn_by=by)
    )


def withdrawn_photo_keys(s: Session) -> Sequence[Row]:
    """The blob keys of every withdrawn photo (a row each)."""
    return s.execute(
        select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(
            photos.c.withdrawn_at.is_not(None)
        )
    ).all()
