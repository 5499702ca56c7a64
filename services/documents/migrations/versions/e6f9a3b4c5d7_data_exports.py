"""documents: data_exports, a family's data as one ZIP kept 7 days (issue #21)

Revision ID: e6f9a3b4c5d7
Revises: d5e8f1a2b3c4
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e6f9a3b4c5d7"
down_revision = "d5e8f1a2b3c4"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "data_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blob_key", sa.String(length=200), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
    )
    with op.batch_alter_table("data_exports") as batch:
        batch.create_index("ix_data_exports_parent", ["school_id", "parent_id", "requested_at"], unique=False)
        batch.create_index(
            "uq_data_exports_one_pending",
            ["school_id", "parent_id"],
            unique=True,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("data_exports") as batch:
        batch.drop_index("uq_data_exports_one_pending")
        batch.drop_index("ix_data_exports_parent")
    op.drop_table("data_exports")
