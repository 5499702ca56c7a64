"""book-return credit keyed by (school, student): one school's credit never reaches another's orders

Revision ID: e4b8a2c6d9f1
Revises: c7d2e9a1b3f4
Create Date: 2027-01-12 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e4b8a2c6d9f1"
down_revision = "c7d2e9a1b3f4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The entries' key to their account changes: drop it first (PostgreSQL refuses to drop a primary
    # key a foreign key still uses), give each entry its account's school, then rebuild both keys.
    with op.batch_alter_table("credit_entries") as batch:
        batch.drop_constraint("fk_credit_entries_student_id_credit_accounts", type_="foreignkey")
        batch.drop_index("ix_credit_entries_student_id")
        batch.add_column(sa.Column("school_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE credit_entries SET school_id = (SELECT a.school_id FROM credit_accounts a"
        " WHERE a.student_id = credit_entries.student_id)"
    )
    with op.batch_alter_table("credit_accounts") as batch:
        batch.drop_constraint("pk_credit_accounts", type_="primary")
        batch.create_primary_key("pk_credit_accounts", ["school_id", "student_id"])
    with op.batch_alter_table("credit_entries") as batch:
        batch.alter_column("school_id", existing_type=sa.String(length=36), nullable=False)
        batch.create_foreign_key(
            "fk_credit_entries_school_id_credit_accounts",
            "credit_accounts",
            ["school_id", "student_id"],
            ["school_id", "student_id"],
        )
        batch.create_index("ix_credit_entries_school_student", ["school_id", "student_id"])


def downgrade() -> None:
    # Only possible while no student has credit in two schools (the old key is the student alone).
    with op.batch_alter_table("credit_entries") as batch:
        batch.drop_index("ix_credit_entries_school_student")
        batch.drop_constraint("fk_credit_entries_school_id_credit_accounts", type_="foreignkey")
    with op.batch_alter_table("credit_accounts") as batch:
        batch.drop_constraint("pk_credit_accounts", type_="primary")
        batch.create_primary_key("pk_credit_accounts", ["student_id"])
    with op.batch_alter_table("credit_entries") as batch:
        batch.drop_column("school_id")
        batch.create_index("ix_credit_entries_student_id", ["student_id"])
        batch.create_foreign_key(
            "fk_credit_entries_student_id_credit_accounts",
            "credit_accounts",
            ["student_id"],
            ["student_id"],
        )
