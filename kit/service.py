"""What every service is made of, and its command line: ``serve | relay | consume | migrate | purge``
and the service's own commands."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import Session

from cartable.events.v1 import envelope_pb2
from kit import bus, idempotency, migrations
from kit.db import Database
from kit.grpcserver import GrpcServer, Registration, build_server
from kit.identity import TokenVerifier, ensure_keypair
from kit.logs import configure_logging
from kit.metrics import OUTBOX_BACKLOG, Probe, start_metrics_server
from kit.relay import OutboxRelay
from kit.settings import Settings, load_settings

log = logging.getLogger("kit.service")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The composition root's product: what a service's use cases are given."""

    spec: ServiceSpec
    settings: Settings
    db: Database
    verifier: TokenVerifier
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)

    def record(self, session: Session, name: str, payload: Message, school_id: str) -> envelope_pb2.Envelope:
        """Write an event to this service's outbox in the current transaction."""
        return bus.record_event(session, self.spec.outbox, name, payload, school_id)

    @property
    def queue_name(self) -> str:
        return f"{self.settings.queue_prefix}{self.spec.name}.events"


@dataclass
class ServiceSpec:
    name: str
    metadata: MetaData
    outbox: Table
    inbox: Table
    migrations_dir: Path
    registrations: Callable[[Runtime], list[Registration]]
    public_methods: frozenset[str] = frozenset()
    bindings: Callable[[Runtime], Mapping[str, bus.Binding[Any]]] | None = None
    commands: dict[str, Callable[[Runtime, list[str]], int]] = field(default_factory=dict)


def bootstrap(spec: ServiceSpec, settings: Settings | None = None, **extras: Any) -> Runtime:
    """Build a service's runtime (database, verifier) from its settings."""
    settings = settings or load_settings(spec.name)
    if settings.is_local:
        ensure_keypair(settings.identity_private_key_file, settings.identity_public_key_file)
    verifier = TokenVerifier.from_files(
        [settings.identity_public_key_file, *settings.identity_extra_public_key_files]
    )
    return Runtime(
        spec=spec,
        settings=settings,
        db=Database(settings.database_url, pool_size=settings.database_pool_size),
        verifier=verifier,
        extras=extras,
    )


# The relay counts as behind (``<service>.relay`` NOT_SERVING) once an event waits longer than this.
RELAY_MAX_LAG_SECONDS = 60.0


def part_health(rt: Runtime, relay_max_lag: float = RELAY_MAX_LAG_SECONDS) -> dict[str, bool]:
    """What a server sees of the parts beside it, by health name: ``<svc>.relay`` (no event waits in
    the outbox longer than ``relay_max_lag``), ``<svc>.broker`` (the broker answers) and, for a service
    with event bindings, ``<svc>.consume`` (its queue has a consumer). Informative only: readiness
    is the database's."""
    name = rt.spec.name
    try:
        relay_ok = bus.outbox_lag(rt.db, rt.spec.outbox) <= relay_max_lag
    except Exception:  # noqa: BLE001 - the database is restarting: readiness says so; the relay is not known to keep up
        relay_ok = False
    queue = rt.queue_name if rt.spec.bindings else None
    broker_ok, consumers = bus.broker_report(rt.settings.amqp_url, queue)
    parts = {f"{name}.relay": relay_ok, f"{name}.broker": broker_ok}
    if queue:
        parts[f"{name}.consume"] = broker_ok and consumers > 0
    return parts


def start_grpc(rt: Runtime, listen: str | None = None, *, parts_interval: float = 10.0) -> GrpcServer:
    """Start the service's gRPC server: ready while its database answers (servers only write to the
    outbox, so a broker outage does not take them out of service); the parts' health beside it. The
    process's thread switch interval is ``GRPC_SWITCH_INTERVAL_MS``."""
    sys.setswitchinterval(rt.settings.grpc_switch_interval_ms / 1000)
    return build_server(
        rt.spec.name,
        listen or rt.settings.grpc_listen,
        rt.spec.registrations(rt),
        rt.verifier,
        rt.spec.public_methods,
        checks=[rt.db.ping],
        parts=lambda: part_health(rt),
        parts_interval=parts_interval,
    )


def make_relay(rt: Runtime) -> OutboxRelay:
    return OutboxRelay(
        rt.db, rt.spec.outbox, rt.settings.amqp_url, rt.settings.events_exchange, service=rt.spec.name
    )


def make_consumer(rt: Runtime) -> bus.EventConsumer:
    bindings = rt.spec.bindings(rt) if rt.spec.bindings else {}
    return bus.EventConsumer(
        rt.db, rt.spec.inbox, rt.settings.amqp_url, rt.settings.events_exchange, rt.queue_name, bindings
    )


def loop_probes(loop: OutboxRelay | bus.EventConsumer) -> tuple[Probe, Probe]:
    """A relay's or consumer's ``/livez`` (its heartbeat is fresh) and ``/readyz`` (it holds a broker
    connection): liveness restarts a stuck loop, readiness reports the broker."""

    def ready() -> tuple[bool, dict[str, Any]]:
        return loop.broker_connected, {"broker": "connected" if loop.broker_connected else "unavailable"}

    return loop.heartbeat.probe, ready


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: what a long-running command (server, relay, consumer, mailer,
    reminders) waits on to stop cleanly."""
    stop = threading.Event()

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received, stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def run_in_background(settings: Settings) -> None:
    """Lower this process's CPU priority to ``BACKGROUND_NICE`` (a relay, a consumer, the mailer):
    asynchronous work yields the cores to the servers answering people and catches up after a burst."""
    if settings.background_nice > 0:
        os.nice(settings.background_nice)
        log.info("background priority", extra={"nice": settings.background_nice})


def purge(
    rt: Runtime,
    now: datetime | None = None,
    *,
    outbox_retention: timedelta = bus.OUTBOX_RETENTION,
    inbox_retention: timedelta = bus.INBOX_RETENTION,
    key_ttl: timedelta = idempotency.KEY_TTL,
) -> dict[str, int]:
    """Delete what the service no longer needs: outbox rows published, inbox rows handled, before their
    retention, and expired idempotency keys (for a service that has the table). Returns the counts."""
    now = now or rt.clock()
    counts = {
        "outbox": bus.purge_outbox(rt.db, rt.spec.outbox, now, outbox_retention),
        "inbox": bus.purge_inbox(rt.db, rt.spec.inbox, now, inbox_retention),
    }
    keys = rt.spec.metadata.tables.get("idempotency_keys")
    if keys is not None:
        counts["idempotency_keys"] = idempotency.purge_expired_keys(rt.db, keys, now, key_ttl)
    return counts


def purge_command(rt: Runtime, args: list[str]) -> int:
    """``python -m services.<svc> purge [--outbox-days D] [--inbox-days D] [--idempotency-days D]``:
    one purge (see ``purge``), for a CronJob."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{rt.spec.name} purge")
    parser.add_argument("--outbox-days", type=float, default=bus.OUTBOX_RETENTION / timedelta(days=1))
    parser.add_argument("--inbox-days", type=float, default=bus.INBOX_RETENTION / timedelta(days=1))
    parser.add_argument("--idempotency-days", type=float, default=idempotency.KEY_TTL / timedelta(days=1))
    ns = parser.parse_args(args)
    counts = purge(
        rt,
        outbox_retention=timedelta(days=ns.outbox_days),
        inbox_retention=timedelta(days=ns.inbox_days),
        key_ttl=timedelta(days=ns.idempotency_days),
    )
    log.info("purged", extra={"purged": counts})
    rt.db.dispose()
    return 0


def main(spec: ServiceSpec, argv: list[str] | None = None) -> int:
    """``python -m services.<svc> serve|relay|consume|migrate|purge|<extra command>``."""
    commands = {"purge": purge_command, **spec.commands}
    parser = argparse.ArgumentParser(prog=f"python -m services.{spec.name}")
    parser.add_argument("command", choices=["serve", "relay", "consume", "migrate", *commands])
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    settings = load_settings(spec.name)
    configure_logging(spec.name, settings.log_level)
    if ns.command == "migrate":
        migrations.upgrade(spec.migrations_dir, settings.database_url)
        log.info("migrations applied")
        return 0
    rt = bootstrap(spec, settings)
    if ns.command in commands:
        return commands[ns.command](rt, ns.args)
    stop = stop_on_signals()
    if ns.command == "serve":
        start_metrics_server(settings.metrics_port)
        server = start_grpc(rt)
        stop.wait()
        drain = settings.shutdown_drain_seconds
        server.shutdown(drain=drain, grace=10)
    elif ns.command == "relay":
        run_in_background(settings)
        relay = make_relay(rt)
        live, ready = loop_probes(relay)
        start_metrics_server(settings.metrics_port, live=live, ready=ready)

        def gauge() -> None:
            while not stop.wait(5):
                try:
                    OUTBOX_BACKLOG.labels(spec.name).set(relay.backlog())
                except Exception:  # noqa: BLE001 - the database may be restarting; the next tick retries
                    log.warning("cannot read outbox backlog")

        threading.Thread(target=gauge, daemon=True).start()
        relay.run(stop)
    elif ns.command == "consume":
        run_in_background(settings)
        consumer = make_consumer(rt)
        live, ready = loop_probes(consumer)
        start_metrics_server(settings.metrics_port, live=live, ready=ready)
        consumer.run(stop)
    rt.db.dispose()
    return 0


def run(spec: ServiceSpec) -> None:
    sys.exit(main(spec))
