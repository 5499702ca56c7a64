"""A broker outage does not take servers out of service: a server is ready while its database answers,
and reports the parts beside it (``<svc>.relay``, ``<svc>.broker``, ``<svc>.consume``) under their own
health names. Relays and consumers have their own probes: ``/livez`` follows their loop's heartbeat
(a stuck loop goes stale and is restarted), ``/readyz`` the broker. Against the real RabbitMQ, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import update

from cartable.notifications.v1 import events_pb2
from kit.bus import Binding, EventConsumer, bus_tables, record_event
from kit.db import Database
from kit.metrics import Heartbeat, serve_probes
from kit.migrations import new_metadata
from kit.relay import OutboxRelay
from kit.service import Runtime, ServiceSpec, loop_probes, part_health, start_grpc
from kit.settings import ROOT
from kit.testing import TcpProxy, test_settings, wait_for

pytestmark = pytest.mark.broker

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
EVENT = "notifications.mail.failed.v1"
DATABASE_DOWN = "postgresql://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1


def _spec(with_bindings: bool = False) -> ServiceSpec:
    metadata = new_metadata()
    outbox, inbox = bus_tables(metadata)

    def bindings(rt: Runtime) -> dict[str, Binding]:
        return {EVENT: Binding(events_pb2.MailFailed, lambda s, env, ev: None)}

    return ServiceSpec(
        name="demo",
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        migrations_dir=Path("unused"),
        registrations=lambda rt: [],
        bindings=bindings if with_bindings else None,
    )


def _runtime(spec: ServiceSpec, database_url: str, keys, broker, amqp_url: str | None = None) -> Runtime:
    settings = test_settings("finance", database_url, keys, broker, AMQP_URL=amqp_url or broker.url)
    db = Database(database_url)
    if database_url != DATABASE_DOWN:
        spec.metadata.create_all(db.engine)
    return Runtime(spec=spec, settings=settings, db=db, verifier=keys.verifier)


def _status(port: int, name: str) -> int | None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' HealthStub lacks its methods
    try:
        return stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=30).status
    except grpc.RpcError:
        return None  # NOT_FOUND: nothing published under that name
    finally:
        channel.close()


def _statuses(port: int, *names: str) -> dict[str, int | None]:
    return {n: _status(port, n) for n in names}


@pytest.fixture
def server_of():
    started = []

    def start(rt: Runtime):
        gs = start_grpc(rt, "127.0.0.1:0", parts_interval=0.2)
        started.append((gs, rt))
        return gs

    yield start
    for gs, rt in started:
        gs._stop.set()
        gs.stop(0)
        rt.db.dispose()


def test_a_server_stays_ready_while_the_broker_is_cut(databases, broker, keys, server_of):
    proxy = TcpProxy("127.0.0.1", 5672)
    try:
        rt = _runtime(
            _spec(), databases.url("demo"), keys, broker, f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
        )
        gs = server_of(rt)
        wait_for(lambda: _status(gs.port, "demo.broker") == SERVING, what="the broker seen answering")
        proxy.cut()
        wait_for(
            lambda: _status(gs.port, "demo.broker") == NOT_SERVING,
            what="the server seeing the broker cut",
            describe=lambda: _statuses(gs.port, "", "demo.broker"),
        )
        # Servers only write to the outbox: without the broker they still serve.
        assert _statuses(gs.port, "", "demo", "liveness") == {
            "": SERVING,
            "demo": SERVING,
            "liveness": SERVING,
        }
        proxy.restore()
        wait_for(lambda: _status(gs.port, "demo.broker") == SERVING, what="the broker back")
    finally:
        proxy.close()


def test_a_server_without_its_database_is_not_ready(broker, keys, server_of):
    gs = server_of(_runtime(_spec(), DATABASE_DOWN, keys, broker))
    wait_for(lambda: _status(gs.port, "demo.broker") == SERVING, what="the parts evaluated")
    assert _statuses(gs.port, "", "demo", "demo.relay", "liveness") == {
        "": NOT_SERVING,
        "demo": NOT_SERVING,
        "demo.relay": NOT_SERVING,  # the outbox cannot be read: not known to be delivered
        "liveness": SERVING,
    }


def test_the_relay_part_says_when_an_event_waits_longer_than_the_lag(databases, broker, keys, server_of):
    spec = _spec()
    rt = _runtime(spec, databases.url("demo"), keys, broker)
    assert part_health(rt)["demo.relay"] is True  # nothing waits
    with rt.db.unit_of_work() as s:
        env = record_event(s, spec.outbox, EVENT, events_pb2.MailFailed(mail_id="m"), "school-1")
    assert part_health(rt, relay_max_lag=60)["demo.relay"] is True  # just written
    with rt.db.unit_of_work() as s:
        s.execute(
            update(spec.outbox)
            .where(spec.outbox.c.event_id == env.event_id)
            .values(created_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    assert part_health(rt, relay_max_lag=60)["demo.relay"] is False
    gs = server_of(rt)
    wait_for(lambda: _status(gs.port, "demo.relay") == NOT_SERVING, what="demo.relay NOT_SERVING")
    assert _status(gs.port, "") == SERVING  # a relay behind does not make the server unready
    with rt.db.unit_of_work() as s:
        s.execute(update(spec.outbox).values(published_at=datetime.now(UTC)))
    wait_for(lambda: _status(gs.port, "demo.relay") == SERVING, what="demo.relay SERVING once delivered")


def test_the_consume_part_follows_the_consumers_of_the_service_queue(databases, broker, keys):
    rt = _runtime(_spec(with_bindings=True), databases.url("demo"), keys, broker)
    broker.queue("demo.events")  # removed with the namespace
    assert part_health(rt)["demo.consume"] is False  # no queue yet: no consumer ever started
    assert "demo.consume" not in part_health(_runtime(_spec(), databases.url("other"), keys, broker))
    consumer = EventConsumer(
        rt.db,
        rt.spec.inbox,
        broker.url,
        broker.exchange,
        rt.queue_name,
        rt.spec.bindings(rt),  # type: ignore[misc]
    )
    stop = threading.Event()
    t = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    t.start()
    try:
        wait_for(lambda: part_health(rt)["demo.consume"], what="demo.consume once the consumer reads")
    finally:
        stop.set()
        t.join(30)
    wait_for(lambda: part_health(rt)["demo.consume"] is False, what="demo.consume once it stopped")
    rt.db.dispose()


# -- relays' and consumers' own probes ---------------------------------------------------------------


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        body, status = err.read(), err.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"text": body.decode()[:200]}


class Outbox:
    def __init__(self, url: str) -> None:
        metadata = new_metadata()
        self.outbox, self.inbox = bus_tables(metadata)
        self.db = Database(url)
        metadata.create_all(self.db.engine)


def test_a_relay_stays_alive_through_a_broker_outage_and_reports_it(databases, broker):
    box = Outbox(databases.url("relay"))
    proxy = TcpProxy("127.0.0.1", 5672)
    relay = OutboxRelay(
        box.db,
        box.outbox,
        f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F",
        broker.exchange,
        poll_interval=0.05,
    )
    live, ready = loop_probes(relay)
    probes = serve_probes(0, live=live, ready=ready, host="127.0.0.1")
    port = probes.server_port
    stop = threading.Event()
    t = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    t.start()
    try:
        wait_for(lambda: _get(port, "/readyz")[0] == 200, what="the relay connected")
        assert _get(port, "/livez")[0] == 200
        proxy.cut()
        wait_for(
            lambda: _get(port, "/readyz") == (503, {"status": "failing", "broker": "unavailable"}), what="503"
        )
        # Still going round (retrying with backoff): not restarted, a restart would not bring the broker back.
        status, body = _get(port, "/livez")
        assert status == 200 and body["heartbeat_age_seconds"] <= body["max_age_seconds"]
        assert _get(port, "/metrics")[0] == 200
        proxy.restore()
        wait_for(lambda: _get(port, "/readyz")[0] == 200, timeout=60, what="the relay reconnected")
    finally:
        stop.set()
        t.join(30)
        proxy.close()
        probes.shutdown()
        box.db.dispose()


def test_a_stuck_relay_loop_fails_its_liveness(databases, broker):
    box = Outbox(databases.url("relay"))
    relay = OutboxRelay(box.db, box.outbox, broker.url, broker.exchange, heartbeat=Heartbeat(max_age=0.5))
    stuck = threading.Event()
    release = threading.Event()

    def hung_publish() -> int:
        stuck.set()
        release.wait(60)  # as a socket that never answers would
        return 1

    relay.publish_pending = hung_publish  # type: ignore[method-assign]
    live, ready = loop_probes(relay)
    probes = serve_probes(0, live=live, ready=ready, host="127.0.0.1")
    stop = threading.Event()
    t = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    t.start()
    try:
        wait_for(stuck.is_set, what="the loop stuck")
        wait_for(lambda: _get(probes.server_port, "/livez")[0] == 503, what="liveness failing once stale")
    finally:
        stop.set()
        release.set()
        t.join(30)
        probes.shutdown()
        box.db.dispose()


def test_a_consumer_handler_stuck_past_its_deadline_fails_liveness(databases, broker):
    box = Outbox(databases.url("consume"))
    entered, release = threading.Event(), threading.Event()

    def hung_handler(session, env, ev) -> None:
        entered.set()
        release.wait(60)

    consumer = EventConsumer(
        box.db,
        box.inbox,
        broker.url,
        broker.exchange,
        broker.queue("stuck.events"),
        {EVENT: Binding(events_pb2.MailFailed, hung_handler)},
        heartbeat=Heartbeat(max_age=0.5),
        handler_deadline=0.2,
    )
    live, ready = loop_probes(consumer)
    probes = serve_probes(0, live=live, ready=ready, host="127.0.0.1")
    port = probes.server_port
    stop = threading.Event()
    t = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    t.start()
    try:
        wait_for(lambda: _get(port, "/readyz")[0] == 200, what="the consumer connected")
        assert _get(port, "/livez")[0] == 200
        with box.db.unit_of_work() as s:
            env = record_event(s, box.outbox, EVENT, events_pb2.MailFailed(mail_id="m"), "school-1")
        broker.channel_call(lambda ch: ch.basic_publish(broker.exchange, EVENT, env.SerializeToString()))
        wait_for(entered.is_set, what="the handler running")
        wait_for(lambda: _get(port, "/livez")[0] == 503, what="liveness failing once the handler overstays")
        release.set()
        wait_for(lambda: _get(port, "/livez")[0] == 200, what="alive again once the handler returned")
    finally:
        stop.set()
        release.set()
        t.join(30)
        probes.shutdown()
        box.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_relay_command_serves_its_probes_on_the_metrics_port(databases, broker, keys, tmp_path):
    """``python -m services.notifications relay``: the probes are wired to the loop it runs."""
    port = _free_port()
    settings_env = {
        "CARTABLE_ENV": "test",
        "NOTIFICATIONS_DATABASE_URL": databases.migrated("notifications"),
        "IDENTITY_PRIVATE_KEY_FILE": str(keys.private_file),
        "IDENTITY_PUBLIC_KEY_FILE": str(keys.public_file),
        "AMQP_URL": broker.url,
        "EVENTS_EXCHANGE": broker.exchange,
        "QUEUE_PREFIX": broker.prefix,
        "CARTABLE_VAR_DIR": str(tmp_path / "var"),
        "METRICS_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.notifications", "relay"],
        cwd=ROOT,
        env={**os.environ, **settings_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def answers():
            try:
                return _get(port, "/readyz")[0] == 200
            except OSError:
                return False

        wait_for(answers, timeout=60, what="the relay's /readyz")
        status, body = _get(port, "/livez")
        assert status == 200 and "heartbeat_age_seconds" in body
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
