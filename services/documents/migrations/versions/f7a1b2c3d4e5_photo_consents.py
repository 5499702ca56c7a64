"""documents: photo_subjects (the children in a photo) and photo_consents (issue #21)

No consent row: the photo is shared with the other families of its album (the school's photo policy).

Revision ID: f7a1b2c3d4e5
Revises: e6f9a3b4c5d7
Create Date: 2026-12-03 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f7a1b2c3d4e5"
down_revision = "e6f9a3b4c5d7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_subjects",
        sa.Column("photo_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("tagged_by", sa.String(length=36), nullable=False),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name=op.f("fk_photo_subjects_photo_id_photos")
        ),
        sa.PrimaryKeyConstraint("photo_id", "student_id", name=op.f("pk_photo_subjects")),
    )
    with op.batch_alter_table("photo_subjects") as batch:
        batch.create_index("ix_photo_subjects_school_student", ["school_id", "student_id"], unique=False)
    op.create_table(
        "photo_consents",
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("share_with_other_families", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "student_id", name=op.f("pk_photo_consents")),
    )


def downgrade() -> None:
    op.drop_table("photo_consents")
    with op.batch_alter_table("photo_subjects") as batch:
        batch.drop_index("ix_photo_subjects_school_student")
    op.drop_table("photo_subjects")
