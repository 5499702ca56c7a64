"""Make sure the local RabbitMQ (and PostgreSQL, when the tests use it) answer; start them when they
are installed but not running, and say what to do when they are not installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _amqp_answers(url: str) -> bool:
    from kit.bus import broker_answers  # pika only when RabbitMQ had to be started

    return broker_answers(url)


def _wait(ready: Callable[[], bool], seconds: float) -> bool:
    """Poll ``ready`` (a command-line tool's own loop: kit.testing.wait_for is for tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.5)
    return ready()


def ensure_rabbitmq(url: str) -> bool:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    if _answers(host, port):
        return True
    if host not in ("127.0.0.1", "localhost"):
        print(
            f"RabbitMQ at {host}:{port} does not answer; start it, or point AMQP_URL elsewhere.",
            file=sys.stderr,
        )
        return False
    server = shutil.which("rabbitmq-server") or (
        "/usr/sbin/rabbitmq-server" if Path("/usr/sbin/rabbitmq-server").exists() else None
    )
    if not server:
        print(
            "RabbitMQ is not installed. Install it (Debian/Ubuntu: `sudo apt-get install rabbitmq-server`,"
            " macOS: `brew install rabbitmq`) or run it in a container:"
            " `docker run -d -p 5672:5672 rabbitmq:3`, then run this command again.",
            file=sys.stderr,
        )
        return False
    print("Starting RabbitMQ ...", file=sys.stderr)
    subprocess.run([server, "-detached"], check=False)
    # the port opens a moment before the broker accepts AMQP sessions: wait for a session
    if _wait(lambda: _amqp_answers(url), 90):
        return True
    print("RabbitMQ did not start within 90 s; see its logs (/var/log/rabbitmq).", file=sys.stderr)
    return False


def ensure_postgres(url: str) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    if _answers(host, port):
        return True
    clusters = Path("/etc/postgresql")
    if host in ("127.0.0.1", "localhost") and shutil.which("pg_ctlcluster") and clusters.exists():
        for version in sorted(p.name for p in clusters.iterdir()):
            print(f"Starting PostgreSQL {version} ...", file=sys.stderr)
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
            )
        if _wait(lambda: _answers(host, port), 60):
            return True
    print(
        f"PostgreSQL at {host}:{port} does not answer; start it or unset TEST_DATABASE_URL.", file=sys.stderr
    )
    return False


# Two test workers each run the whole suite (19 processes) beside the integration tests and the tests
# that start extra servers: measured peaks of 95-104 connections, PostgreSQL's default is 100.
CI_PG_CONNECTIONS = 300


def ensure_pg_connections(url: str, wanted: int = CI_PG_CONNECTIONS) -> bool:
    """In CI, a local cluster allowing fewer than ``wanted`` connections is raised to ``wanted``
    (ALTER SYSTEM, then a restart of the cluster, which takes effect only then)."""
    import psycopg

    parsed = urlparse(url.replace("+psycopg", ""))
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        current = int(row[0]) if row else 0
        if current >= wanted:
            return True
        if host not in ("127.0.0.1", "localhost") or not shutil.which("pg_ctlcluster"):
            print(
                f"PostgreSQL allows {current} connections; the suite needs about {wanted}.", file=sys.stderr
            )
            return True
        print(f"PostgreSQL: max_connections {current} -> {wanted} (restart)", file=sys.stderr)
        conn.execute(f"ALTER SYSTEM SET max_connections = {int(wanted)}")
    for version in sorted(p.name for p in Path("/etc/postgresql").iterdir()):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=False
        )
    return _wait(lambda: _answers(host, port), 60)


def main() -> int:
    ok = ensure_rabbitmq(os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    pg_urls = [v for k, v in os.environ.items() if k.endswith("DATABASE_URL") and v.startswith("postgres")]
    for url in pg_urls[:1]:
        ok = ensure_postgres(url) and ok
        if ok and os.environ.get("CI") == "true":
            ok = ensure_pg_connections(url) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
