"""refunds to a bank account and their credit-transfer batches (pain.001, issue #18)

Revision ID: b18d2f6a8c02
Revises: b18d1a5e7c01
Create Date: 2026-12-14 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b18d2f6a8c02"
down_revision = "b18d1a5e7c01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("count > 0 AND total_cents > 0", name=op.f("ck_refund_batches_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_refund_batches_message_id")),
    )
    op.create_index(
        "ix_refund_batches_school_created", "refund_batches", ["school_id", "created_at"], unique=False
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("holder_name", sa.String(length=70), nullable=False),
        sa.Column("reason", sa.String(length=140), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0 AND balance_after_cents >= 0", name=op.f("ck_refunds_amounts")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["refund_batches.id"], name=op.f("fk_refunds_batch_id_refund_batches")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_refunds_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_refunds_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_refunds_end_to_end_id")),
    )
    op.create_index("ix_refunds_batch_id", "refunds", ["batch_id"], unique=False)
    op.create_index("ix_refunds_wallet_id", "refunds", ["wallet_id"], unique=False)
    op.create_index("ix_refunds_school_created", "refunds", ["school_id", "created_at"], unique=False)
    op.create_index("ix_refunds_student_created", "refunds", ["student_id", "created_at"], unique=False)
    op.create_index(
        "ix_refunds_unbatched",
        "refunds",
        ["school_id"],
        unique=False,
        sqlite_where=sa.text("batch_id IS NULL"),
        postgresql_where=sa.text("batch_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_unbatched", table_name="refunds")
    op.drop_index("ix_refunds_student_created", table_name="refunds")
    op.drop_index("ix_refunds_school_created", table_name="refunds")
    op.drop_index("ix_refunds_wallet_id", table_name="refunds")
    op.drop_index("ix_refunds_batch_id", table_name="refunds")
    op.drop_table("refunds")
    op.drop_index("ix_refund_batches_school_created", table_name="refund_batches")
    op.drop_table("refund_batches")
