"""Pooled PostgreSQL connections: one that sat idle is checked before use (a dead one is replaced
without the caller noticing); one just used is handed out without a round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from kit.db import make_engine


@pytest.fixture
def pg_url(databases):
    if databases.backend != "postgresql":
        pytest.skip("the pool's ping is PostgreSQL's concern here")
    return databases.url("pool")


def _backend_pid(engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(engine, pid: int) -> None:
    with engine.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        c.commit()


def test_a_dead_idle_connection_is_replaced_before_use(pg_url):
    engine = make_engine(pg_url, pool_size=1, idle_ping_seconds=0)  # every pooled one counts as idle
    killer = make_engine(pg_url, pool_size=1)
    try:
        first = _backend_pid(engine)
        _kill(killer, first)
        assert _backend_pid(engine) != first  # no error: the ping found it dead, a new one answered
    finally:
        engine.dispose()
        killer.dispose()


def _count_pings(engine) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_conn):
        pings.append(1)
        return real(dbapi_conn)

    engine.dialect.do_ping = counted
    return pings


@pytest.mark.parametrize(("idle_seconds", "expected"), [(30.0, 0), (0.0, 2)])
def test_a_connection_just_used_is_not_pinged(pg_url, idle_seconds, expected):
    engine = make_engine(pg_url, pool_size=1, idle_ping_seconds=idle_seconds)
    pings = _count_pings(engine)
    try:
        for _ in range(3):  # a new connection (never pinged), then the same one twice
            with engine.connect() as c:
                assert c.execute(text("SELECT 42")).scalar_one() == 42
        assert len(pings) == expected
    finally:
        engine.dispose()
