"""invoice lines carry childcare, days, optional, max_bill; sale lines carry days (issue #19)

Revision ID: b19a1c2d3e01
Revises: b18d3c7e9d03
Create Date: 2026-12-02 13:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b19a1c2d3e01"
down_revision = "b18d3c7e9d03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lines written before: not childcare, no days, mandatory, outside any maximum bill.
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("childcare", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("days", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("optional", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("max_bill", sa.String(20), nullable=False, server_default=""))
    with op.batch_alter_table("sale_lines") as batch:
        batch.add_column(sa.Column("days", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sale_lines") as batch:
        batch.drop_column("days")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("max_bill")
        batch.drop_column("optional")
        batch.drop_column("days")
        batch.drop_column("childcare")
