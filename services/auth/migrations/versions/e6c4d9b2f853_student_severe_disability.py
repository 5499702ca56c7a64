"""students' severe disability flag: the tax certificate 281.86 counts childcare until 21 instead of
14 (issue #19)

Revision ID: e6c4d9b2f853
Revises: e5b3c8a1d742
Create Date: 2026-12-02 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e6c4d9b2f853"
down_revision = "e5b3c8a1d742"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("severe_disability", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.drop_column("severe_disability")
