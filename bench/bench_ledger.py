"""Ledger movements per second on PostgreSQL with 8 concurrent writers, beside pgbench's TPC-B-like
transactions per second measured on the same server in the same run.

A movement is one finance use case as the service runs it, in one transaction: the idempotency key
checked and stored, the wallet row locked (SELECT ... FOR UPDATE), the balanced ledger transaction
and its postings written, the cached balance moved, the payment or sale row and its outbox event
written. Writers alternate cash top-ups and sales on wallets drawn at random among many (little
contention), then all hit one wallet (every movement waits for the previous one's lock). Each phase
ends by checking that the ledger sums to zero and every balance equals its postings.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_ledger.py

A third phase splits the 8 writers over BENCH_PROCESSES processes (2: the service's workers or
replicas; threads of one Python process share its interpreter lock, and a movement costs several
milliseconds of Python CPU). The statements of one top-up and one sale are counted first (a
``before_cursor_execute`` listener; BENCH_SHOW_SQL=1 lists them).

Settings: BENCH_SECONDS (per phase, default 15), BENCH_WRITERS (8), BENCH_WALLETS (64),
BENCH_PGBENCH_SCALE (8), BENCH_PROCESSES (2). Scratch databases are created and dropped.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from sqlalchemy import event, select  # noqa: E402

from cartable.finance.v1 import finance_pb2 as pb  # noqa: E402
from kit import migrations  # noqa: E402
from kit.errors import Conflict  # noqa: E402
from kit.identity import Identity  # noqa: E402
from kit.service import bootstrap  # noqa: E402
from kit.testing import Keys, create_pg_database, drop_pg_database, test_settings  # noqa: E402
from services.finance.app import spec  # noqa: E402
from services.finance.db import ledger_sums, wallets  # noqa: E402
from services.finance.use_cases.operations import Operations  # noqa: E402
from services.finance.use_cases.settings import PaymentSettings  # noqa: E402
from services.finance.use_cases.wallets import Wallets  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WRITERS = int(os.environ.get("BENCH_WRITERS", "8"))
WALLETS = int(os.environ.get("BENCH_WALLETS", "64"))
PGBENCH_SCALE = int(os.environ.get("BENCH_PGBENCH_SCALE", "8"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
SCHOOL = str(uuid.uuid4())
# re-authenticated: setting the first IBAN asks for it (issue #15)
STAFF = Identity(
    account_id=str(uuid.uuid4()), role="staff", school_id=SCHOOL, reauthenticated_at=int(time.time())
)


class StatementCounter:
    """SQL statements the engine sends (a ``before_cursor_execute`` listener): an executemany counts once,
    BEGIN and COMMIT are not statements SQLAlchemy sends through a cursor and are not counted."""

    def __init__(self, engine) -> None:
        self.count = 0
        self.texts: dict[str, int] = {}
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:
        with self._lock:
            self.count += 1
            head = " ".join(statement.split())[:70]
            self.texts[head] = self.texts.get(head, 0) + 1


def statements_per_movement(
    counter: StatementCounter, operations: Operations, wallet_id: str, student_id: str
):
    """SQL statements of one top-up and one sale, run alone (BEGIN and COMMIT besides)."""
    out = []
    for kind in ("top-up", "sale"):
        counter.count, counter.texts = 0, {}
        if kind == "top-up":
            operations.record_top_up(
                STAFF,
                pb.RecordTopUpRequest(
                    wallet_id=wallet_id, amount_cents=500, method="cash", idempotency_key=uuid.uuid4().hex
                ),
            )
        else:
            operations.record_sale(
                STAFF,
                pb.RecordSaleRequest(
                    student_id=student_id,
                    wallet_id=wallet_id,
                    idempotency_key=uuid.uuid4().hex,
                    lines=[pb.SaleLineInput(label="Repas chaud", quantity=1, unit_price_cents=395)],
                ),
            )
        out.append((kind, counter.count, dict(counter.texts)))
    return out


def set_up(rt) -> list[str]:
    operations = Operations(rt)
    PaymentSettings(rt).update_settings(
        STAFF,
        pb.UpdateSettingsRequest(
            settings=pb.Settings(
                iban="BE68539007547034", beneficiary="École du banc d'essai", internal_wallet_payments=True
            )
        ),
    )
    Wallets(rt).create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name="Repas"))
    ids = []
    for _ in range(WALLETS):
        opened = Wallets(rt).open_student_wallets(
            STAFF, pb.OpenStudentWalletsRequest(student_id=str(uuid.uuid4()), level="primary")
        )
        ids.append(opened.wallets[0].id)
        # enough that sales are booked, not refused for the balance
        operations.record_top_up(
            STAFF, pb.RecordTopUpRequest(wallet_id=ids[-1], amount_cents=1_000_000, method="cash")
        )
    return ids


def writers(
    operations: Operations, wallet_ids: list[str], students: dict[str, str], seconds: float, threads: int = 0
):
    """``threads`` (WRITERS) threads moving money for ``seconds``: (movements, refused, latencies, elapsed)."""
    threads = threads or WRITERS
    latencies: list[float] = []
    counts = {"done": 0, "refused": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def run(seed: int) -> None:
        rnd = random.Random(seed)
        mine: list[float] = []
        done = refused = 0
        barrier.wait()
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            wallet_id = rnd.choice(wallet_ids)
            t0 = time.perf_counter()
            try:
                if rnd.random() < 0.5:
                    operations.record_top_up(
                        STAFF,
                        pb.RecordTopUpRequest(
                            wallet_id=wallet_id,
                            amount_cents=500,
                            method="cash",
                            idempotency_key=uuid.uuid4().hex,
                        ),
                    )
                else:
                    operations.record_sale(
                        STAFF,
                        pb.RecordSaleRequest(
                            student_id=students[wallet_id],
                            wallet_id=wallet_id,
                            idempotency_key=uuid.uuid4().hex,
                            lines=[pb.SaleLineInput(label="Repas chaud", quantity=1, unit_price_cents=395)],
                        ),
                    )
                done += 1
            except Conflict:  # insufficient_balance: a refused sale moves nothing
                refused += 1
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            counts["done"] += done
            counts["refused"] += refused

    running = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in running:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in running:
        t.join()
    return counts["done"], counts["refused"], latencies, time.perf_counter() - started


def _process_writers(url, keys_dir, staff, threads, wallet_ids, students, seconds, barrier, results) -> None:
    """One writer process (a second finance worker): its own runtime and pool, ``threads`` writers,
    as the parent's staff member (this module's globals are drawn anew in a spawned process)."""
    global SCHOOL, STAFF
    SCHOOL, STAFF = staff.school_id, staff
    rt = bootstrap(spec(), test_settings("finance", url, Keys(Path(keys_dir)), None))
    try:
        barrier.wait()
        results.put(writers(Operations(rt), wallet_ids, students, seconds, threads=threads))
    finally:
        rt.db.dispose()


def process_writers(
    url: str, keys_dir: Path, wallet_ids: list[str], students: dict[str, str], seconds: float
):
    """WRITERS writers split over PROCESSES processes (as the service runs with several workers or
    replicas: Python threads of one process share one interpreter lock): (movements, refused,
    latencies, elapsed)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    threads = max(1, WRITERS // PROCESSES)
    procs = [
        ctx.Process(
            target=_process_writers,
            args=(url, str(keys_dir), STAFF, threads, wallet_ids, students, seconds, barrier, results),
        )
        for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return (
        sum(g[0] for g in got),
        sum(g[1] for g in got),
        [x for g in got for x in g[2]],
        max(g[3] for g in got),
    )


def check_invariants(rt) -> None:
    with rt.db.unit_of_work() as s:
        sums = ledger_sums(s, SCHOOL)
        assert sum(sums.values()) == 0, "the ledger does not sum to zero"
        for wallet_id, balance in s.execute(select(wallets.c.id, wallets.c.balance_cents)):
            assert balance == sums.get(f"wallet:{wallet_id}", 0) and balance >= 0, wallet_id


def pgbench(admin_url: str, seconds: float) -> float:
    """pgbench's default TPC-B-like script, WRITERS clients, on a scratch database of the same server."""
    name = f"cartable_bench_pgbench_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name).replace("postgresql+psycopg://", "postgresql://")
    try:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(PGBENCH_SCALE), url], check=True, capture_output=True
        )
        out = subprocess.run(
            ["pgbench", "-c", str(WRITERS), "-j", str(WRITERS), "-T", str(int(seconds)), url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        drop_pg_database(name)
    found = re.search(r"tps = ([0-9.]+)", out)
    if not found:
        raise RuntimeError(f"no tps in pgbench's output:\n{out}")
    return float(found.group(1))


def report(label: str, done: int, refused: int, lat: list[float], elapsed: float) -> float:
    rate = done / elapsed  # booked movements only
    qs = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [0.0] * 99
    print(
        f"  {label:<38} {rate:8.1f} movements/s   p50 {qs[49] * 1000:6.1f} ms   p95 {qs[94] * 1000:6.1f} ms"
        f"   ({done} booked, {refused} refused for balance)",
        flush=True,
    )
    return rate


def main() -> int:
    admin = os.environ["TEST_DATABASE_URL"]
    name = f"cartable_bench_ledger_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name)
    tmp = Path(tempfile.mkdtemp(prefix="cartable-bench-ledger-"))
    rt = None
    try:
        migrations.upgrade(spec().migrations_dir, url)
        rt = bootstrap(spec(), test_settings("finance", url, Keys(tmp), None))
        operations = Operations(rt)
        wallet_ids = set_up(rt)
        with rt.db.unit_of_work() as s:
            students = dict(s.execute(select(wallets.c.id, wallets.c.student_id)).all())
        counter = StatementCounter(rt.db.engine)
        per_movement = statements_per_movement(counter, operations, wallet_ids[0], students[wallet_ids[0]])
        print(
            f"bench_ledger: PostgreSQL {admin.rsplit('@', 1)[-1]}, {WRITERS} writer threads, {SECONDS:.0f} s per "
            f"phase, {os.cpu_count()} CPUs shared with the database"
        )
        for kind, count, texts in per_movement:
            print(f"  SQL statements per {kind}: {count} (besides BEGIN and COMMIT)")
            if os.environ.get("BENCH_SHOW_SQL"):
                for head, n in texts.items():
                    print(f"      {n} x {head}")
        spread = report(f"ledger, {WALLETS} wallets", *writers(operations, wallet_ids, students, SECONDS))
        check_invariants(rt)
        hot = report("ledger, one hot wallet", *writers(operations, wallet_ids[:1], students, SECONDS))
        check_invariants(rt)
        split = report(
            f"ledger, {WALLETS} wallets, {PROCESSES} processes",
            *process_writers(url, tmp, wallet_ids, students, SECONDS),
        )
        check_invariants(rt)
        tps = pgbench(admin, SECONDS)
        print(
            f"  {f'pgbench TPC-B-like, scale {PGBENCH_SCALE}, {WRITERS} clients':<38} {tps:8.1f} tps",
            flush=True,
        )
        print(
            f"  ratio ledger/pgbench: {spread / tps:.2f} ({WALLETS} wallets, {WRITERS} threads of one process, "
            f"goal >= 0.25), {hot / tps:.2f} (one hot wallet), {split / tps:.2f} ({WRITERS} writers in "
            f"{PROCESSES} processes)"
        )
        print(
            "  invariants after each phase: ledger sums to zero, every balance equals its postings, none negative"
        )
    finally:
        if rt is not None:
            rt.db.dispose()
        drop_pg_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
