"""childcare tax certificates (281.86): one row per version of a certificate (issue #19)

Revision ID: b19e5f2a8c07
Revises: b19a2c3d4e02
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b19e5f2a8c07"
down_revision = "b19a2c3d4e02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tax_certificates",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("capped_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("daily_cap_cents", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("replaced_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "school_id", "year", "student_id", "parent_id", "version", name="uq_tax_certificates_version"
        ),
    )
    op.create_index("ix_tax_certificates_school_year", "tax_certificates", ["school_id", "year"])


def downgrade() -> None:
    op.drop_index("ix_tax_certificates_school_year", table_name="tax_certificates")
    op.drop_table("tax_certificates")
