"""the school's back office: students' external id (unique per school), birth date, national number
(sealed), date left; accounts' national number (sealed); a folded search key on both, filled in

Revision ID: e5b3c8a1d742
Revises: c2e7b9d4f610
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from services.auth.domain.people import search_key

revision = "e5b3c8a1d742"
down_revision = "c2e7b9d4f610"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("national_number", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("left_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("search_name", sa.String(length=420), nullable=False, server_default=""))
        batch.create_index("uq_students_school_external_id", ["school_id", "external_id"], unique=True)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("national_number", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("search_name", sa.String(length=800), nullable=False, server_default=""))
    conn = op.get_bind()
    meta = sa.MetaData()
    students = sa.Table("students", meta, autoload_with=conn)
    accounts = sa.Table("accounts", meta, autoload_with=conn)
    for r in conn.execute(sa.select(students.c.id, students.c.first_name, students.c.last_name)).all():
        conn.execute(
            students.update()
            .where(students.c.id == r.id)
            .values(search_name=search_key(r.first_name, r.last_name))
        )
    q = sa.select(accounts.c.id, accounts.c.first_name, accounts.c.last_name, accounts.c.email)
    for r in conn.execute(q).all():
        conn.execute(
            accounts.update()
            .where(accounts.c.id == r.id)
            .values(search_name=search_key(r.first_name, r.last_name, r.email))
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("search_name")
        batch.drop_column("national_number")
    with op.batch_alter_table("students") as batch:
        batch.drop_index("uq_students_school_external_id")
        batch.drop_column("search_name")
        batch.drop_column("left_on")
        batch.drop_column("national_number")
        batch.drop_column("birth_date")
        batch.drop_column("external_id")
