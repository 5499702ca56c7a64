"""till_items (the till's price list, issue #17) and sale_lines.childcare (tax certificates)

Revision ID: e7a3c9d1f5b2
Revises: c4d8e2f6a1b3
Create Date: 2026-12-12 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e7a3c9d1f5b2"
down_revision = "c4d8e2f6a1b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "till_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("wallet_type_id", sa.String(length=36), nullable=True),
        sa.Column("childcare", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_till_items_positive")),
        sa.ForeignKeyConstraint(
            ["wallet_type_id"], ["wallet_types.id"], name=op.f("fk_till_items_wallet_type_id_wallet_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_till_items")),
    )
    op.create_index("ix_till_items_school_position", "till_items", ["school_id", "position"], unique=False)
    # Lines sold before: not childcare (nothing said so).
    with op.batch_alter_table("sale_lines") as batch:
        batch.add_column(sa.Column("childcare", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sale_lines") as batch:
        batch.drop_column("childcare")
    op.drop_index("ix_till_items_school_position", table_name="till_items")
    op.drop_table("till_items")
