"""The whole suite started for end-to-end and browser tests: every service as its own processes
(serve, relay, consume) on free ports with throwaway databases, a private exchange on the real
RabbitMQ, the SMTP catcher, the payment provider's stand-in, and the gateway on a real HTTP port.

A test never sleeps to let the suite catch up: it waits for what it means (``kit.testing.wait_for``),
and before asserting that nothing more came of what it did (no doubled event, mail or document) it
waits until the bus has settled: ``mark = suite.bus_mark()`` first, then ``suite.wait_until_settled(mark)``.

``Suite(..., broker_proxy=True)`` puts a ``kit.testing.TcpProxy`` between every process and RabbitMQ:
``suite.broker_proxy.cut()`` is the broker going away for all of them, ``restore()`` its return. The
test's own ``suite.broker`` (queues, counts, cleanup) still reaches the broker directly."""

from __future__ import annotations

import importlib
import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import requests
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from kit import migrations
from kit.service import bootstrap, make_consumer
from kit.settings import ROOT, SERVICES, load_settings
from kit.testing import BrokerNamespace, Keys, TcpProxy, ThrowawayDatabases, wait_for

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from devtools.mailcatcher import CatcherController

# As the Procfile runs them. "consume" starts only for a service with handlers.py (``_has_command``),
# the same test that makes ``migrate`` bind its queue: a bound queue always has its consumer.
PROCESSES = {
    "auth": ("serve", "relay", "consume"),
    "documents": ("serve", "relay", "consume"),
    "finance": ("serve", "relay", "consume"),
    "orders": ("serve", "relay", "consume"),
    "notifications": ("serve", "relay", "consume", "mailer"),
    "meetings": ("serve", "relay", "consume"),
}

# The stand-in retries a failing webhook sooner than Mollie would; a test that needs to look at what
# happens before a late webhook holds the retries itself (``/_standin/payments/<id>/webhook-retries``).
WEBHOOK_RETRY_DELAYS = "0.2,0.5,1,2,5,15,60"
MAIL_SERVICE = "notifications"  # the service whose ``outgoing_mails`` the mailer sends


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free port below the kernel's ephemeral range. A port the kernel hands out (bind to 0) is in
    that range, where every outgoing connection of the machine takes its own: freed, it can be taken
    by a client socket before the suite's server binds it (a CI run lost a whole worker's suite to
    "Failed to bind to address"). Below it only listeners compete."""
    high = max(_ephemeral_low(), 11000)
    for _ in range(500):
        port = random.randrange(10000, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_serving(port: int, timeout: float = 60) -> None:
    """Wait until the gRPC server on ``port`` answers its health check SERVING (an extra instance
    started with :meth:`Suite.start_instance`)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    # types-grpcio-health-checking declares HealthStub without its methods.
    check: grpc.UnaryUnaryMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]
    check = stub.Check  # type: ignore[attr-defined]

    def serving() -> bool:
        try:
            return (
                check(health_pb2.HealthCheckRequest(), timeout=5).status
                == health_pb2.HealthCheckResponse.SERVING
            )
        except grpc.RpcError:
            return False

    wait_for(serving, timeout, interval=0.2, what=f"the instance on {port} to serve")


def _has_command(service: str, command: str) -> bool:
    if command == "consume":
        return (ROOT / "services" / service / "handlers.py").exists()
    return True


def through_proxy(amqp_url: str, proxy: TcpProxy) -> str:
    """``amqp_url`` with its host and port replaced by the proxy's (credentials and vhost kept)."""
    parts = urlsplit(amqp_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Suite:
    def __init__(
        self,
        tmp: Path,
        databases: ThrowawayDatabases,
        broker: BrokerNamespace,
        gunicorn_workers: int = 0,
        *,
        broker_proxy: bool = False,
    ) -> None:
        self.tmp = tmp
        self.databases = databases
        self.broker = broker
        # The processes' way to the broker: directly, or through a relay a test can cut.
        self.broker_proxy: TcpProxy | None = None
        self.amqp_url = broker.url
        if broker_proxy:
            target = urlsplit(broker.url)
            self.broker_proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
            self.amqp_url = through_proxy(broker.url, self.broker_proxy)
        self.keys = Keys(tmp)
        self.var = tmp / "var"
        self.mail_dir = self.var / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.ports = {svc: free_port() for svc in SERVICES}
        self.urls = {svc: databases.url(svc) for svc in SERVICES}
        self.procs: dict[str, list[subprocess.Popen]] = {}
        self.logs = tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        self.smtp_port = free_port()
        self.mollie_port = free_port()
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self._catcher: CatcherController | None = None
        self._http: BaseWSGIServer | None = None
        self._mollie: subprocess.Popen | None = None
        self._gunicorn: subprocess.Popen | None = None
        self.gunicorn_workers = gunicorn_workers
        self.bound: dict[str, frozenset[str]] = {}  # consuming service -> the event names it handles
        self._engines: dict[str, Engine] = {}

    def env(self, service: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "CARTABLE_ENV": "test",
                "CARTABLE_VAR_DIR": str(self.var),
                # two suites run at once (pytest-xdist) beside the tests' own engines: small pools keep
                # them all within PostgreSQL's default 100 connections. Each of the 19 processes keeps
                # up to its pool's size open once used (overflow ones close when returned): with 3, two
                # suites reached 85 in a clean-clone run and the two tests that start extra processes
                # met "too many clients"; with 2, about 25 a suite (2 more per process at a peak).
                "DATABASE_POOL_SIZE": "2",
                # The gateway trusts X-Forwarded-For from this machine, so a test can act from an
                # address of its own (tests.factories.client_address_header) instead of sharing
                # 127.0.0.1's per-address limits with every other test of the run (10 password
                # resets a quarter of an hour: a fast run passed them and refused a browser test's).
                # Without the header the address is 127.0.0.1, as before.
                "TRUSTED_PROXIES": "127.0.0.1/32",
                "GATEWAY_WEBHOOK_TIMEOUT": "5",
                "IDENTITY_PRIVATE_KEY_FILE": str(self.keys.private_file),
                "IDENTITY_PUBLIC_KEY_FILE": str(self.keys.public_file),
                "AMQP_URL": self.amqp_url,
                "EVENTS_EXCHANGE": self.broker.exchange,
                "QUEUE_PREFIX": self.broker.prefix,
                "SMTP_URL": f"smtp://127.0.0.1:{self.smtp_port}",
                "MOLLIE_API_URL": f"http://127.0.0.1:{self.mollie_port}",
                "MOLLIE_API_KEY": "test_suite_key",
                "PUBLIC_BASE_URL": self.base_url,
                "SHUTDOWN_DRAIN_SECONDS": "0",
                # argon2id at the OWASP minimum: the suite signs in hundreds of families
                "AUTH_PASSWORD_PROFILE": "owasp-minimum",
                "MAIL_POLL_SECONDS": "0.2",  # mails reach the catcher quickly; tests read tokens there
                # the tests wait on the loops' events: on a machine shared with other work a niced
                # relay or consumer would wait behind all of it (the benches keep production's 10)
                "BACKGROUND_NICE": "0",
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for svc in SERVICES:
            env[f"{svc.upper()}_DATABASE_URL"] = self.urls[svc]
            env[f"{svc.upper()}_GRPC_TARGET"] = f"127.0.0.1:{self.ports[svc]}"
            env[f"{svc.upper()}_GRPC_LISTEN"] = f"127.0.0.1:{self.ports[svc]}"
        return env

    # -- lifecycle ------------------------------------------------------------------------------

    def migrate(self) -> None:
        for svc in SERVICES:
            migrations.upgrade(ROOT / "services" / svc / "migrations", self.urls[svc])
        for svc in SERVICES:  # the queues exist before any event is published
            self.broker.queue(f"{svc}.events")
        for svc in SERVICES:
            if _has_command(svc, "consume"):
                spec = importlib.import_module(f"services.{svc}.app").spec()
                rt = bootstrap(spec, load_settings(svc, self.env(svc)))
                consumer = make_consumer(rt)
                consumer.declare_on(consumer.amqp_url)
                self.bound[svc] = frozenset(consumer.bindings)
                rt.db.dispose()

    def start_service(self, svc: str) -> None:
        procs = []
        for command in PROCESSES[svc]:
            if not _has_command(svc, command):
                continue
            log = open(self.logs / f"{svc}-{command}.log", "ab")  # noqa: SIM115 - closed with the process
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"services.{svc}", command],
                    env=self.env(svc),
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        self.procs[svc] = procs

    def start_instance(self, svc: str, port: int, metrics_port: int, name: str) -> subprocess.Popen:
        """Another server of ``svc`` on ``port`` over the same database (a second pod, say)."""
        env = self.env(svc)
        env[f"{svc.upper()}_GRPC_LISTEN"] = f"127.0.0.1:{port}"
        env[f"{svc.upper()}_METRICS_PORT"] = str(metrics_port)
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{svc}", "serve"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.setdefault(name, []).append(proc)
        return proc

    def stop_service(self, svc: str) -> None:
        procs = self.procs.pop(svc, [])
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def start(self) -> None:
        from devtools.mailcatcher import start_catcher

        self.migrate()
        self._catcher = start_catcher("127.0.0.1", self.smtp_port, self.mail_dir)
        mollie_env = self.env()
        mollie_env["MOLLIE_STANDIN_ADDR"] = f"127.0.0.1:{self.mollie_port}"
        mollie_env["MOLLIE_STANDIN_PUBLIC_URL"] = f"http://127.0.0.1:{self.mollie_port}"
        mollie_env["MOLLIE_STANDIN_STATE"] = str(self.var / "mollie-standin.json")
        mollie_env["MOLLIE_STANDIN_RETRY_DELAYS"] = WEBHOOK_RETRY_DELAYS
        self._mollie = subprocess.Popen(
            [sys.executable, "-m", "devtools.mollie_standin"],
            env=mollie_env,
            cwd=ROOT,
            stdout=open(self.logs / "mollie.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        for svc in SERVICES:
            self.start_service(svc)
        if self.gunicorn_workers:
            # As in production: gunicorn workers, each opening its own gRPC channels after the fork.
            env = self.env()
            env.update(GATEWAY_BIND=f"127.0.0.1:{self.http_port}", GATEWAY_WORKERS=str(self.gunicorn_workers))
            self._gunicorn = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "-c",
                    "gateway/gunicorn_conf.py",
                    "gateway:create_app()",
                ],
                env=env,
                cwd=ROOT,
                stdout=open(self.logs / "gateway.log", "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        else:
            self.app = self.make_app()
            self._http = make_server("127.0.0.1", self.http_port, self.app, threaded=True)
            threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.wait_ready()

    def make_app(self, **config):
        from gateway import create_app

        cfg = {
            "GRPC_TARGETS": {svc: f"127.0.0.1:{port}" for svc, port in self.ports.items()},
            "TESTING": False,
            "SECURE_COOKIES": False,
            # a webhook call met while finance is down answers 503 soon (the provider retries): the
            # tests that stop finance do not wait out production's 20 s
            "WEBHOOK_TIMEOUT": 5.0,
            # as the gunicorn gateway's environment says (env() above): X-Forwarded-For from this
            # machine names a test's own address, so per-address limits count that test alone (the
            # in-process gateway read no such setting and counted every test's resets on 127.0.0.1)
            "TRUSTED_PROXIES": "127.0.0.1/32",
        }
        cfg.update(config)
        return create_app(cfg)

    def wait_ready(self, timeout: float = 90) -> None:
        last: list[requests.Response | None] = [None]

        def ready() -> bool:
            try:
                answer = requests.get(self.base_url + "/readyz", timeout=3)
            except requests.RequestException:
                return False
            last[0] = answer
            return answer.status_code == 200

        def what_was_there() -> str:
            logs = {p.name: p.read_text(errors="replace")[-2000:] for p in self.logs.glob("*.log")}
            return f"{last[0].text if last[0] is not None else 'no answer'}\n{logs}"

        wait_for(ready, timeout, interval=0.3, what="the suite to be ready", describe=what_was_there)

    # -- the bus settled ------------------------------------------------------------------------

    def _db(self, svc: str) -> Engine:
        if svc not in self._engines:
            self._engines[svc] = create_engine(self.urls[svc])
        return self._engines[svc]

    def bus_mark(self) -> dict[str, int]:
        """Where every service's outbox stands now: what a test did comes after it."""
        mark = {}
        for svc in SERVICES:
            with self._db(svc).connect() as c:
                mark[svc] = c.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
        return mark

    def unsettled(self, mark: dict[str, int]) -> list[str]:
        """What is still on its way among the events written since ``mark`` (and the events they
        caused in turn): events not yet published, events a consuming service has not handled yet,
        and mails made from them not sent yet."""
        events: dict[str, str] = {}  # event_id -> name, every service's events since the mark
        left = []
        for svc in SERVICES:
            with self._db(svc).connect() as c:
                rows = c.execute(
                    text("SELECT event_id, event_name, published_at FROM outbox WHERE id > :m"),
                    {"m": mark.get(svc, 0)},
                ).all()
            for event_id, name, published_at in rows:
                events[event_id] = name
                if published_at is None:
                    left.append(f"{svc}: {name} {event_id} not published")
        in_inbox = text("SELECT event_id FROM inbox WHERE event_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        for svc, names in self.bound.items():
            wanted = [e for e, name in events.items() if name in names]
            if not wanted:
                continue
            with self._db(svc).connect() as c:
                handled = set(c.execute(in_inbox, {"ids": wanted}).scalars())
            left += [f"{svc}: {events[e]} {e} not handled" for e in wanted if e not in handled]
        if events:
            pending = text(
                "SELECT kind, recipient FROM outgoing_mails WHERE status = 'pending' AND event_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            with self._db(MAIL_SERVICE).connect() as c:
                left += [
                    f"mail {kind} to {to} not sent" for kind, to in c.execute(pending, {"ids": list(events)})
                ]
        return left

    def wait_until_settled(self, mark: dict[str, int], timeout: float = 60) -> None:
        """Wait until everything that came of the events written since ``mark`` is done: each one
        published, handled by every service consuming it (and what that wrote in turn, likewise), its
        mails sent. After it, an event, mail or document that was going to be doubled is there."""
        wait_for(
            lambda: not self.unsettled(mark),
            timeout,
            interval=0.2,
            what="the bus to settle",
            describe=lambda: "; ".join(self.unsettled(mark)[:20]),
        )

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
        if self._gunicorn is not None:
            self._gunicorn.terminate()
            self._gunicorn.wait(15)
        for svc in list(self.procs):
            self.stop_service(svc)
        if self._mollie is not None:
            self._mollie.terminate()
            self._mollie.wait(10)
        if self._catcher is not None:
            self._catcher.stop()
        for engine in self._engines.values():
            engine.dispose()
        if self.broker_proxy is not None:
            self.broker_proxy.close()

    def run_command(self, svc: str, *args: str) -> str:
        """Run ``python -m services.<svc> <args>`` against the suite's database; returns stdout."""
        out = subprocess.run(
            [sys.executable, "-m", f"services.{svc}", *args],
            env=self.env(svc),
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout
