"""till items carry the days of care per unit sold (issue #19)

Revision ID: b19f7c8d9e10
Revises: b19f3a4c5d06
Create Date: 2026-12-02 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b19f7c8d9e10"
down_revision = "b19f3a4c5d06"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Items written before: not childcare, no days; a childcare item pays for one day per unit sold.
    with op.batch_alter_table("till_items") as batch:
        batch.add_column(sa.Column("days", sa.Integer(), nullable=False, server_default="0"))
    till_items = sa.table("till_items", sa.column("childcare", sa.Boolean()), sa.column("days", sa.Integer()))
    op.execute(till_items.update().where(till_items.c.childcare.is_(True)).values(days=1))


def downgrade() -> None:
    with op.batch_alter_table("till_items") as batch:
        batch.drop_column("days")
