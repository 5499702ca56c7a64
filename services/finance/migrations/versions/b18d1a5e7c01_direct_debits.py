"""SEPA direct debit (issue #18): mandates and the students they cover, automatic top-ups and their
triggers, collection batches and their items (a live item at most once per invoice and per trigger)

Revision ID: b18d1a5e7c01
Revises: e7a3c9d1f5b2
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b18d1a5e7c01"
down_revision = "e7a3c9d1f5b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "direct_debit_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("invoices_due_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_debit_batches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_direct_debit_batches_message_id")),
    )
    with op.batch_alter_table("direct_debit_batches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_direct_debit_batches_school_created", ["school_id", "created_at"], unique=False
        )

    op.create_table(
        "mandates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("parent_account_id", sa.String(length=36), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("holder_name", sa.String(length=70), nullable=False),
        sa.Column("creditor_id", sa.String(length=35), nullable=False),
        sa.Column("school_name", sa.String(length=200), nullable=False),
        sa.Column("mandate_text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_from", sa.String(length=100), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=20), nullable=False),
        sa.Column("revoked_by", sa.String(length=36), nullable=True),
        sa.Column("first_collected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
        sa.UniqueConstraint("reference", name=op.f("uq_mandates_reference")),
    )
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index("ix_mandates_parent", ["parent_account_id"], unique=False)
        batch_op.create_index("ix_mandates_school_signed", ["school_id", "signed_at"], unique=False)

    op.create_table(
        "mandate_students",
        sa.Column("mandate_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["mandate_id"], ["mandates.id"], name=op.f("fk_mandate_students_mandate_id_mandates")
        ),
        sa.PrimaryKeyConstraint("mandate_id", "student_id", name=op.f("pk_mandate_students")),
    )
    with op.batch_alter_table("mandate_students", schema=None) as batch_op:
        batch_op.create_index("ix_mandate_students_student", ["student_id"], unique=False)

    op.create_table(
        "auto_top_up_triggers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_auto_top_up_triggers_positive")),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_auto_top_up_triggers_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_top_up_triggers")),
    )
    with op.batch_alter_table("auto_top_up_triggers", schema=None) as batch_op:
        batch_op.create_index("ix_auto_top_up_triggers_school_status", ["school_id", "status"], unique=False)
        batch_op.create_index(
            "uq_auto_top_up_triggers_live",
            ["wallet_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'batched')"),
            postgresql_where=sa.text("status IN ('pending', 'batched')"),
        )

    op.create_table(
        "auto_top_ups",
        sa.Column("wallet_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("threshold_cents >= 0 AND amount_cents > 0", name=op.f("ck_auto_top_ups_amounts")),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_auto_top_ups_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_auto_top_ups")),
    )
    op.create_table(
        "direct_debit_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("trigger_id", sa.String(length=36), nullable=True),
        sa.Column("wallet_id", sa.String(length=36), nullable=True),
        sa.Column("mandate_id", sa.String(length=36), nullable=False),
        sa.Column("sequence_type", sa.String(length=4), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("remittance", sa.String(length=140), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=True),
        sa.Column("applied_cents", sa.BigInteger(), nullable=False),
        sa.Column("excess_cents", sa.BigInteger(), nullable=False),
        sa.Column("excess_transfer_id", sa.String(length=36), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_movement_id", sa.String(length=36), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(length=4), nullable=False),
        sa.Column("return_bank_reference", sa.String(length=64), nullable=False),
        sa.Column("return_movement_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(invoice_id IS NULL) <> (trigger_id IS NULL)", name=op.f("ck_direct_debit_items_one_target")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_direct_debit_items_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["direct_debit_batches.id"],
            name=op.f("fk_direct_debit_items_batch_id_direct_debit_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_direct_debit_items_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"], ["mandates.id"], name=op.f("fk_direct_debit_items_mandate_id_mandates")
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["auto_top_up_triggers.id"],
            name=op.f("fk_direct_debit_items_trigger_id_auto_top_up_triggers"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_direct_debit_items_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_debit_items")),
        sa.UniqueConstraint("end_to_end_id", name=op.f("uq_direct_debit_items_end_to_end_id")),
    )
    with op.batch_alter_table("direct_debit_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_direct_debit_items_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_direct_debit_items_invoice", ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_direct_debit_items_mandate_id"), ["mandate_id"], unique=False)
        batch_op.create_index("ix_direct_debit_items_wallet", ["wallet_id"], unique=False)
        batch_op.create_index(
            "uq_direct_debit_items_live_invoice",
            ["invoice_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending' AND invoice_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND invoice_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_direct_debit_items_live_trigger",
            ["trigger_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending' AND trigger_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND trigger_id IS NOT NULL"),
        )


def downgrade() -> None:
    for name in (
        "direct_debit_items",
        "auto_top_ups",
        "auto_top_up_triggers",
        "mandate_students",
        "mandates",
        "direct_debit_batches",
    ):
        op.drop_table(name)
