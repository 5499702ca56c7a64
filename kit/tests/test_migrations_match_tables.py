"""Every service's Alembic history builds exactly the tables its code declares (columns, types,
nullability, indexes): a column added to ``db.py`` without a migration, or the reverse, fails here
before it fails in production. On SQLite and, when available, PostgreSQL."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from kit import migrations
from kit.settings import SERVICES

# Alembic's own bookkeeping table is in the database, not in the code
IGNORED_TABLES = {"alembic_version"}


def _relevant(diff) -> bool:
    op = diff[0] if isinstance(diff, tuple) else diff[0][0]
    if op in ("remove_table",) and diff[1].name in IGNORED_TABLES:
        return False
    # server defaults and comments are not declared in the code
    return op not in ("modify_default", "modify_comment")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_migrations_build_the_declared_tables(service, databases):
    spec = importlib.import_module(f"services.{service}.app").spec()
    url = databases.url(service)
    migrations.upgrade(spec.migrations_dir, url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), spec.metadata
            )
    finally:
        engine.dispose()
    assert [d for d in diffs if _relevant(d)] == []


def test_the_till_items_already_there_get_their_days_of_care(databases):
    """Finance's b19f7c8d9e10 (issue #19): a childcare item of the price list pays for one day of care
    per unit sold, any other item for none."""
    spec = importlib.import_module("services.finance.app").spec()
    url = databases.url("finance")
    migrations.upgrade(spec.migrations_dir, url, "b19f3a4c5d06")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for item_id, childcare in (("care", True), ("soup", False)):
                conn.execute(
                    text(
                        "INSERT INTO till_items (id, school_id, label, price_cents, childcare, position,"
                        " active, created_at, updated_at) VALUES (:id, 's1', :id, 100, :childcare, 0,"
                        " :active, :at, :at)"
                    ),
                    {"id": item_id, "childcare": childcare, "active": True, "at": datetime.now(UTC)},
                )
        migrations.upgrade(spec.migrations_dir, url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, days FROM till_items ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("care", 1), ("soup", 0)]
