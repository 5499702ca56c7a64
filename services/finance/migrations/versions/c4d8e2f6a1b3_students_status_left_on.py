"""students: status (active | left), left_on and when auth said so (issue #16: leavers read-only)

Revision ID: c4d8e2f6a1b3
Revises: b3f1c5e7a9d2
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4d8e2f6a1b3"
down_revision = "b3f1c5e7a9d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))
        batch.add_column(sa.Column("left_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("students") as batch:
        for name in ("status_at", "left_on", "status"):
            batch.drop_column(name)
