"""second factor: TOTP secrets (sealed), recovery codes, the school's requirement

Revision ID: a4d8e2f61c37
Revises: 7c1e5a9d2b40
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a4d8e2f61c37"
down_revision = "7c1e5a9d2b40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(
            sa.Column("require_second_factor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "second_factors",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=500), nullable=True),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("pending_secret", sa.String(length=500), nullable=True),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_second_factors_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_second_factors")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_recovery_codes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index("ix_recovery_codes_account_hash", "recovery_codes", ["account_id", "code_hash"])


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_account_hash", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("require_second_factor")
