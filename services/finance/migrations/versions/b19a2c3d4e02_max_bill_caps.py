"""max_bill_caps: the Flemish maximum bill's caps per school, school year and level (issue #19)

Revision ID: b19a2c3d4e02
Revises: b19a1c2d3e01
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b19a2c3d4e02"
down_revision = "b19a1c2d3e01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "max_bill_caps",
        sa.Column("school_id", sa.String(36), nullable=False),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("strict_cents", sa.BigInteger(), nullable=False),
        sa.Column("less_strict_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "strict_cents >= 0 AND less_strict_cents >= 0", name=op.f("ck_max_bill_caps_caps_not_negative")
        ),
        sa.PrimaryKeyConstraint("school_id", "school_year", "level", name=op.f("pk_max_bill_caps")),
    )


def downgrade() -> None:
    op.drop_table("max_bill_caps")
