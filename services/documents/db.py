"""Tables of the documents service: documents, who they are for, read state per parent; photo albums,
their classes, their photos and the ordering periods they were offered in."""

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
)

from kit.bus import bus_tables
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
    Column("source", String(40), nullable=False),  # deposit | invoice | credit_note
    Column("source_ref", String(80), nullable=True, unique=True),  # e.g. invoice:<id>: renders once
    Column("deposited_at", DateTime(timezone=True), nullable=False),
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
