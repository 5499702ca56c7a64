"""a family's erasure and the retention policy (issue #21): erasures (who was erased, ids only),
retention_policies (per school), and audit_entries.redacted_at: the append-only trigger now lets one
change through, an erasure replacing names in actor_name and detail while setting redacted_at,
nothing else of the row (DELETE and TRUNCATE still refused)

Revision ID: b7d2e4f9a013
Revises: e6c4d9b2f853
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d2e4f9a013"
down_revision = "e6c4d9b2f853"
branch_labels = None
depends_on = None

_REFUSAL = "audit_entries is append-only"
# every column but actor_name, detail and redacted_at: a redaction leaves them as they were
_FIXED = (
    "seq",
    "id",
    "school_id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "recorded_at",
)


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("personal_years", sa.Integer(), nullable=False),
        sa.Column("financial_years", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_retention_policies_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "erasures",
        sa.Column("subject_type", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_financial_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("subject_type", "subject_id", name=op.f("pk_erasures")),
    )
    op.create_index("ix_erasures_school", "erasures", ["school_id"], unique=False)
    # a plain ADD COLUMN (no batch: SQLite's copy of the table would lose its triggers)
    op.add_column("audit_entries", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        new_fixed = ", ".join(f"NEW.{c}" for c in _FIXED)
        old_fixed = ", ".join(f"OLD.{c}" for c in _FIXED)
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_OP = 'UPDATE' AND NEW.redacted_at IS NOT NULL "
            "AND NEW.redacted_at IS DISTINCT FROM OLD.redacted_at "
            f"AND ROW({new_fixed}) IS NOT DISTINCT FROM ROW({old_fixed}) THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
    else:
        same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _FIXED)
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute(
            "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
            f"WHEN NOT (NEW.redacted_at IS NOT NULL AND NEW.redacted_at IS NOT OLD.redacted_at AND {same}) "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute(
            "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
        )
    op.drop_column("audit_entries", "redacted_at")
    op.drop_index("ix_erasures_school", table_name="erasures")
    op.drop_table("erasures")
    op.drop_table("retention_policies")
