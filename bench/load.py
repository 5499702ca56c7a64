"""A load generator for the HTTP benches that is not the bottleneck: an open-loop arrival process in
a separate process (asyncio, a small HTTP/1.1 client with keep-alive), and Debian's ``wrk`` driven
with a Lua script for bearer tokens. Both report their own CPU share, so a run shows whether the
generator, not the server, set the pace.

Open loop (``open_loop``)
    Arrivals are scheduled at a fixed rate whatever the latency: evenly spaced (``arrival="uniform"``,
    the default) or a Poisson process (``arrival="poisson"``). Each arrival starts at once, however
    many are still in flight (up to ``max_in_flight``; one over that is counted as ``dropped``, never
    delayed), and its latency runs from its *scheduled* instant to its end, so a generator that falls
    behind cannot hide the server's queueing (no coordinated omission): ``late`` counts arrivals that
    started more than 10 ms after their instant.

    What an arrival does is either

    - one ``Request`` (method, path, bearer ``token``, optional ``json`` body and ``headers``, the
      status ``expect``-ed); ``requests`` a list of them: arrival i sends ``requests[i % len]``;
    - or a ``Scenario(flow, args)``: a user flow of dependent requests, measured end to end. ``flow``
      is a module-level ``async def flow(client, arg)`` (it crosses to the generator process by
      name, so it must be importable: a bench script's own functions are, under ``if __name__ ==
      "__main__"``); arrival i calls it with ``args[i % len(args)]``. Inside, ``await
      client.request(method, path, token=..., json=..., headers=..., step="order", expect=201)``
      answers a ``Response`` (``status``, ``headers``, ``body``, ``json()``) and records the step's
      latency under ``step``; a status other than ``expect`` (or a network error) raises
      ``LoadError`` and fails the flow (``expect=None`` accepts any status); ``client.fail(msg)``
      fails it for another reason (e.g. a missing field).

    ``open_loop(requests, rate, seconds, base_url=..., arrival=..., timeout=..., seed=...,
    max_in_flight=..., pin_cpu=...)`` answers a ``LoadResult``:

    - ``flows`` the arrivals that ran, ``ok`` those that succeeded, ``errors`` the failures' count
      and ``error_samples`` (the first 20 messages), ``statuses`` a Counter of every response status
      (``"error"`` for a network error), ``dropped`` and ``late``;
    - ``latencies`` (seconds, the successful flows, scheduled instant to end) and ``steps`` (step
      name -> seconds, every response of that step);
    - ``wall_seconds`` (first arrival to the last flow's end), ``offered_rate``, ``achieved_rate``
      (successful flows per second of wall time);
    - ``cpu_seconds`` (user + sys of the generator process during the run, ``resource.getrusage``)
      and ``cpu_share`` (``cpu_seconds / wall_seconds``: 1.0 is one core busy);
    - ``percentiles()`` and ``step_percentiles(step)``: ``{"p50", "p95", "p99"}`` in milliseconds;
      ``summary_line(label)``, a one-line report.

    ``probe`` runs a closed-loop ``GET`` (e.g. /healthz; at most one per ``interval`` seconds) in
    the caller's process beside a run, for /healthz's latency during the run.

wrk (``wrk_run``, bench/wrk.py; CPU per process and py-spy: bench/processes.py; all exported here)
    ``wrk_run(url, tokens, connections, seconds, threads=2, timeout="10s")`` runs ``wrk --latency``
    with a Lua script that sends ``Authorization: Bearer <token>`` drawn from ``tokens`` (round robin
    per connection thread, none when ``tokens`` is empty) and answers a ``WrkResult``: ``requests``,
    ``seconds``, ``rps``, ``p50/p75/p90/p99`` and, from the script's ``done`` hook, ``p95`` and
    ``max`` (milliseconds), ``errors`` (socket errors + non-2xx/3xx), ``cpu_seconds`` and
    ``cpu_share`` of the wrk process (``os.wait4``'s rusage), and ``text`` (its output).
    ``ensure_wrk()`` installs Debian's wrk when root, or says how to.

Pure helpers with unit tests (bench/tests/test_load.py): ``percentile``, ``percentiles``,
``parse_wrk``, ``parse_duration_ms``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import multiprocessing
import os
import random
import resource
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LATE_SECONDS = 0.010
MAX_ERROR_SAMPLES = 20


# -- percentile math -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks (as numpy's
    default and ``statistics.quantiles(method="inclusive")``); 0.0 for no samples."""
    if not samples:
        return 0.0
    xs = sorted(samples)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * min(max(q, 0.0), 100.0) / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def percentiles(samples_seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 of latencies in seconds, in milliseconds."""
    xs = sorted(samples_seconds)
    return {k: percentile(xs, q) * 1000.0 for k, q in (("p50", 50), ("p95", 95), ("p99", 99))}


# -- requests, scenarios, results ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    token: str | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    expect: int | None = 200
    step: str = "request"


@dataclass(frozen=True)
class Scenario:
    flow: Callable[[Any, Any], Awaitable[None]]
    args: Sequence[Any]


@dataclass
class LoadResult:
    rate: float
    seconds: float
    flows: int = 0
    ok: int = 0
    errors: int = 0
    dropped: int = 0
    late: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)

    @property
    def offered_rate(self) -> float:
        return self.rate

    @property
    def achieved_rate(self) -> float:
        return self.ok / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    def percentiles(self) -> dict[str, float]:
        return percentiles(self.latencies)

    def step_percentiles(self, step: str) -> dict[str, float]:
        return percentiles(self.steps.get(step, []))

    def summary_line(self, label: str) -> str:
        p = self.percentiles()
        return (
            f"{label:<34} {self.achieved_rate:7.1f}/s of {self.rate:g}/s offered   p50 {p['p50']:7.1f} ms   "
            f"p95 {p['p95']:7.1f} ms   p99 {p['p99']:7.1f} ms   errors {self.errors}   dropped {self.dropped}"
        )


class LoadError(Exception):
    pass


# -- a small asyncio HTTP/1.1 client (keep-alive, Content-Length and chunked bodies) ---------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.used = reader, writer, False

    def close(self) -> None:
        self.writer.close()


async def _read_response(conn: _Conn) -> tuple[Response, bool]:
    """The response and whether the connection may be reused."""
    line = await conn.reader.readline()
    if not line:
        raise ConnectionResetError("the server closed the connection")
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        h = await conn.reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await conn.reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await conn.reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(await conn.reader.readexactly(size))
            await conn.reader.readexactly(2)
        body = b"".join(chunks)
        reusable = True
    elif "content-length" in headers:
        body = await conn.reader.readexactly(int(headers["content-length"]))
        reusable = True
    else:
        body = await conn.reader.read()
        reusable = False
    if headers.get("connection", "").lower() == "close":
        reusable = False
    return Response(status, headers, body), reusable


class Client:
    """What a flow calls: requests to ``base_url`` over a pool of keep-alive connections, each
    step's latency recorded."""

    def __init__(self, base_url: str, timeout: float, result: LoadResult) -> None:
        u = urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.prefix = u.path.rstrip("/")
        self.hostport = f"{self.host}:{self.port}"
        self.timeout = timeout
        self.result = result
        self.idle: list[_Conn] = []

    async def _conn(self) -> _Conn:
        if self.idle:
            return self.idle.pop()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Conn(reader, writer)

    async def _send(self, raw: bytes) -> Response:
        for attempt in (0, 1):
            conn = await self._conn()
            reused = conn.used
            try:
                conn.writer.write(raw)
                await conn.writer.drain()
                resp, reusable = await _read_response(conn)
            except (ConnectionError, asyncio.IncompleteReadError):
                conn.close()
                # a kept-alive connection the server closed meanwhile: once more on a fresh one
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            conn.used = True
            if reusable:
                self.idle.append(conn)
            else:
                conn.close()
            return resp
        raise AssertionError("unreachable")

    def fail(self, message: str) -> None:
        raise LoadError(message)

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        step: str = "request",
        expect: int | None = 200,
    ) -> Response:
        body = b"" if json is None else jsonlib.dumps(json).encode()
        lines = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self.hostport}"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if json is not None:
            lines.append("Content-Type: application/json")
        if body or method not in ("GET", "HEAD", "DELETE"):
            lines.append(f"Content-Length: {len(body)}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        t0 = time.perf_counter()
        try:
            resp = await asyncio.wait_for(self._send(raw), self.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.result.statuses["error"] += 1
            raise LoadError(f"{step}: {type(exc).__name__} {exc}") from None
        self.result.steps.setdefault(step, []).append(time.perf_counter() - t0)
        self.result.statuses[resp.status] += 1
        if expect is not None and resp.status != expect:
            raise LoadError(f"{step}: {resp.status} (expected {expect}) {resp.body[:200]!r}")
        return resp


async def _one_request(client: Client, req: Request) -> None:
    await client.request(
        req.method,
        req.path,
        token=req.token,
        json=req.json,
        headers=req.headers,
        step=req.step,
        expect=req.expect,
    )


# -- the open loop, in its own process -------------------------------------------------------------


async def _run(spec: dict[str, Any]) -> LoadResult:
    result = LoadResult(rate=spec["rate"], seconds=spec["seconds"])
    client = Client(spec["base_url"], spec["timeout"], result)
    work: Any = spec["work"]
    rnd = random.Random(spec["seed"])
    n = max(1, round(spec["rate"] * spec["seconds"]))
    in_flight: set[asyncio.Task] = set()

    async def arrival(i: int, scheduled: float) -> None:
        try:
            if isinstance(work, Scenario):
                await work.flow(client, work.args[i % len(work.args)])
            else:
                await _one_request(client, work[i % len(work)])
        except LoadError as exc:
            result.errors += 1
            if len(result.error_samples) < MAX_ERROR_SAMPLES:
                result.error_samples.append(str(exc)[:300])
        except Exception as exc:  # noqa: BLE001 - a flow's own bug fails that flow, not the run
            result.errors += 1
            if len(result.error_samples) < MAX_ERROR_SAMPLES:
                result.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
        else:
            result.ok += 1
            result.latencies.append(time.perf_counter() - scheduled)

    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    offset = 0.0
    for i in range(n):
        scheduled = start + offset
        offset += rnd.expovariate(spec["rate"]) if spec["arrival"] == "poisson" else 1.0 / spec["rate"]
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - scheduled > LATE_SECONDS:
            result.late += 1
        if len(in_flight) >= spec["max_in_flight"]:
            result.dropped += 1
            continue
        result.flows += 1
        task = asyncio.create_task(arrival(i, scheduled))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    while in_flight:
        await asyncio.gather(*list(in_flight), return_exceptions=True)
    result.wall_seconds = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    for conn in client.idle:
        conn.close()
    return result


def _child(spec: dict[str, Any], conn) -> None:
    if spec.get("pin_cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["pin_cpu"]})
    try:
        conn.send(("ok", asyncio.run(_run(spec))))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def open_loop(
    requests: Sequence[Request] | Scenario,
    rate: float,
    seconds: float,
    *,
    base_url: str,
    arrival: str = "uniform",
    timeout: float = 30.0,
    seed: int = 0,
    max_in_flight: int = 10_000,
    pin_cpu: int | None = None,
) -> LoadResult:
    """``rate`` arrivals per second for ``seconds`` (see the module's docstring), run in a spawned
    process; blocks until every arrival has ended."""
    if arrival not in ("uniform", "poisson"):
        raise ValueError("arrival is uniform or poisson")
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be positive")
    if not isinstance(requests, Scenario) and not requests:
        raise ValueError("no request to send")
    spec = {
        "work": requests if isinstance(requests, Scenario) else list(requests),
        "rate": float(rate),
        "seconds": float(seconds),
        "base_url": base_url,
        "arrival": arrival,
        "timeout": timeout,
        "seed": seed,
        "max_in_flight": max_in_flight,
        "pin_cpu": pin_cpu,
    }
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, child), name="bench-open-loop", daemon=True)
    proc.start()
    child.close()
    try:
        kind, value = parent.recv()
    except EOFError:
        raise RuntimeError(f"the load generator died (exit code {proc.exitcode})") from None
    finally:
        proc.join(30)
    if kind != "ok":
        raise RuntimeError(f"the load generator failed: {value}")
    return value


class probe:
    """A ``GET url`` in a thread of the caller while a run goes on (``with probe(url) as p: ...``),
    closed loop, at most one per ``interval`` seconds (0: back to back, which takes server CPU from
    the run); then ``p.latencies``, ``p.errors``, ``p.rate`` (responses per second)."""

    def __init__(self, url: str, timeout: float = 30.0, interval: float = 0.0) -> None:
        self.interval = interval
        if not url.startswith(("http://", "https://")):
            raise ValueError("probe an http(s) URL")
        self.url, self.timeout = url, timeout
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = self._t1 = 0.0

    def _loop(self) -> None:
        import urllib.request

        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as r:  # noqa: S310 - http(s) only
                    r.read()
                    ok = r.status == 200
            except OSError:
                ok = False
            self.latencies.append(time.perf_counter() - t0)
            self.errors += 0 if ok else 1
            if self.interval:
                self._stop.wait(max(0.0, self.interval - (time.perf_counter() - t0)))

    def __enter__(self) -> probe:
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 1)
        self._t1 = time.perf_counter()

    @property
    def rate(self) -> float:
        return len(self.latencies) / (self._t1 - self._t0) if self._t1 > self._t0 else 0.0


# wrk, and what the processes spent: in their own modules, exported from here too.
from processes import ProcessCPU, child_pids, process_cpu_seconds, pyspy_record, pyspy_top  # noqa: E402
from wrk import WrkResult, ensure_wrk, lua_script, parse_duration_ms, parse_wrk, wrk_run  # noqa: E402

__all__ = [
    "Client",
    "LoadError",
    "LoadResult",
    "ProcessCPU",
    "Request",
    "Response",
    "Scenario",
    "WrkResult",
    "child_pids",
    "ensure_wrk",
    "lua_script",
    "open_loop",
    "parse_duration_ms",
    "parse_wrk",
    "percentile",
    "percentiles",
    "probe",
    "process_cpu_seconds",
    "pyspy_record",
    "pyspy_top",
    "wrk_run",
]
