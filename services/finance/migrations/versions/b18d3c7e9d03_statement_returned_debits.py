"""statement imports count the direct debits the bank returned apart from the debits never booked

Revision ID: b18d3c7e9d03
Revises: b18d2f6a8c02
Create Date: 2026-12-02 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b18d3c7e9d03"
down_revision = "b18d2f6a8c02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statement_imports") as batch:
        batch.add_column(sa.Column("returned_debits", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("statement_imports") as batch:
        batch.drop_column("returned_debits")
