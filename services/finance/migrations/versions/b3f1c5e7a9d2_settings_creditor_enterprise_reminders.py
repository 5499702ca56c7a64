"""school settings: SEPA creditor identifier, enterprise number, invoice reminders

Revision ID: b3f1c5e7a9d2
Revises: 8d8c39c7dcf9
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b3f1c5e7a9d2"
down_revision = "8d8c39c7dcf9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("school_settings") as batch:
        batch.add_column(sa.Column("creditor_id", sa.String(length=35), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("enterprise_number", sa.String(length=10), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("reminders_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("reminders_first_after_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch.add_column(
            sa.Column("reminders_repeat_every_days", sa.Integer(), nullable=False, server_default="14")
        )
        batch.add_column(sa.Column("reminders_max_count", sa.Integer(), nullable=False, server_default="3"))


def downgrade() -> None:
    with op.batch_alter_table("school_settings") as batch:
        for name in (
            "reminders_max_count",
            "reminders_repeat_every_days",
            "reminders_first_after_days",
            "reminders_enabled",
            "enterprise_number",
            "creditor_id",
        ):
            batch.drop_column(name)
