"""catalog items: a reference to what they sell and a withdrawal date

Revision ID: c7d2e9a1b3f4
Revises: 25428d56f101
Create Date: 2026-11-28 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c7d2e9a1b3f4"
down_revision = "25428d56f101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_items") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_catalog_items_reference", ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("catalog_items") as batch:
        batch.drop_index("ix_catalog_items_reference")
        batch.drop_column("withdrawn_at")
        batch.drop_column("reference")
