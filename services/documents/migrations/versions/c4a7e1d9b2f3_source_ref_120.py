"""documents.source_ref up to 120 characters: a mandate's copy is filed once per mandate and student,
"mandate:<mandate id>:<student id>" (81 characters with two UUIDs)

Revision ID: c4a7e1d9b2f3
Revises: b3f1c2d4e5a6
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4a7e1d9b2f3"
down_revision = "b3f1c2d4e5a6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.alter_column(
            "source_ref",
            existing_type=sa.String(length=80),
            type_=sa.String(length=120),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.alter_column(
            "source_ref",
            existing_type=sa.String(length=120),
            type_=sa.String(length=80),
            existing_nullable=True,
        )
