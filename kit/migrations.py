"""Alembic per service: each service keeps its history in ``services/<svc>/migrations``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from kit.db import make_engine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with stable constraint names, so migrations are the same on SQLite and PostgreSQL."""
    return MetaData(naming_convention=NAMING)


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Apply this service's migrations to ``url``."""
    command.upgrade(alembic_config(migrations_dir, url), revision)


def make_revision(migrations_dir: Path, url: str, message: str) -> None:
    """Autogenerate a new revision against an up-to-date database (a developer command)."""
    cfg = alembic_config(migrations_dir, url)
    command.upgrade(cfg, "head")
    command.revision(cfg, message=message, autogenerate=True)


def run_env(context: Any, metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``; ``context`` is alembic's ``context`` module."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()
