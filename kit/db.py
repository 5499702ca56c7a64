"""SQLAlchemy 2 engine, sessions and the unit of work.

One database per service. SQLite (local default) runs in WAL mode with foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE`` so two writers never race on a read-then-write (the
second waits on the busy timeout). PostgreSQL uses READ COMMITTED with explicit row locks
(``SELECT ... FOR UPDATE``) where money moves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast, overload

from sqlalchemy import Table, create_engine, delete, event, select, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# A pooled PostgreSQL connection idle this long is checked (SELECT 1) before it is handed out; one in
# use more recently is not: a database restarted under load fails the calls on its old connections
# once (503 "unavailable", retried by the caller) and SQLAlchemy then replaces the whole pool.
IDLE_PING_SECONDS = 30.0


def make_engine(url: str, *, pool_size: int = 10, idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    """Create the engine for ``url``; SQLite files get their directory created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: object) -> None:  # pragma: no cover - driver hook
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:  # pragma: no cover - driver hook
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """SQLAlchemy's ``pool_pre_ping`` for the connections that sat in the pool ``idle_seconds`` or more
    (a dropped or timed-out connection is found and replaced before use), not for every checkout: a
    ping is one more round trip per unit of work (7-9 % of a ledger movement's time, issue #20)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # a new connection, or one just used
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces it and tries again
            raise DisconnectionError("an idle pooled connection was dead") from exc


class Database:
    """The engine and session factory of one service's database."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commits when the block ends normally, rolls back on any exception."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one unit of work and return its result."""
        with self.unit_of_work() as session:
            return fn(session)

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
                conn.rollback()
            return True
        except Exception:  # noqa: BLE001 - a probe: whatever stops the database answering means "not ready"
            return False

    def dispose(self) -> None:
        self.engine.dispose()


@overload
def aware(dt: datetime) -> datetime: ...
@overload
def aware(dt: None) -> None: ...
def aware(dt: datetime | None) -> datetime | None:
    """An instant read back from a ``DateTime(timezone=True)`` column, with its offset: SQLite hands
    it back naive, and every instant is stored in UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def delete_in_batches(db: Database, table: Table, condition: Any, *, batch: int = 1000) -> int:
    """Delete the rows of ``table`` matching ``condition``, ``batch`` rows per transaction (a purge of
    months of rows must not hold one long lock); returns how many went. Rows are picked by primary key,
    so a row written meanwhile that matches is taken by a later batch or the next run."""
    key = list(table.primary_key.columns)
    total = 0
    while True:
        with db.unit_of_work() as s:
            picked = [tuple(r) for r in s.execute(select(*key).where(condition).limit(batch)).all()]
            if not picked:
                return total
            if len(key) == 1:
                s.execute(delete(table).where(key[0].in_([p[0] for p in picked])))
            else:
                s.execute(delete(table).where(tuple_(*key).in_(picked)))
        total += len(picked)
        if len(picked) < batch:
            return total


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: PostgreSQL ``COPY`` (an order of magnitude faster
    than row-by-row INSERTs for thousands of rows), a plain executemany elsewhere. Every row gives the
    same columns; the others take their database defaults (Python-side defaults are not applied)."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = [c.name for c in table.columns if c.name in rows[0]]
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    # psycopg's own connection and errors: COPY is not part of the DB-API that SQLAlchemy types.
    cursor = cast(Any, conn.connection.dbapi_connection).cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except cast(Any, conn.dialect.dbapi).IntegrityError as exc:
        # as SQLAlchemy would raise it, so callers catch one exception whatever the path
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cursor.close()
