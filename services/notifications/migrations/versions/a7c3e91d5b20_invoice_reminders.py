"""invoice reminders: the invoices' book, settings, students' levels, reminders sent, EPC QR of a mail

Revision ID: a7c3e91d5b20
Revises: f294e7b2100b
Create Date: 2026-12-02 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e91d5b20"
down_revision = "f294e7b2100b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_invoices",
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("student_name", sa.String(length=200), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("open_cents", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("communication", sa.String(length=20), nullable=False),
        sa.Column("school_name", sa.String(length=200), nullable=False),
        sa.Column("beneficiary", sa.String(length=200), nullable=False),
        sa.Column("iban", sa.String(length=40), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_reminder_invoices")),
    )
    with op.batch_alter_table("reminder_invoices", schema=None) as batch_op:
        batch_op.create_index("ix_reminder_invoices_status_school", ["status", "school_id"], unique=False)
    op.create_table(
        "reminder_settings",
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("first_after_days", sa.Integer(), nullable=False),
        sa.Column("repeat_every_days", sa.Integer(), nullable=False),
        sa.Column("max_count", sa.Integer(), nullable=False),
        sa.Column("payment_plan_contact", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_reminder_settings")),
    )
    op.create_table(
        "invoice_reminders",
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("sent_on", sa.String(length=10), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", "sent_on", name=op.f("pk_invoice_reminders")),
    )
    op.create_table(
        "student_levels",
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_student_levels")),
    )
    with op.batch_alter_table("outgoing_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epc_qr", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outgoing_mails", schema=None) as batch_op:
        batch_op.drop_column("epc_qr")
    op.drop_table("student_levels")
    op.drop_table("invoice_reminders")
    op.drop_table("reminder_settings")
    with op.batch_alter_table("reminder_invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_invoices_status_school")
    op.drop_table("reminder_invoices")
