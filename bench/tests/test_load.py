"""bench/load.py: the percentile math, wrk's output parser and Lua script, and one short open loop
against a local HTTP server (run with `.venv/bin/pytest bench/tests`)."""

from __future__ import annotations

import json
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import load

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/api/v1/dashboard
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   290.12ms  101.33ms   1.20s    70.00%
    Req/Sec    27.50     10.01    50.00     65.00%
  Latency Distribution
     50%  289.55ms
     75%  350.10ms
     90%  420.00ms
     99%    1.01s
  551 requests in 10.02s, 1.23MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:     54.99
Transfer/sec:    125.70KB
"""


def test_percentile_interpolates_between_ranks_like_statistics_inclusive():
    xs = [float(x) for x in (7, 1, 3, 9, 4, 12, 2, 8, 5, 11, 6, 10)]
    qs = statistics.quantiles(xs, n=100, method="inclusive")
    for q in (1, 25, 50, 90, 95, 99):
        assert load.percentile(xs, q) == pytest.approx(qs[q - 1])
    assert load.percentile(xs, 0) == 1.0 and load.percentile(xs, 100) == 12.0


def test_percentile_of_few_samples():
    assert load.percentile([], 95) == 0.0
    assert load.percentile([0.5], 99) == 0.5
    assert load.percentile([1.0, 2.0], 50) == 1.5


def test_percentiles_are_milliseconds():
    p = load.percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert p["p50"] == pytest.approx(50.5)
    assert p["p95"] == pytest.approx(95.05)
    assert p["p99"] == pytest.approx(99.01)


@pytest.mark.parametrize(
    ("text", "ms"), [("456.00us", 0.456), ("1.23ms", 1.23), ("2.01s", 2010.0), ("1.50m", 90_000.0)]
)
def test_wrk_durations(text, ms):
    assert load.parse_duration_ms(text) == pytest.approx(ms)


def test_wrk_duration_refuses_garbage():
    with pytest.raises(ValueError, match="not a wrk duration"):
        load.parse_duration_ms("fast")


def test_parse_wrk_text():
    r = load.parse_wrk(WRK_OUTPUT)
    assert (r.requests, r.seconds, r.rps) == (551, pytest.approx(10.02), pytest.approx(54.99))
    assert (r.p50, r.p75, r.p90, r.p99) == (
        pytest.approx(289.55),
        pytest.approx(350.10),
        pytest.approx(420.0),
        pytest.approx(1010.0),
    )
    assert r.non_2xx == 4 and r.errors == 7


def test_parse_wrk_prefers_the_lua_done_line():
    line = {
        "requests": 600,
        "duration_us": 10_000_000,
        "p50_us": 1500,
        "p95_us": 4000,
        "p99_us": 9000,
        "max_us": 20000,
        "connect": 0,
        "read": 0,
        "write": 0,
        "status": 3,
        "timeout": 0,
    }
    r = load.parse_wrk(WRK_OUTPUT + "WRK_JSON " + json.dumps(line) + "\n")
    assert (r.requests, r.rps) == (600, pytest.approx(60.0))
    assert (r.p50, r.p95, r.p99, r.max) == (1.5, 4.0, 9.0, 20.0)
    assert r.p75 == pytest.approx(350.10)  # only in the text
    assert r.errors == 3 and r.non_2xx == 3


def test_parse_wrk_of_a_run_without_errors():
    text = WRK_OUTPUT.replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
    text = text.replace("  Non-2xx or 3xx responses: 4\n", "")
    assert load.parse_wrk(text).errors == 0


def test_lua_script_embeds_the_tokens_and_refuses_odd_ones():
    script = load.lua_script(["abc.DEF-1_2", "xyz"])
    assert 'local tokens = {"abc.DEF-1_2", "xyz"}' in script
    assert "Bearer" in script and "%d" in script and "%%" not in script
    with pytest.raises(ValueError, match="bearer token"):
        load.lua_script(['a"); os.exit(1) --'])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        ok = self.headers.get("Authorization") == "Bearer t0k"
        self._answer(200 if ok else 401, {"path": self.path})

    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(201, {"id": f"o-{data['n']}"})


async def two_steps(client, n):
    made = (await client.request("POST", "/orders", json={"n": n}, step="order", expect=201)).json()
    await client.request("GET", f"/orders/{made['id']}", token="t0k", step="read")


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_open_loop_runs_a_scenario_end_to_end_in_another_process(server):
    r = load.open_loop(load.Scenario(two_steps, list(range(5))), 40, 1.0, base_url=server)
    assert (r.flows, r.ok, r.errors, r.dropped) == (40, 40, 0, 0)
    assert r.statuses == {201: 40, 200: 40}
    assert len(r.latencies) == 40 and len(r.steps["order"]) == len(r.steps["read"]) == 40
    assert 0.9 < r.wall_seconds < 10 and 0.0 < r.cpu_share < 2.0
    assert r.percentiles()["p99"] >= r.step_percentiles("read")["p50"]


def test_open_loop_counts_unexpected_statuses_as_errors(server):
    reqs = [load.Request("GET", "/x", token="t0k"), load.Request("GET", "/x", token="wrong")]
    r = load.open_loop(reqs, 20, 0.5, base_url=server, arrival="poisson", seed=3)
    assert r.flows == 10 and r.ok == 5 and r.errors == 5
    assert r.statuses == {200: 5, 401: 5}
    assert "401" in r.error_samples[0]
