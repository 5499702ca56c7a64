"""The textbook rush, open loop: parents' whole orders arrive at BENCH_RATE per second (20 by default)
for BENCH_SECONDS (30) against the local suite on PostgreSQL (gunicorn), whatever the latency.

One arrival is one parent's whole order, measured end to end from its scheduled instant
(bench/load.py's ``open_loop``, in its own process):

1. ``POST /order-periods/<id>/summary`` (the "récapitulatif", with the book-return credit);
2. ``POST /order-periods/<id>/orders`` (confirm): orders records it, finance invoices it and, as the
   school takes orders online, starts its payment: the answer names the invoice and the checkout URL
   (the flow fails without either);
3. ``GET /invoices/<invoice_id>``: the invoice the parent is sent to (its total must be the order's).

Prints the p50/p95/p99 of the whole order and of each step, the errors (which must be 0), the
generator's own CPU share, and the goal (whole order p95 <= 2000 ms, 0 errors) beside the measured;
in the same run /healthz's throughput under wrk before the rush (the ratio orders/s : healthz/s) and
/healthz's latency probed during it.

Set-up: with auth's seed-families command (bench/common.py's seed_families, when there) one family per
order; else through the API (one family at a time is slow) BENCH_FAMILIES families (150 by default), each
ordering once in each of enough periods to make BENCH_RATE x BENCH_SECONDS orders (600: 4 periods of
24 items); a family's orders are BENCH_FAMILIES arrivals apart (7.5 s at 20/s). A third of the
children have a book-return credit, so orders take credit too. The CPU each process of the suite spent
during the rush is printed per order; BENCH_PYSPY=<dir> also records every process with py-spy
(``pip install py-spy``) during the rush and prints each one's top frames.

    .venv/bin/python bench/bench_orders.py      # BENCH_RATE=20 BENCH_SECONDS=30 BENCH_FAMILIES=150
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta

import common
from common import ROOT, expect, make_families, new_school, start_suite, stop_suite
from load import (
    LoadResult,
    ProcessCPU,
    Scenario,
    child_pids,
    open_loop,
    percentiles,
    probe,
    pyspy_record,
    pyspy_top,
    wrk_run,
)
from processes import postgres_pids

from tests.suite import PROCESSES

RATE = float(os.environ.get("BENCH_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
# one order per family with auth's seed command; through the API (slow) fewer families order in
# several periods
FAMILIES = int(os.environ.get("BENCH_FAMILIES", "600" if hasattr(common, "seed_families") else "150"))
# Production's pool (kit.settings: 10), not the test suite's 2 (chosen for two suites running at once).
DB_POOL = os.environ.get("BENCH_POOL_SIZE", "10")  # common.BenchSuite's
NICE = os.environ.get("BENCH_BACKGROUND_NICE", "10")  # common.BenchSuite's
ITEMS = 24
GOAL_P95_MS = 2000.0
COMMANDS = {
    svc: [c for c in cmds if c != "consume" or (ROOT / "services" / svc / "handlers.py").exists()]
    for svc, cmds in PROCESSES.items()
}
IBAN = "BE68 5390 0754 7034"


async def whole_order(client, arg) -> None:
    """One parent's whole order: summary, order (invoice and checkout URL), the invoice."""
    token, period, chosen = arg
    await client.request(
        "POST",
        f"/api/v1/order-periods/{period}/summary",
        token=token,
        json={"item_ids": chosen},
        step="summary",
    )
    placed = (
        await client.request(
            "POST",
            f"/api/v1/order-periods/{period}/orders",
            token=token,
            json={"item_ids": chosen, "confirm": True},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            step="order",
            expect=201,
        )
    ).json()
    if not placed.get("invoice_id") or not placed.get("checkout_url"):
        client.fail(f"order: no invoice or no checkout URL in {placed}")
    invoice = (
        await client.request("GET", f"/api/v1/invoices/{placed['invoice_id']}", token=token, step="invoice")
    ).json()
    if invoice.get("id") != placed["invoice_id"] or invoice.get("total_cents") != placed["grand_total_cents"]:
        client.fail(f"invoice: {invoice.get('id')} of {invoice.get('total_cents')} for the order {placed}")


def set_up(suite, n_orders: int) -> list[tuple[str, str, list[str]]]:
    """The school (orders paid online), the periods and their items, the families; one argument
    (token, period, item ids) per arrival."""
    staff = new_school(suite)
    expect(
        staff.put(
            "/admin/settings",
            json={
                "iban": IBAN,
                "bic": "BBRUBEBB",
                "beneficiary": "École du banc d'essai",
                "top_up_methods": ["online", "transfer"],
                "internal_wallet_payments": True,
                "online_payment_for_orders": True,
                "current_password": staff.password,
            },
        ),
        200,
    )
    now = datetime.now(UTC)
    periods: list[tuple[str, list[str]]] = []
    for p in range(max(1, math.ceil(n_orders / FAMILIES))):
        period = expect(
            staff.post(
                "/admin/order-periods",
                json={
                    "title": f"Manuels 2027 ({p + 1})",
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
            for i in range(ITEMS)
        ]
        periods.append((period, items))
    families = []  # (session token, student id)
    seed = getattr(common, "seed_families", None)  # auth's own seed command, when there
    if seed is not None:
        families = [
            (f["session_token"], f["student_id"]) for f in seed(suite, staff, min(FAMILIES, n_orders))
        ]
    else:
        for f in make_families(suite, staff, min(FAMILIES, n_orders), threads=4):
            families.append((f.session_token, f.active_child_id))
            f.http.close()
    for k, (_token, student_id) in enumerate(families):
        if k % 3 == 0:
            expect(
                staff.post(
                    "/admin/book-returns",
                    json={"student_id": student_id, "credit_cents": 700, "note": "Livres rendus"},
                ),
                201,
            )
    staff.http.close()
    args = []
    for i in range(n_orders):
        token, _student_id = families[i % len(families)]
        period, items = periods[(i // len(families)) % len(periods)]
        args.append((token, period, items[i % 5 : i % 5 + 8]))
    return args


def report(result: LoadResult, health_rps: float, health_lat: probe) -> None:
    p = result.percentiles()
    print(
        f"bench_orders: open loop, {RATE:g} whole orders/s arriving for {SECONDS:g} s "
        f"({result.flows} orders), gateway with gunicorn, PostgreSQL, DATABASE_POOL_SIZE={DB_POOL}, "
        f"BACKGROUND_NICE={NICE}, GATEWAY_SESSION_CACHE_SECONDS={common.SESSION_CACHE}, "
        f"{os.cpu_count()} CPUs"
    )
    print(result.summary_line("whole order (summary+order+invoice)"))
    for step in ("summary", "order", "invoice"):
        q = result.step_percentiles(step)
        print(
            f"  {step:<32} p50 {q['p50']:7.1f} ms   p95 {q['p95']:7.1f} ms   p99 {q['p99']:7.1f} ms   "
            f"n {len(result.steps.get(step, []))}"
        )
    print(
        f"  generator: CPU {result.cpu_share:.0%} of a core ({result.cpu_seconds:.1f} s over "
        f"{result.wall_seconds:.1f} s), {result.late} arrivals started late (> 10 ms), statuses "
        f"{dict(result.statuses)}"
    )
    hp = percentiles(health_lat.latencies)
    print(
        f"GET /healthz under wrk before the rush {health_rps:8.1f} req/s; during the rush p50 "
        f"{hp['p50']:.1f} ms, p95 {hp['p95']:.1f} ms ({len(health_lat.latencies)} probes)"
    )
    print(f"ratio orders/s : healthz req/s = {result.achieved_rate / health_rps if health_rps else 0:.3f}")
    verdict = "met" if p["p95"] <= GOAL_P95_MS and result.errors == 0 and result.dropped == 0 else "NOT met"
    print(
        f"goal p95 <= {GOAL_P95_MS:.0f} ms, 0 errors at {RATE:g}/s: measured p95 {p['p95']:.0f} ms, "
        f"{result.errors} errors -> {verdict}"
    )
    for e in result.error_samples[:5]:
        print("  error:", e)


def print_profiles(outdir: str) -> None:
    """The top frames of each profiled process (py-spy, on-CPU samples), the busiest first."""
    tops = []
    for name in os.listdir(outdir):
        total, top = pyspy_top(os.path.join(outdir, name), 8)
        tops.append((total, name[:-4], top))
    for total, name, top in sorted(tops, reverse=True)[:8]:
        print(f"py-spy {name}: {total} samples")
        for frame, incl, self_ in top:
            print(f"  {incl:5.1%} incl {self_:5.1%} self  {frame[:150]}")


def main() -> int:
    suite = start_suite(workers=int(os.environ.get("BENCH_GATEWAY_WORKERS", "4")))
    try:
        args = set_up(suite, max(1, round(RATE * SECONDS)))
        named = {
            f"{svc}-{cmd}": [p.pid]
            for svc, procs in suite.procs.items()
            for cmd, p in zip(COMMANDS[svc], procs, strict=True)
        }
        gunicorn = getattr(suite, "_gunicorn", None)
        if gunicorn is not None:
            named["gateway"] = child_pids(gunicorn.pid)
        named["postgres (all)"] = postgres_pids()
        health = wrk_run(suite.base_url + "/healthz", [], connections=16, seconds=5)
        spies = []
        if os.environ.get("BENCH_PYSPY"):
            single = {k: v[0] for k, v in named.items() if len(v) == 1}
            single.update({f"gateway-{i}": pid for i, pid in enumerate(named.get("gateway", []))})
            spies = pyspy_record(single, SECONDS, os.environ["BENCH_PYSPY"])
        with ProcessCPU(named) as cpu, probe(suite.base_url + "/healthz", interval=0.2) as health_lat:
            result = open_loop(
                Scenario(whole_order, args), RATE, SECONDS, base_url=suite.base_url, timeout=60
            )
        report(result, health.rps, health_lat)
        print(f"CPU per process during the rush ({result.ok} orders):")
        for ln in cpu.lines(per=max(result.ok, 1)):
            print(ln)
        for spy in spies:
            spy.wait(60)
        if spies:
            print_profiles(os.environ["BENCH_PYSPY"])
        return 1 if result.errors or result.dropped else 0
    finally:
        stop_suite(suite)


if __name__ == "__main__":
    sys.exit(main())
