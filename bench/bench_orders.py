"""The rush: 500 parents place textbook orders at once against the local suite on PostgreSQL.

Prints orders per second, p50/p95/p99 latency of the whole order (catalog, summary, order) and of the
order call alone, and the errors (which must be 0), beside GET /healthz measured in the same run.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests
from common import expect, line, make_families, new_school, start_suite, stop_suite

PARENTS = int(os.environ.get("BENCH_PARENTS", "500"))


def main() -> int:
    suite = start_suite(workers=int(os.environ.get("BENCH_GATEWAY_WORKERS", "4")))
    try:
        staff = new_school(suite)
        now = datetime.now(UTC)
        period = expect(
            staff.post(
                "/admin/order-periods",
                json={
                    "title": "Manuels 2027",
                    "notes": "",
                    "opens_at": (now - timedelta(hours=1)).isoformat(),
                    "closes_at": (now + timedelta(days=1)).isoformat(),
                    "class_names": ["1A"],
                },
            ),
            201,
        ).json()["id"]
        items = [
            expect(
                staff.post(
                    f"/admin/order-periods/{period}/items",
                    json={
                        "subject": f"Matière {i % 6}",
                        "title": f"Livre {i}",
                        "comment": "",
                        "type": "loan" if i % 2 else "purchase",
                        "price_cents": 500 + 37 * i,
                    },
                ),
                201,
            ).json()["id"]
            for i in range(24)
        ]
        families = make_families(suite, staff, PARENTS)
        gate = threading.Barrier(len(families) + 1)
        whole, order_only, errors = [], [], []
        lock = threading.Lock()

        def parent_orders(parent, k: int):
            chosen = items[k % 5 : k % 5 + 8]
            gate.wait()
            t0 = time.perf_counter()
            try:
                expect(parent.get(f"/order-periods/{period}/catalog"), 200)
                expect(parent.post(f"/order-periods/{period}/summary", json={"item_ids": chosen}), 200)
                t1 = time.perf_counter()
                expect(
                    parent.post(
                        f"/order-periods/{period}/orders",
                        json={"item_ids": chosen, "confirm": True},
                        headers={"Idempotency-Key": str(uuid.uuid4())},
                    ),
                    201,
                )
                t2 = time.perf_counter()
                with lock:
                    whole.append(t2 - t0)
                    order_only.append(t2 - t1)
            except (AssertionError, requests.RequestException) as exc:
                with lock:
                    errors.append(repr(exc)[:300])

        for f in families:  # a parent arrives with a fresh connection, not one the server closed meanwhile
            f.http.close()
        threads = [threading.Thread(target=parent_orders, args=(p, k)) for k, p in enumerate(families)]
        for t in threads:
            t.start()
        gate.wait()
        started = time.perf_counter()
        health_lat, stop = [], threading.Event()

        def probe():
            s = requests.Session()
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    s.get(suite.base_url + "/healthz", timeout=60)
                except requests.RequestException as exc:
                    errors.append("healthz: " + repr(exc)[:200])
                health_lat.append(time.perf_counter() - t0)

        prober = threading.Thread(target=probe)
        prober.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        stop.set()
        prober.join()
        print(f"bench_orders: {len(families)} parents ordering at once, gateway with gunicorn, PostgreSQL")
        print(line("orders (catalog+summary+order)", len(whole), elapsed, whole, len(errors)))
        print(line("  of which POST .../orders", len(order_only), elapsed, order_only, len(errors)))
        print(line("GET /healthz (same run)", len(health_lat), elapsed, health_lat, 0))
        from common import percentiles

        ratio = percentiles(order_only)["p50"] / max(percentiles(health_lat)["p50"], 1e-9)
        print(f"ratio p50 order / p50 healthz: {ratio:.1f}x")
        for e in errors[:5]:
            print("  error:", e)
        return 1 if errors else 0
    finally:
        stop_suite(suite)


if __name__ == "__main__":
    raise SystemExit(main())
