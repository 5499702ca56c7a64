"""Test fixtures shared by every service: throwaway databases (SQLite and PostgreSQL), a private
exchange and queues on the real RabbitMQ, identity keys, a TCP proxy that can cut the broker, a
clock the test moves (``fake_clock``, see kit/clock.py) and ``wait_for``, the one way a test waits
for something that happens in another thread or process."""

from __future__ import annotations

import os
import socket
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

from kit.clock import FakeClock
from kit.identity import Identity, TokenSigner, TokenVerifier, generate_keypair
from kit.settings import Settings, load_settings

# re-exported: tests import them from kit.testing
from kit.throwaway_databases import ThrowawayDatabases as ThrowawayDatabases
from kit.throwaway_databases import create_pg_database as create_pg_database
from kit.throwaway_databases import drop_pg_database as drop_pg_database
from kit.throwaway_databases import drop_session_databases as drop_session_databases
from kit.throwaway_databases import pg_admin_url as pg_admin_url

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
    drop_session_databases()


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
