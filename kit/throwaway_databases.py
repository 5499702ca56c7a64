"""Throwaway databases for tests: SQLite files and PostgreSQL databases (TEST_DATABASE_URL), each
copied from one migrated template per service and test session; on PostgreSQL a finished test's
database is emptied and reused (``_RecycledDatabases``). ``kit.testing`` re-exports what tests use."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool


def pg_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


_ADMIN: dict[str, Engine] = {}  # TEST_DATABASE_URL -> one pooled engine per process
_ADMIN_LOCK = threading.Lock()


def _admin() -> Engine:
    """The server's admin connection, pooled: on a loaded machine a new PostgreSQL connection costs
    as much as the work it is opened for."""
    url = _require_pg_admin_url()
    with _ADMIN_LOCK:
        if url not in _ADMIN:
            _ADMIN[url] = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=2, pool_pre_ping=True)
        return _ADMIN[url]


def create_pg_database(name: str) -> str:
    with _admin().connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return _pg_url(name)


def _require_pg_admin_url() -> str:
    admin = pg_admin_url()
    assert admin, "TEST_DATABASE_URL is not set"
    return admin


def drop_pg_database(name: str) -> None:
    with _admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_TEMPLATES: dict[tuple[str, str], str] = {}  # (backend, service) -> migrated template (file or db name)
_TEMPLATE_LOCK = threading.Lock()


class ThrowawayDatabases:
    """Creates databases for one test and removes them afterwards."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[str] = []
        self.recyclable: list[tuple[str, str]] = []  # (service, database) of migrated() on PostgreSQL

    def url(self, service: str) -> str:
        """An empty database."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / (service + '.db')}"
        name = f"cartable_test_{service}_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        return create_pg_database(name)

    def migrated(self, service: str) -> str:
        """A database at the head of ``services/<service>/migrations``: a copy of one migrated once
        per test session (running every migration for every test was most of the suite's time). On
        PostgreSQL, a database an earlier test of this process used, emptied (``_RECYCLED``), when
        there is one: creating and dropping a database costs about a second, emptying one 50 ms."""
        template = _migrated_template(self.backend, service)
        if self.backend == "sqlite":
            target = self.tmp / (service + ".db")
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
        name = _RECYCLED.take(service)
        if name is None:
            name = f"cartable_test_{service}_{uuid.uuid4().hex[:10]}"
            with _admin().connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            _RECYCLED.learn(service, name)
        self.recyclable.append((service, name))
        return _pg_url(name)

    def cleanup(self) -> None:
        for name in self.created:
            drop_pg_database(name)
        for service, name in self.recyclable:
            _RECYCLED.give_back(service, name)
        self.created.clear()
        self.recyclable.clear()


class _RecycledDatabases:
    """Migrated PostgreSQL databases of finished tests, emptied for the next test of the same service
    in this process, or dropped when they cannot be trusted to be as new.

    Giving one back: every other connection to it is ended and it is renamed (a straggler of the
    finished test, a pool reconnecting, finds no database rather than the next test's), its schema
    is compared with the template's (a test that altered it, or ran a migration down, loses its
    database), then every table but ``alembic_version`` is emptied with triggers off (the audit
    tables refuse a DELETE by trigger) and every sequence restarted."""

    def __init__(self) -> None:
        self._free: dict[str, list[str]] = {}
        self._schemas: dict[str, str] = {}  # service -> the schema's fingerprint, as migrated
        self._lock = threading.Lock()

    def take(self, service: str) -> str | None:
        with self._lock:
            free = self._free.get(service)
            return free.pop() if free else None

    def learn(self, service: str, name: str) -> None:
        """Remember the schema of a database just copied from the template (read once per service)."""
        if service in self._schemas:
            return
        engine = create_engine(_pg_url(name), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as c:
                self._schemas[service] = _schema_fingerprint(c)
        finally:
            engine.dispose()

    def give_back(self, service: str, name: str) -> None:
        fresh = f"cartable_test_{service}_{uuid.uuid4().hex[:10]}"
        try:
            with _admin().connect() as c:
                c.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                c.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{fresh}"'))
        except Exception:  # noqa: BLE001 - still in use, or gone: it is not reused, whatever the reason
            drop_pg_database(name)
            return
        if not self._empty(service, fresh):
            drop_pg_database(fresh)
            return
        with self._lock:
            self._free.setdefault(service, []).append(fresh)

    def _empty(self, service: str, name: str) -> bool:
        engine = create_engine(_pg_url(name), poolclass=NullPool)
        try:
            with engine.begin() as c:  # one transaction: the checks, the truncation, the sequences
                c.execute(text("SET LOCAL lock_timeout = '10s'"))
                if _schema_fingerprint(c) != self._schemas.get(service):
                    return False
                c.execute(text("SET LOCAL session_replication_role = replica"))  # no FK or audit trigger
                for table in c.execute(
                    text(
                        "SELECT quote_ident(tablename) FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                ).all():
                    # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files cost more
                    c.execute(text(f"DELETE FROM {table[0]}"))  # noqa: S608 - quote_ident's names
                for seq in c.execute(
                    text("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")
                ).all():
                    c.execute(text(f"ALTER SEQUENCE {seq[0]} RESTART"))
            return True
        except Exception:  # noqa: BLE001 - any doubt about its state: the database is dropped instead
            return False
        finally:
            engine.dispose()

    def drop_all(self) -> None:
        with self._lock:
            names = [n for free in self._free.values() for n in free]
            self._free.clear()
        for name in names:
            drop_pg_database(name)


def _pg_url(name: str) -> str:
    return f"{_require_pg_admin_url().rsplit('/', 1)[0]}/{name}"


def _schema_fingerprint(c: Connection) -> str:
    """The schema in one digest (columns and index columns, constraints, triggers, functions), and the
    migration head: read from pg_catalog, ten times quicker than information_schema."""
    digest = c.execute(
        text(
            """
            SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
              SELECT a.attrelid::regclass::text || '.' || a.attname || ' ' || a.atttypid::regtype::text
                     || ' ' || a.attnotnull::text || ' ' || a.atthasdef::text AS x
                FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
               WHERE r.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
              UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || contype::text || ' '
                     || md5(coalesce(conbin::text, '') || coalesce(conkey::text, ''))
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
              UNION ALL SELECT tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
                FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
               WHERE r.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
              UNION ALL SELECT proname || ' ' || md5(prosrc) FROM pg_proc
               WHERE pronamespace = 'public'::regnamespace
            ) s
            """
        )
    ).scalar()
    head = ""
    if c.execute(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar():
        head = " ".join(sorted(c.execute(text("SELECT version_num FROM alembic_version")).scalars()))
    return f"{digest} {head}"


_RECYCLED = _RecycledDatabases()


def _migrated_template(backend: str, service: str) -> str:
    from kit import migrations
    from kit.settings import ROOT

    with _TEMPLATE_LOCK:
        if (backend, service) not in _TEMPLATES:
            migrations_dir = ROOT / "services" / service / "migrations"
            if backend == "sqlite":
                path = Path(tempfile.mkdtemp(prefix="cartable-templates-")) / f"{service}.db"
                migrations.upgrade(migrations_dir, f"sqlite:///{path}")
                _TEMPLATES[(backend, service)] = str(path)
            else:
                name = f"cartable_tmpl_{service}_{uuid.uuid4().hex[:10]}"
                migrations.upgrade(migrations_dir, create_pg_database(name))
                _TEMPLATES[(backend, service)] = name
        return _TEMPLATES[(backend, service)]


def drop_session_databases() -> None:
    """At the end of a test session: the migrated templates and the emptied databases no test took."""
    _RECYCLED.drop_all()
    for (backend, _service), template in list(_TEMPLATES.items()):
        if backend == "postgresql":
            drop_pg_database(template)
        else:
            shutil.rmtree(Path(template).parent, ignore_errors=True)
    _TEMPLATES.clear()
