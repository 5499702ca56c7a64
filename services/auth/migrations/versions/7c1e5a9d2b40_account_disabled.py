"""accounts can be disabled by the school: disabled_at, disabled_by

Revision ID: 7c1e5a9d2b40
Revises: 5561dfe8e2bc
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7c1e5a9d2b40"
down_revision = "5561dfe8e2bc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("disabled_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled_by")
        batch.drop_column("disabled_at")
