"""The parent dashboard's capacity on this machine (issue #20), beside GET /healthz in the same run.

The whole suite runs on PostgreSQL under gunicorn; the families come from auth's own
``seed-families`` command (each parent signed in once). Then, each printed with its goal:

1. capacity: Debian's ``wrk`` (a C load generator, its own CPU share printed) on GET /healthz, then
   on GET /api/v1/dashboard with the families' bearer tokens, round robin: the ratio of the two
   throughputs (goal >= 0.25);
2. latency at half that capacity: an open-loop arrival process (bench/load.py, a separate process:
   arrivals at a fixed rate whatever the latency, measured from their scheduled instant) at half the
   dashboard's measured throughput: p99 (goal <= 250 ms);
3. where the CPU goes: each process's CPU per dashboard call during the capacity run;
4. finance on two replicas (ops scale finance on its own): a second finance server on the same
   database, the gateway's finance target listing both (round robin), the same capacity run; each
   replica's share of finance's CPU;
5. finance stopped: its panels ``unavailable``, the dashboard still answering in time.

    .venv/bin/python bench/bench_dashboard.py       # BENCH_FAMILIES=500, BENCH_SECONDS=15

Settings: BENCH_FAMILIES, BENCH_SECONDS (each run), BENCH_CONNECTIONS (wrk, 16),
BENCH_GATEWAY_WORKERS (2: one per core), BENCH_PROFILE=1 (py-spy on every server process during
the capacity run; the top frames printed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import common
from common import new_school, seed_families, start_suite, stop_suite
from load import ProcessCPU, Request, child_pids, open_loop, pyspy_record, pyspy_top, wrk_run
from processes import postgres_pids

FAMILIES = int(os.environ.get("BENCH_FAMILIES", "500"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_GATEWAY_WORKERS", "2"))
PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"
GOAL_RATIO = 0.25
GOAL_P99_MS = 250.0


def server_processes(suite, gunicorn) -> dict[str, list[int]]:
    """name -> pids: every service's processes, and the gateway's workers."""
    named = {f"{svc}-{p.args[-1]}": [p.pid] for svc, procs in suite.procs.items() for p in procs}
    named["gateway"] = child_pids(gunicorn.pid)
    named["postgres (all)"] = postgres_pids()
    return named


def capacity(base: str, tokens: list[str], named: dict[str, list[int]], label: str):
    with ProcessCPU(named) as cpu:
        run = wrk_run(base + "/api/v1/dashboard", tokens, CONNECTIONS, SECONDS)
    print(run.summary_line(label))
    return run, cpu


def start_gateway(suite, finance_target: str) -> tuple[subprocess.Popen, str]:
    """Another gunicorn gateway on its own port whose finance target is ``finance_target``."""
    from kit.testing import wait_for
    from tests.suite import free_port

    port = free_port()
    env = suite.env()
    env.update(
        GATEWAY_BIND=f"127.0.0.1:{port}", GATEWAY_WORKERS=str(WORKERS), FINANCE_GRPC_TARGET=finance_target
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    log = open(suite.logs / "gateway-replicas.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [gunicorn, "-c", "gateway/gunicorn_conf.py", "gateway:create_app()"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:  # noqa: S310 - local
                return r.status == 200
        except OSError:
            return False

    wait_for(up, 60, interval=0.2, what="the second gateway")
    return proc, base


def main() -> int:
    suite = start_suite(workers=WORKERS)
    extra = None
    try:
        staff = new_school(suite)
        tokens = [f["session_token"] for f in seed_families(suite, staff, FAMILIES)]
        base = suite.base_url
        named = server_processes(suite, suite._gunicorn)
        print(
            f"bench_dashboard: {FAMILIES} families, wrk {CONNECTIONS} connections, {SECONDS:.0f} s a run, "
            f"gunicorn {WORKERS} workers, PostgreSQL, {os.cpu_count()} cores, "
            f"GATEWAY_SESSION_CACHE_SECONDS={common.SESSION_CACHE}"
        )
        health = wrk_run(base + "/healthz", [], CONNECTIONS, SECONDS)
        print(health.summary_line("GET /healthz"))
        profiles = tempfile.mkdtemp(prefix="bench-dashboard-pyspy-")
        spies = []
        if PROFILE:
            spies = pyspy_record(
                {k: v[0] for k, v in named.items() if k.endswith("serve") or k == "gateway"},
                SECONDS,
                profiles,
            )
        dash, cpu = capacity(base, tokens, named, "GET /api/v1/dashboard")
        for spy in spies:
            spy.wait()
        ratio = dash.rps / health.rps if health.rps else 0.0
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        print(f"ratio dashboard / healthz throughput: {ratio:.3f}   (goal >= {GOAL_RATIO}: {verdict})")
        print(f"  CPU per dashboard call (wrk itself: {dash.cpu_share:.0%} of a core):")
        for line in cpu.lines(per=dash.requests, unit="call")[:10]:
            print(line)
        if PROFILE:
            for name in sorted(os.listdir(profiles)):
                total, top = pyspy_top(os.path.join(profiles, name), n=8)
                print(f"  py-spy {name} ({total} samples), inclusive / own:")
                for frame, incl, own in top:
                    print(f"    {incl:5.0%} {own:5.0%}  {frame[:110]}")

        half = max(1.0, dash.rps / 2)
        requests = [Request("GET", "/api/v1/dashboard", token=t) for t in tokens]
        result = open_loop(requests, half, SECONDS, base_url=base)
        print(result.summary_line(f"open loop at {half:.0f}/s (half capacity)"))
        p99 = result.percentiles()["p99"]
        verdict = "met" if p99 <= GOAL_P99_MS and result.errors == 0 else "NOT met"
        print(
            f"p99 at half capacity: {p99:.0f} ms, errors {result.errors}   (goal <= {GOAL_P99_MS:.0f} ms: {verdict})"
        )

        # finance on two replicas: a second server over the same database, a gateway asking both
        from tests.suite import free_port, wait_serving

        port, metrics = free_port(), free_port()
        suite.start_instance("finance", port, metrics, "finance-replica")
        wait_serving(port)
        extra, extra_base = start_gateway(suite, f"ipv4:127.0.0.1:{suite.ports['finance']},127.0.0.1:{port}")
        named2 = {k: v for k, v in named.items() if k != "gateway"}
        named2["finance-serve-2"] = [suite.procs["finance-replica"][0].pid]
        named2["gateway"] = child_pids(extra.pid)
        two, cpu2 = capacity(extra_base, tokens, named2, "GET /api/v1/dashboard, 2 finances")
        one_share = cpu2.spent.get("finance-serve", 0.0)
        two_share = cpu2.spent.get("finance-serve-2", 0.0)
        both = one_share + two_share
        print(
            f"  finance's CPU over its replicas: {one_share / both if both else 0:.0%} / "
            f"{two_share / both if both else 0:.0%} (goal: shared, each about half); throughput "
            f"{two.rps / dash.rps if dash.rps else 0:.2f}x one finance on {os.cpu_count()} cores"
        )

        suite.stop_service("finance")
        suite.stop_service("finance-replica")
        down = wrk_run(base + "/api/v1/dashboard", tokens, CONNECTIONS, SECONDS / 2)
        print(down.summary_line("GET /api/v1/dashboard, finance down"))
        return 0
    finally:
        if extra is not None:
            extra.terminate()
            extra.wait(15)
        stop_suite(suite)


if __name__ == "__main__":
    raise SystemExit(main())
