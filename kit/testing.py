"""Test fixtures shared by every service: throwaway databases (SQLite and PostgreSQL), a private
exchange and queues on the real RabbitMQ, identity keys, a TCP proxy that can cut the broker, a
clock the test moves (``fake_clock``, see kit/clock.py) and ``wait_for``, the one way a test waits
for something that happens in another thread or process."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from kit.clock import FakeClock
from kit.identity import Identity, TokenSigner, TokenVerifier, generate_keypair
from kit.settings import Settings, load_settings

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

T = TypeVar("T")


class WaitTimeout(AssertionError, TimeoutError):
    """What ``wait_for`` raises: a failed test (AssertionError) that ``except TimeoutError`` also catches."""


def wait_for(
    condition: Callable[[], T],
    timeout: float = 30.0,
    *,
    interval: float = 0.1,
    what: str = "the condition",
    describe: Callable[[], object] | None = None,
) -> T:
    """Call ``condition`` until it answers something truthy and return that answer.

    For waiting on an event that happens elsewhere (a row, a message, a mail, a log line): the
    deadline only bounds a failure, so make it generous; a passing test waits no longer than the event
    takes. After ``timeout`` seconds raises :class:`WaitTimeout` naming ``what`` and, when given,
    ``describe()`` (what was there instead)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" ({describe()})" if describe is not None else ""
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


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


_COMPILE_LOCK = threading.RLock()


def pytest_configure(config: pytest.Config) -> None:
    """Serialize ``compile()`` in test processes. CPython 3.11 counts the depth of its AST conversion
    in one counter per interpreter, not per thread; two threads converting at once (a test's
    assertion rewriting or a Flask app's routes beside the suite's gateway threads and in-process
    gRPC servers) can leave it off, and from then on every ``ast.parse`` of that process fails with
    "AST constructor recursion depth mismatch" (cpython gh-106905: 134 errors in one CI run, all in
    one worker). ``ast.parse`` and compiling an AST both go through ``builtins.compile``."""
    import builtins

    original = builtins.compile
    if getattr(original, "cartable_serialized", False):
        return

    def compile_serialized(*args: Any, **kwargs: Any) -> Any:
        with _COMPILE_LOCK:
            return original(*args, **kwargs)

    compile_serialized.cartable_serialized = True  # type: ignore[attr-defined]
    builtins.compile = compile_serialized


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    """Drop the session's template databases and the emptied ones no test took."""
    _RECYCLED.drop_all()
    for (backend, _service), template in list(_TEMPLATES.items()):
        if backend == "postgresql":
            drop_pg_database(template)
        else:
            shutil.rmtree(Path(template).parent, ignore_errors=True)
    _TEMPLATES.clear()


def backends() -> list[object]:
    """SQLite always; PostgreSQL when TEST_DATABASE_URL is set (CI sets it)."""
    pg = pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not pg_admin_url(), reason="TEST_DATABASE_URL not set"),
    )
    return ["sqlite", pg]


def preferred_backend() -> str:
    """For end-to-end tests that run once: PostgreSQL when available, else SQLite."""
    return "postgresql" if pg_admin_url() else "sqlite"


class BrokerNamespace:
    """A private exchange and queue prefix on the real broker, deleted afterwards."""

    def __init__(self, url: str = AMQP_URL) -> None:
        tag = uuid.uuid4().hex[:8]
        self.url = url
        self.exchange = f"test.{tag}.events"
        self.prefix = f"test.{tag}."
        self.queues: set[str] = set()

    def queue(self, name: str) -> str:
        q = self.prefix + name
        self.queues.update({q, q + ".dlq"})
        return q

    def channel_call(self, fn: Callable[[BlockingChannel], T]) -> T:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            return fn(conn.channel())
        finally:
            conn.close()

    def message_count(self, queue: str) -> int:
        return self.channel_call(lambda ch: ch.queue_declare(queue=queue, passive=True).method.message_count)

    def cleanup(self) -> None:
        def _delete(ch: BlockingChannel) -> None:
            for q in self.queues:
                ch.queue_delete(queue=q)
            ch.exchange_delete(exchange=self.exchange)

        try:
            self.channel_call(_delete)
        except pika.exceptions.AMQPError:
            pass


class TcpProxy:
    """A TCP relay in front of a server that a test can cut and restore: the broker seen as down."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.enabled = threading.Event()
        self.enabled.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.enabled.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                # cut() may have run while this connection was being set up: it must not survive it
                if not self.enabled.is_set():
                    client.close()
                    upstream.close()
                    continue
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, including one being accepted right now."""
        with self._lock:
            self.enabled.clear()
            for s in self._conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._conns.clear()

    def restore(self) -> None:
        self.enabled.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


class Keys:
    """A fresh identity key pair; signs tokens for tests."""

    def __init__(self, tmp: Path) -> None:
        self.private_file = tmp / "id.pem"
        self.public_file = tmp / "id.pub.pem"
        generate_keypair(self.private_file, self.public_file)
        self.signer = TokenSigner.from_file(self.private_file)
        self.verifier = TokenVerifier.from_files([self.public_file])

    def token(
        self,
        role: str = "parent",
        school_id: str = "school-1",
        students: Mapping[str, str] | None = None,
        account_id: str | None = None,
    ) -> str:
        ident = Identity(
            account_id=account_id or str(uuid.uuid4()),
            role=role,
            school_id=school_id,
            students=dict(students or {}),
        )
        return self.signer.sign(ident)[0]


def test_settings(
    service: str, database_url: str, keys: Keys, broker: BrokerNamespace | None, **env: object
) -> Settings:
    base = {
        "CARTABLE_ENV": "test",
        f"{service.upper()}_DATABASE_URL": database_url,
        "IDENTITY_PRIVATE_KEY_FILE": str(keys.private_file),
        "IDENTITY_PUBLIC_KEY_FILE": str(keys.public_file),
        "AMQP_URL": broker.url if broker else AMQP_URL,
        "EVENTS_EXCHANGE": broker.exchange if broker else "test.unused",
        "QUEUE_PREFIX": broker.prefix if broker else "test.unused.",
        "CARTABLE_VAR_DIR": str(keys.private_file.parent / "var"),
    }
    base.update({k: str(v) for k, v in env.items()})
    return load_settings(service, base)


# A helper, not a test, even when a test module imports it (mypy does not model function attributes).
test_settings.__test__ = False  # type: ignore[attr-defined]


# pytest fixtures -------------------------------------------------------------------------------


@pytest.fixture(params=backends())
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrowawayDatabases]:
    dbs = ThrowawayDatabases(request.param, tmp_path)
    yield dbs
    dbs.cleanup()


@pytest.fixture
def e2e_databases(tmp_path: Path) -> Iterator[ThrowawayDatabases]:
    dbs = ThrowawayDatabases(preferred_backend(), tmp_path)
    yield dbs
    dbs.cleanup()


@pytest.fixture
def broker() -> Iterator[BrokerNamespace]:
    ns = BrokerNamespace()
    yield ns
    ns.cleanup()


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock standing at ``kit.clock.DEFAULT_START`` until the test moves it."""
    return FakeClock()
