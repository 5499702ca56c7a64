"""Shared by the benchmarks: the whole suite on PostgreSQL with gunicorn, families made through auth's
own ``seed-families`` command (or through the API, one by one, where a bench means that path), and
latency statistics."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from kit.testing import BrokerNamespace, ThrowawayDatabases  # noqa: E402
from tests.factories import expect, new_family, new_school  # noqa: E402
from tests.suite import Suite  # noqa: E402

# GATEWAY_SESSION_CACHE_SECONDS for the bench's gateway (gateway/session_cache.py): production's 0
# unless BENCH_SESSION_CACHE_SECONDS says otherwise; every bench prints it.
SESSION_CACHE = os.environ.get("BENCH_SESSION_CACHE_SECONDS", "0")


class BenchSuite(Suite):
    """The test suite's processes with production's database pools (10, and as many again in a burst:
    kit.settings), not the tests' 2 (which keep two suites at once under max_connections): a pool
    smaller than the load opens and closes a connection per call, which is not what production does.
    And production's priority for the relays, consumers and mailer (BACKGROUND_NICE 10), not the
    tests' 0."""

    def env(self, service: str | None = None) -> dict[str, str]:
        env = super().env(service)
        env["DATABASE_POOL_SIZE"] = os.environ.get("BENCH_POOL_SIZE", "10")
        env["BACKGROUND_NICE"] = os.environ.get("BENCH_BACKGROUND_NICE", "10")
        # the gateway's session cache, off in production unless a deployment sets it
        env["GATEWAY_SESSION_CACHE_SECONDS"] = SESSION_CACHE
        return env


def start_suite(workers: int = 4) -> Suite:
    tmp = Path(tempfile.mkdtemp(prefix="cartable-bench-"))
    suite = BenchSuite(
        tmp, ThrowawayDatabases("postgresql", tmp), BrokerNamespace(), gunicorn_workers=workers
    )
    suite.start()
    return suite


def stop_suite(suite: Suite) -> None:
    suite.stop()
    suite.broker.cleanup()
    suite.databases.cleanup()


def make_families(suite: Suite, staff, n: int, class_name: str = "1A", threads: int = 8) -> list:
    """``n`` parents with one child each, activated through the API (token read from the mail)."""

    def one(i: int):
        return new_family(
            suite, staff, [{"first_name": f"Enfant{i}", "class_name": class_name}], first_name=f"P{i}"
        )

    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    # set-up only: the staff session is shared by the threads; retry a request on a dropped connection
    staff.http.mount(
        "http://", HTTPAdapter(pool_maxsize=threads, max_retries=Retry(total=3, allowed_methods=None))
    )
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        families = list(pool.map(one, range(n)))
    print(f"  set-up: {n} families in {time.perf_counter() - started:.1f} s", flush=True)
    return families


def seed_families(suite: Suite, staff, n: int, class_name: str = "1A", prefix: str = "Charge") -> list[dict]:
    """``n`` parents of one child each, signed in, made by ``python -m services.auth seed-families``
    (the use cases' own rows and events), then the bus settled: every service has the families (their
    wallets, contact book) before the load starts. Each: parent_id, username, student_id, session_token."""
    started = time.perf_counter()
    mark = suite.bus_mark()
    out = json.loads(
        suite.run_command(
            "auth",
            "seed-families",
            "--school-id",
            staff.school_id,
            "--count",
            str(n),
            "--class-name",
            class_name,
            "--prefix",
            prefix,
        )
    )
    seeded = time.perf_counter()
    suite.wait_until_settled(mark, timeout=120 + n / 5)
    print(
        f"  set-up: {n} families seeded in {seeded - started:.1f} s, every service had them "
        f"{time.perf_counter() - seeded:.1f} s later",
        flush=True,
    )
    return list(out["families"])


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": qs[49] * 1000, "p95": qs[94] * 1000, "p99": qs[98] * 1000}


def line(label: str, count: int, seconds: float, lat: list[float], errors: int) -> str:
    p = percentiles(lat)
    return (
        f"{label:<34} {count / seconds:8.1f} req/s   p50 {p['p50']:7.1f} ms   p95 {p['p95']:7.1f} ms   "
        f"p99 {p['p99']:7.1f} ms   errors {errors}"
    )


__all__ = [
    "expect",
    "line",
    "make_families",
    "new_school",
    "percentiles",
    "seed_families",
    "start_suite",
    "stop_suite",
]
