"""Closed-loop load on GET /api/v1/dashboard with many families on PostgreSQL, beside GET /healthz in
the same run, then the same with finance stopped (its panels `unavailable`, the page still in time)."""

from __future__ import annotations

import os
import random
import threading
import time

import requests
from common import line, make_families, new_school, start_suite, stop_suite

FAMILIES = int(os.environ.get("BENCH_FAMILIES", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


def closed_loop(url_for, headers_for, seconds: float, clients: int):
    lat, errors, unavailable = [], [0], [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(seed: int):
        rnd = random.Random(seed)
        s = requests.Session()
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                r = s.get(url_for(rnd), headers=headers_for(rnd), timeout=10)
                ok = r.status_code == 200
                partial = ok and bool(
                    r.headers.get("Content-Type", "").startswith("application/json")
                    and r.json().get("unavailable")
                )
            except requests.RequestException:
                ok, partial = False, False
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                errors[0] += 0 if ok else 1
                unavailable[0] += 1 if partial else 0

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, time.perf_counter() - started, errors[0], unavailable[0]


def main() -> int:
    suite = start_suite(workers=int(os.environ.get("BENCH_GATEWAY_WORKERS", "4")))
    try:
        staff = new_school(suite)
        families = make_families(suite, staff, FAMILIES)
        tokens = [f.session_token for f in families]
        for f in families:
            f.http.close()
        dash = lambda rnd: suite.base_url + "/api/v1/dashboard"  # noqa: E731
        health = lambda rnd: suite.base_url + "/healthz"  # noqa: E731
        auth = lambda rnd: {"Authorization": "Bearer " + rnd.choice(tokens)}  # noqa: E731
        print(
            f"bench_dashboard: {FAMILIES} families, {CLIENTS} closed-loop clients, {SECONDS:.0f} s each, PostgreSQL"
        )
        lat, secs, err, _ = closed_loop(health, lambda r: {}, SECONDS / 2, CLIENTS)
        print(line("GET /healthz", len(lat), secs, lat, err))
        base = len(lat) / secs
        lat, secs, err, partial = closed_loop(dash, auth, SECONDS, CLIENTS)
        print(line("GET /api/v1/dashboard", len(lat), secs, lat, err) + f"   partial {partial}")
        print(f"ratio dashboard / healthz throughput: {len(lat) / secs / base:.2f}")
        suite.stop_service("finance")
        lat, secs, err, partial = closed_loop(dash, auth, SECONDS, CLIENTS)
        print(line("GET /api/v1/dashboard, finance down", len(lat), secs, lat, err) + f"   partial {partial}")
        return 0
    finally:
        stop_suite(suite)


if __name__ == "__main__":
    raise SystemExit(main())
