"""erased_families: the people of an erased family and until when their financial records are kept (issue #21)

Revision ID: b21a1e5f0a01
Revises: b19f7c8d9e10
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b21a1e5f0a01"
down_revision = "b19f7c8d9e10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_families",
        sa.Column("school_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_financial_until", sa.Date(), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("school_id", "kind", "person_id", name=op.f("pk_erased_families")),
    )
    op.create_index("ix_erased_families_due", "erased_families", ["keep_financial_until"])


def downgrade() -> None:
    op.drop_index("ix_erased_families_due", table_name="erased_families")
    op.drop_table("erased_families")
