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
from typing import TypeVar

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import create_engine, text

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


def create_pg_database(name: str) -> str:
    admin = pg_admin_url()
    assert admin, "TEST_DATABASE_URL is not set"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _require_pg_admin_url() -> str:
    admin = pg_admin_url()
    assert admin, "TEST_DATABASE_URL is not set"
    return admin


def drop_pg_database(name: str) -> None:
    engine = create_engine(_require_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


_TEMPLATES: dict[tuple[str, str], str] = {}  # (backend, service) -> migrated template (file or db name)
_TEMPLATE_LOCK = threading.Lock()


class ThrowawayDatabases:
    """Creates databases for one test and removes them afterwards."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[str] = []

    def url(self, service: str) -> str:
        """An empty database."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / (service + '.db')}"
        name = f"cartable_test_{service}_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        return create_pg_database(name)

    def migrated(self, service: str) -> str:
        """A database at the head of ``services/<service>/migrations``: a copy of one migrated once
        per test session (running every migration for every test was most of the suite's time)."""
        template = _migrated_template(self.backend, service)
        if self.backend == "sqlite":
            target = self.tmp / (service + ".db")
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
        name = f"cartable_test_{service}_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        admin = _require_pg_admin_url()
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        engine.dispose()
        return f"{admin.rsplit('/', 1)[0]}/{name}"

    def cleanup(self) -> None:
        for name in self.created:
            drop_pg_database(name)


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    """Drop the session's template databases."""
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
