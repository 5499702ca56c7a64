"""The mailer's liveness probe (deploy/k8s: ``/livez`` on its metrics port) follows its loop's heartbeat:
a round that never ends (a hung relay or database) goes stale and fails the probe; an idle mailer, or
one whose relay is down, keeps going round and stays live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.metrics import Heartbeat, serve_probes
from kit.testing import wait_for
from services.notifications.mailer import Mailer
from services.notifications.tests.conftest import free_port, make_rt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rt(databases, keys):
    from kit.clock import FakeClock

    rt = make_rt(databases, keys, free_port(), FakeClock(), MAIL_POLL_SECONDS="0.05")
    yield rt
    rt.db.dispose()


class Ticks:
    """The heartbeat's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _livez(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def running(rt) -> Iterator[tuple[Mailer, Ticks, threading.Event, int]]:
    mailer = Mailer.from_runtime(rt)
    ticks = Ticks()
    mailer.heartbeat = Heartbeat(max_age=60, clock=ticks)
    probes = serve_probes(0, live=mailer.heartbeat.probe, host="127.0.0.1")
    stop = threading.Event()
    loop = threading.Thread(target=mailer.run, args=(stop,), daemon=True)
    loop.start()
    yield mailer, ticks, stop, probes.server_address[1]
    stop.set()
    loop.join(10)
    probes.shutdown()


def test_the_mailer_beats_each_round_and_a_stuck_round_fails_liveness(running):
    mailer, ticks, _stop, port = running
    ticks.now = 1000.0  # an idle mailer goes round every poll: the next round beats again
    wait_for(lambda: mailer.heartbeat.age() == 0.0, 10, what="a beat after the clock moved")
    assert _livez(port)[0] == 200

    stuck, entered = threading.Event(), threading.Event()
    real_send_next = mailer.send_next

    def hung():  # a relay or database that never answers
        entered.set()
        stuck.wait(30)
        return real_send_next()

    mailer.send_next = hung  # type: ignore[method-assign]
    assert entered.wait(10)
    ticks.now += 61
    status, body = _livez(port)
    assert status == 503 and body["status"] == "failing" and body["heartbeat_age_seconds"] >= 61

    mailer.send_next = real_send_next  # type: ignore[method-assign]
    stuck.set()  # the round ends: the loop beats again
    wait_for(lambda: _livez(port)[0] == 200, 10, what="liveness back once the round ended")


def test_the_heartbeat_allows_a_round_as_long_as_a_mail_lease(rt):
    # a round sends at most one mail, claimed for the lease: only a round longer than that is stuck
    assert Mailer.from_runtime(rt).heartbeat.max_age == rt.settings.mail_lease_seconds == 300


def test_the_mailer_command_serves_livez_beside_metrics(rt, keys, tmp_path):
    port = free_port()
    env = dict(os.environ)
    env.update(
        CARTABLE_ENV="test",
        CARTABLE_VAR_DIR=str(tmp_path / "var"),
        NOTIFICATIONS_DATABASE_URL=rt.settings.database_url,
        IDENTITY_PRIVATE_KEY_FILE=str(keys.private_file),
        IDENTITY_PUBLIC_KEY_FILE=str(keys.public_file),
        SMTP_URL=f"smtp://127.0.0.1:{free_port()}",  # nothing is due: never connected
        METRICS_PORT=str(port),
        MAIL_POLL_SECONDS="0.2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.notifications", "mailer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def live() -> tuple[int, dict] | None:
            try:
                return _livez(port)
            except OSError:  # not listening yet
                return None

        status, body = wait_for(live, 60, what="the mailer's /livez")
        assert status == 200 and body["status"] == "ok" and body["max_age_seconds"] == 300
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert b"cartable_mails_total" in resp.read()
    finally:
        proc.terminate()
        proc.wait(30)
