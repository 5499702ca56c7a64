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

wrk (``wrk_run``)
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
import re
import resource
import shutil
import subprocess
import sys
import tempfile
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


# -- wrk -------------------------------------------------------------------------------------------

WRK_INSTALL = "apt-get install -y wrk"

_LUA = r"""
local tokens = {%(tokens)s}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = (id or 0) * 7919
end

function request()
  counter = counter + 1
  if #tokens == 0 then
    return wrk.format(nil, nil, nil)
  end
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[(counter %% #tokens) + 1]})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%%d,\"duration_us\":%%d,\"p50_us\":%%d,\"p95_us\":%%d,\"p99_us\":%%d,"
    .. "\"max_us\":%%d,\"connect\":%%d,\"read\":%%d,\"write\":%%d,\"status\":%%d,\"timeout\":%%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_duration_ms(text: str) -> float:
    """wrk's ``1.23ms``, ``456.00us``, ``2.01s``, ``1.50m`` in milliseconds."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50: float = 0.0
    p75: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    errors: int = 0
    non_2xx: int = 0
    cpu_seconds: float = 0.0
    text: str = ""

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    def summary_line(self, label: str) -> str:
        return (
            f"{label:<34} {self.rps:8.1f} req/s   p50 {self.p50:7.1f} ms   p95 {self.p95:7.1f} ms   "
            f"p99 {self.p99:7.1f} ms   errors {self.errors}   wrk CPU {self.cpu_share:.0%}"
        )


def parse_wrk(text: str) -> WrkResult:
    """wrk's ``--latency`` output (and the WRK_JSON line of this module's Lua ``done``, when there)."""
    out = WrkResult(text=text)
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text)
    if m:
        out.requests = int(m.group(1))
        out.seconds = parse_duration_ms(m.group(2) + m.group(3)) / 1000.0
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        out.rps = float(m.group(1))
    dist = text.split("Latency Distribution", 1)[1] if "Latency Distribution" in text else ""
    for q, name in (("50", "p50"), ("75", "p75"), ("90", "p90"), ("99", "p99")):
        m = re.search(rf"^\s*{q}(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m|h))", dist, re.M)
        if m:
            setattr(out, name, parse_duration_ms(m.group(1)))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(g) for g in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out.non_2xx = int(m.group(1)) if m else 0
    out.errors = socket_errors + out.non_2xx
    m = re.search(r"^WRK_JSON (\{.*\})\s*$", text, re.M)
    if m:
        j = jsonlib.loads(m.group(1))
        out.requests = j["requests"]
        out.seconds = j["duration_us"] / 1e6
        out.rps = out.requests / out.seconds if out.seconds else 0.0
        out.p50, out.p95, out.p99 = j["p50_us"] / 1000.0, j["p95_us"] / 1000.0, j["p99_us"] / 1000.0
        out.max = j["max_us"] / 1000.0
        out.non_2xx = j["status"]
        out.errors = j["connect"] + j["read"] + j["write"] + j["timeout"] + j["status"]
    return out


def lua_script(tokens: Sequence[str]) -> str:
    for t in tokens:
        if not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", t):
            raise ValueError("a token with characters a bearer token does not have")
    return _LUA % {"tokens": ", ".join(f'"{t}"' for t in tokens)}


def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package when root and it is missing, else says how."""
    path = shutil.which("wrk")
    if path:
        return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"  wrk is missing: {WRK_INSTALL}", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
        if path:
            return path
    raise SystemExit(f"the bench needs Debian's wrk: {WRK_INSTALL} (as root)")


def wrk_run(
    url: str,
    tokens: Sequence[str],
    connections: int,
    seconds: float,
    *,
    threads: int = 2,
    timeout: str = "10s",
) -> WrkResult:
    """``wrk --latency`` on ``url`` for ``seconds`` with ``connections`` (see the module's docstring)."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = os.path.join(tmp, "tokens.lua")
        with open(script, "w") as f:
            f.write(lua_script(tokens))
        out_path = os.path.join(tmp, "out.txt")
        with open(out_path, "w") as out:
            proc = subprocess.Popen(
                [
                    wrk,
                    f"-t{max(1, min(threads, connections))}",
                    f"-c{connections}",
                    f"-d{max(1, round(seconds))}s",
                    f"--timeout={timeout}",
                    "--latency",
                    "-s",
                    script,
                    url,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        with open(out_path) as f:
            text = f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {text[-500:]}")
    result = parse_wrk(text)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    return result


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
