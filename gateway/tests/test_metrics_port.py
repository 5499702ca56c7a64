"""The gateway's metrics are served apart from its public port (issue 15): under gunicorn
(gateway/gunicorn_conf.py) the master serves on METRICS_PORT the sum over its workers, and the
public port answers 404 for /metrics. Each test starts gunicorn as production does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kit.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str] | None:
    """(status, body), or None while nothing listens (the connection is refused or reset). A request
    that was sent is waited for (a slow answer on a loaded machine is still an answer the gateway
    counts): dropping it on a short client timeout made the counts differ by one."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (ConnectionRefusedError, ConnectionResetError)):
            return None
        raise
    except (ConnectionRefusedError, ConnectionResetError):
        return None


class Gunicorn:
    def __init__(self, tmp: Path, workers: int = 2, **env: str) -> None:
        self.http, self.metrics = _free_port(), _free_port()
        self.log = tmp / "gunicorn.log"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("GATEWAY_METRICS_PORT", "METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR")
        }
        self.env.update(
            CARTABLE_ENV="test",
            CARTABLE_VAR_DIR=str(tmp / "var"),
            GATEWAY_BIND=f"127.0.0.1:{self.http}",
            GATEWAY_WORKERS=str(workers),
            GATEWAY_THREADS="2",
            METRICS_PORT=str(self.metrics),
            TMPDIR=str(tmp),  # where the master makes its metrics directory when none is given
        )
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self.requests = 0  # answers of the public port: each counts once in cartable_http_requests_total

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [GUNICORN, "-c", "gateway/gunicorn_conf.py", "gateway:create_app()"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self.get("/healthz"), 60, what="the public port", describe=self.tail)
        wait_for(lambda: _get(self.metrics, "/metrics"), 30, what="the metrics port", describe=self.tail)

    def get(self, path: str) -> tuple[int, str] | None:
        answer = _get(self.http, path)
        if answer is not None:
            self.requests += 1
        return answer

    def counted(self) -> dict[tuple[str, str], float]:
        """cartable_http_requests_total by (endpoint, status), read on the metrics port."""
        answer = _get(self.metrics, "/metrics")
        assert answer is not None and answer[0] == 200, answer
        return {
            (s.labels["endpoint"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(answer[1])
            if family.name == "cartable_http_requests"
            for s in family.samples
            if s.name == "cartable_http_requests_total"
        }

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def gunicorn(tmp_path) -> Iterator[Gunicorn]:
    g = Gunicorn(tmp_path)
    try:
        g.start()
        yield g
    finally:
        g.stop()


def _worker_pids(directory: Path) -> set[int]:
    """The workers that counted something (prometheus_client's files: counter_<pid>.db)."""
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("counter_*.db")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_metrics_port_counts_the_requests_of_every_worker_and_the_public_port_has_none(
    gunicorn, tmp_path
):
    (directory,) = tmp_path.glob("cartable-gateway-metrics-*")  # made by the master: none was given

    # requests until both workers have answered some
    wait_for(
        lambda: gunicorn.get("/healthz") and len(_worker_pids(directory)) == 2,
        30,
        what="both workers to answer",
        describe=lambda: _worker_pids(directory),
    )
    for _ in range(2):
        answer = gunicorn.get("/metrics")
        assert answer is not None and answer[0] == 404, answer
    counted = gunicorn.counted()
    assert sum(counted.values()) == gunicorn.requests
    assert counted[("unmatched", "404")] == 2  # the two GET /metrics
    assert counted[("/healthz", "200")] == gunicorn.requests - 2

    # A worker that exits leaves its counts in the sum; its replacement counts on.
    gone = min(_worker_pids(directory))
    os.kill(gone, signal.SIGTERM)
    wait_for(lambda: not _alive(gone), 30, what="the worker to be reaped", describe=gunicorn.tail)
    wait_for(lambda: gunicorn.get("/healthz"), 30, what="the gateway to answer", describe=gunicorn.tail)
    assert sum(gunicorn.counted().values()) == gunicorn.requests
    assert gunicorn.proc.poll() is None

    gunicorn.stop()
    assert not directory.exists()  # the master removes the directory it made


def test_a_given_metrics_directory_is_cleared_at_start(tmp_path):
    given = tmp_path / "prometheus"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"a previous run's counts")
    (given / "keep.txt").write_text("not prometheus_client's")
    g = Gunicorn(tmp_path, workers=1, PROMETHEUS_MULTIPROC_DIR=str(given))
    try:
        g.start()
        assert not (given / "counter_1.db").exists()
        assert (given / "keep.txt").exists()
        assert sum(g.counted().values()) == g.requests
    finally:
        g.stop()
    assert given.exists()  # an operator's directory stays


def test_gunicorn_refuses_a_metrics_port_equal_to_the_public_port(tmp_path):
    g = Gunicorn(tmp_path)
    g.env["METRICS_PORT"] = str(g.http)
    done = subprocess.run(
        [GUNICORN, "-c", "gateway/gunicorn_conf.py", "gateway:create_app()"],
        cwd=ROOT,
        env=g.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "METRICS_PORT" in done.stdout + done.stderr
    assert _get(g.http, "/healthz") is None
