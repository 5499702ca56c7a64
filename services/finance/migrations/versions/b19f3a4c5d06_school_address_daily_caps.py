"""tax certificates 281.86 (issue #19): the school's postal address in its settings; the legal
maximum per day a school entered for a year the code does not know; which figure a certificate used

Revision ID: b19f3a4c5d06
Revises: b19e5f2a8c07
Create Date: 2026-12-02 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b19f3a4c5d06"
down_revision = "b19e5f2a8c07"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("school_settings") as batch:
        batch.add_column(
            sa.Column("address_street", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("address_postal_code", sa.String(length=4), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("address_city", sa.String(length=100), nullable=False, server_default=""))
    with op.batch_alter_table("tax_certificates") as batch:
        batch.add_column(
            sa.Column("daily_cap_source", sa.String(length=10), nullable=False, server_default="law")
        )
    op.create_table(
        "tax_daily_caps",
        sa.Column("school_id", sa.String(length=36), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("daily_cap_cents", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tax_daily_caps")
    with op.batch_alter_table("tax_certificates") as batch:
        batch.drop_column("daily_cap_source")
    with op.batch_alter_table("school_settings") as batch:
        batch.drop_column("address_city")
        batch.drop_column("address_postal_code")
        batch.drop_column("address_street")
