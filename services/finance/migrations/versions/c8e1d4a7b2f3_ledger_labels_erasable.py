"""The ledger stays append-only, except a transaction's label (issue #21): an erased family's names are
replaced in the labels they were booked with (a transfer's counterparty, an invoice's title naming the
child). Amounts, accounts, kinds, students and dates still cannot change, and nothing can be deleted.

Revision ID: c8e1d4a7b2f3
Revises: b21a1e5f0a01
"""

from __future__ import annotations

from alembic import op

revision = "c8e1d4a7b2f3"
down_revision = "b21a1e5f0a01"
branch_labels = None
depends_on = None

# Every column of ledger_transactions but its label.
FIXED = ("id", "school_id", "kind", "method", "student_id", "created_at")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in FIXED)
        op.execute(
            "CREATE FUNCTION ledger_label_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND {unchanged} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$"
        )
        op.execute("DROP TRIGGER ledger_transactions_append_only ON ledger_transactions")
        op.execute(
            "CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions "
            "FOR EACH ROW EXECUTE FUNCTION ledger_label_only()"
        )
    else:
        op.execute("DROP TRIGGER ledger_transactions_no_update")
        op.execute(
            f"CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE OF {', '.join(FIXED)} "
            "ON ledger_transactions BEGIN SELECT RAISE(ABORT, "
            "'the ledger is append-only: UPDATE on ledger_transactions refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transactions_append_only ON ledger_transactions")
        op.execute(
            "CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )
        op.execute("DROP FUNCTION ledger_label_only()")
    else:
        op.execute("DROP TRIGGER ledger_transactions_no_update")
        op.execute(
            "CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions "
            "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE on ledger_transactions refused'); END"
        )
