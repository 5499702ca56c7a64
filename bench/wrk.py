"""Debian's ``wrk`` driven with a Lua script that sends bearer tokens, its ``--latency`` output parsed,
and its own CPU share (bench/load.py's docstring describes ``wrk_run``)."""

from __future__ import annotations

import json as jsonlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

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
