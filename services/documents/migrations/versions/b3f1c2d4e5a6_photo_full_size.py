"""photo full size: a re-encoded full-resolution rendition for downloads; an index for album lists

Revision ID: b3f1c2d4e5a6
Revises: 75cc7bf2a019
Create Date: 2026-11-28 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b3f1c2d4e5a6"
down_revision = "75cc7bf2a019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: photos uploaded before keep their display size as the download
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("full_key", sa.String(length=200), nullable=True))
    op.create_index("ix_photos_school_album_live", "photos", ["school_id", "album_id", "withdrawn_at"])


def downgrade() -> None:
    op.drop_index("ix_photos_school_album_live", table_name="photos")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("full_key")
