"""What the server's processes spent during a run: CPU seconds per process (from /proc) and py-spy
profiles with their top frames."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter

# -- what the server's processes spent: CPU per process, py-spy profiles ---------------------------


def process_cpu_seconds(pid: int) -> float:
    """user + sys CPU seconds of a live process (its threads), from /proc/<pid>/stat; 0.0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (e.g. gunicorn's workers)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (the postmaster, its backends and helpers):
    what the database spends beside the services, the connections being pooled and kept."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(entry))
            except OSError:
                continue
    return out


class ProcessCPU:
    """CPU seconds each named process spends between ``start()`` and ``stop()`` (``with`` works):
    ``named`` maps a name to its pids (summed), e.g. {"orders-serve": [123], "gateway": workers}."""

    def __init__(self, named: dict[str, list[int]]) -> None:
        self.named = named
        self.spent: dict[str, float] = {}
        self._t0: dict[str, float] = {}
        self.wall = 0.0

    def _now(self) -> dict[str, float]:
        return {k: sum(process_cpu_seconds(p) for p in pids) for k, pids in self.named.items()}

    def __enter__(self) -> ProcessCPU:
        self._t0 = self._now()
        self._w0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        now = self._now()
        self.wall = time.perf_counter() - self._w0
        self.spent = {k: now[k] - self._t0[k] for k in self.named}

    def lines(self, per: int = 0, unit: str = "order") -> list[str]:
        """One line per process, the busiest first: CPU seconds, share of a core, and ms per unit."""
        total = sum(self.spent.values()) or 1e-9
        out = []
        for k, v in sorted(self.spent.items(), key=lambda kv: -kv[1]):
            if v <= 0:
                continue
            each = f"   {v * 1000 / per:6.1f} ms/{unit}" if per else ""
            share = v / self.wall if self.wall else 0.0
            out.append(f"  {k:<24} {v:6.2f} s CPU   {share:5.0%} of a core   {v / total:5.1%}{each}")
        return out


def pyspy_record(named: dict[str, int], seconds: float, outdir: str, rate: int = 25) -> list:
    """``py-spy record`` (raw collapsed stacks, on-CPU samples only, not pausing the process) of
    each named pid for ``seconds``, into ``outdir/<name>.txt``; the py-spy processes (``wait()``
    them). Needs ``pip install py-spy`` and ptrace rights (root)."""
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    os.makedirs(outdir, exist_ok=True)
    procs = []
    for name, pid in named.items():
        cmd = [exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", str(rate)]
        cmd += ["-f", "raw", "--nonblocking", "-o", os.path.join(outdir, f"{name}.txt")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def pyspy_top(path: str, n: int = 12) -> tuple[int, list[tuple[str, float, float]]]:
    """From a py-spy raw file: the samples, and the ``n`` frames with the most samples inclusive
    (frame, share of samples inclusive, share as the innermost frame)."""
    total = 0
    incl: Counter = Counter()
    leaf: Counter = Counter()
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            c = int(count)
            total += c
            frames = stack.split(";")
            leaf[frames[-1]] += c
            for fr in set(frames):
                incl[fr] += c
    skip = ("<module>", "run (", "_bootstrap", "serve_forever", "_worker (", "process_request_thread")
    # the plumbing every sample passes through (threads, the gRPC server's and gunicorn's loops)
    plumbing = ("(threading.py", "(concurrent/futures/", "(grpc/_server.py", "(gunicorn/", "(flask/app.py")
    top = [
        (fr, v / total, leaf[fr] / total)
        for fr, v in incl.most_common()
        if not fr.startswith(skip) and not any(p in fr for p in plumbing)
    ]
    return total, top[:n] if total else []
