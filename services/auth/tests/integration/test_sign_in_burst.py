"""A burst of unauthenticated sign-ins with random usernames against a real auth server process, with
the production password profile (argon2id, 64 MiB a hash) and the default hashing bound: the process's
peak resident memory stays under the memory limit of auth's Kubernetes container, its health stays
SERVING throughout, and the calls it could not take are told to come back (UNAVAILABLE with
retry-after), never left to pile up."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cartable.auth.v1 import auth_pb2 as pb
from cartable.auth.v1 import auth_pb2_grpc
from kit.errors import RETRY_KEY
from kit.settings import ROOT
from kit.testing import wait_for
from services.auth.tests.conftest import error_code

BURST = 50
MANIFEST = ROOT / "deploy" / "k8s" / "base" / "auth.yaml"
_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def auth_memory_limit_bytes() -> int:
    """The memory limit of the auth server's container in the Kubernetes base."""
    for doc in yaml.safe_load_all(MANIFEST.read_text()):
        if doc and doc.get("kind") == "Deployment" and doc["metadata"]["name"] == "auth":
            (server,) = [c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == "server"]
            limit = str(server["resources"]["limits"]["memory"])
            return int(limit[:-2]) * _UNITS[limit[-2:]]
    raise AssertionError("no auth Deployment in " + str(MANIFEST))


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the highest resident set size the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def auth_server(databases, keys, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "CARTABLE_"))}
    env.update(
        CARTABLE_ENV="test",
        CARTABLE_VAR_DIR=str(tmp_path / "var"),
        AUTH_DATABASE_URL=databases.migrated("auth"),
        AUTH_GRPC_LISTEN=f"127.0.0.1:{port}",
        IDENTITY_PRIVATE_KEY_FILE=str(keys.private_file),
        IDENTITY_PUBLIC_KEY_FILE=str(keys.public_file),
        EVENTS_EXCHANGE="test.unused",
        QUEUE_PREFIX="test.unused.",
        SHUTDOWN_DRAIN_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    log = open(tmp_path / "auth.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.auth", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)

    def serving() -> bool:
        assert proc.poll() is None, (tmp_path / "auth.log").read_text()
        try:
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
        except grpc.RpcError:
            return False
        return status == health_pb2.HealthCheckResponse.SERVING

    try:
        wait_for(serving, timeout=30, what="auth serving")
        yield proc, channel, health
    finally:
        channel.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _random_username() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=10)) + "." + str(random.randrange(10**6))


def test_fifty_concurrent_sign_ins_keep_auth_under_its_memory_limit_and_serving(auth_server):
    proc, channel, health = auth_server
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    limit = auth_memory_limit_bytes()
    health_answers: list[int] = []
    stop = threading.Event()

    def watch_health() -> None:
        # as a readiness probe would: one Check at a time (a 5 s timeout: this machine may be busy)
        while not stop.is_set():
            try:
                health_answers.append(
                    health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
                )
            except grpc.RpcError as exc:
                health_answers.append(-1 if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED else -2)
            stop.wait(0.1)

    def sign_in(i: int) -> tuple[str, str, str]:
        try:
            stub.SignIn(
                pb.SignInRequest(
                    username=_random_username(),
                    password="".join(random.choices(string.ascii_letters, k=16)),
                    client_address=f"203.0.113.{i % 250 + 1}",  # many addresses, as a botnet has
                ),
                timeout=60,
            )
        except grpc.RpcError as exc:
            md: dict[str, str] = dict(exc.trailing_metadata() or ())  # type: ignore[arg-type]
            return exc.code().name, error_code(exc), md.get(RETRY_KEY, "")
        return "OK", "", ""

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(BURST) as pool:
            results = list(pool.map(sign_in, range(BURST)))
    finally:
        stop.set()
        watcher.join(10)
    elapsed = time.monotonic() - started
    peak = peak_rss_bytes(proc.pid)
    refused = [r for r in results if r[0] == "UNAVAILABLE"]
    checked = [r for r in results if r[0] == "UNAUTHENTICATED"]
    print(
        f"\nburst of {BURST}: {len(checked)} checked, {len(refused)} unavailable, {elapsed:.1f} s; "
        f"auth peak RSS {peak / 2**20:.0f} MiB of a {limit / 2**20:.0f} MiB limit"
    )

    assert proc.poll() is None, "auth died"
    assert peak < limit
    assert len(checked) + len(refused) == BURST, results
    assert checked, "no sign-in was checked at all"
    assert all(code == "invalid_credentials" for _, code, _ in checked)
    assert all(code == "unavailable" and retry == "1" for _, code, retry in refused)
    assert health_answers and set(health_answers) == {health_pb2.HealthCheckResponse.SERVING}, health_answers
    # and once the burst is over, the next sign-in is checked again
    assert sign_in(0)[:2] == ("UNAUTHENTICATED", "invalid_credentials")
