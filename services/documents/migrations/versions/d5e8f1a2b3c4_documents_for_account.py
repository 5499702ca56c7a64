"""documents: one parent's own document among a student's (tax certificates, issue #19)

Revision ID: d5e8f1a2b3c4
Revises: c4a7e1d9b2f3
Create Date: 2026-12-02 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d5e8f1a2b3c4"
down_revision = "c4a7e1d9b2f3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("for_account_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("for_account_id")
