"""The event bus against the real RabbitMQ, on SQLite and PostgreSQL.

No test sleeps to let something happen: each waits (``wait_for``) for the event it means, and before
asserting that nothing more happened (nothing doubled) it stops the relay and the consumer and waits
until their threads have returned, so everything they were doing is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pika
import pytest
from sqlalchemy import Column, Integer, String, Table, select

from cartable.events.v1 import envelope_pb2
from cartable.notifications.v1 import events_pb2
from kit.bus import Binding, EventConsumer, bus_tables, record_event
from kit.db import Database
from kit.migrations import new_metadata
from kit.relay import OutboxRelay
from kit.testing import TcpProxy, wait_for

pytestmark = pytest.mark.broker


class World:
    def __init__(self, url: str) -> None:
        self.metadata = new_metadata()
        self.outbox, self.inbox = bus_tables(self.metadata)
        self.notes = Table(
            "notes", self.metadata, Column("id", Integer, primary_key=True), Column("text", String(50))
        )
        self.handled = Table(
            "handled", self.metadata, Column("id", Integer, primary_key=True), Column("event_id", String(36))
        )
        self.db = Database(url)
        self.metadata.create_all(self.db.engine)

    def write_note(self, text: str, fail: bool = False) -> str:
        with self.db.unit_of_work() as s:
            s.execute(self.notes.insert().values(text=text))
            env = record_event(
                s,
                self.outbox,
                "notifications.mail.failed.v1",
                events_pb2.MailFailed(mail_id=text),
                "school-1",
            )
            if fail:
                raise RuntimeError("use case failed after writing")
        return env.event_id

    def handled_ids(self) -> list[str]:
        with self.db.unit_of_work() as s:
            return [r.event_id for r in s.execute(select(self.handled.c.event_id)).all()]


def _consumer(world: World, broker, url: str, handler=None, max_attempts: int = 3) -> EventConsumer:
    def default(session, env, payload):
        session.execute(world.handled.insert().values(event_id=env.event_id))

    return EventConsumer(
        world.db,
        world.inbox,
        url,
        broker.exchange,
        broker.queue("svc.events"),
        {"notifications.mail.failed.v1": Binding(events_pb2.MailFailed, handler or default)},
        max_attempts=max_attempts,
        retry_delay=0.05,
    )


class Loops:
    """``run(stop)`` loops (relays, consumers) in threads. ``stop()`` ends them and waits until every
    thread has returned: what they had taken on is finished (a handled message is acked) when it
    returns."""

    def __init__(self, *loops) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=loop.run, args=(self._stop,), daemon=True) for loop in loops]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)
            assert not t.is_alive(), "a relay or consumer did not stop"


class Recorded:
    """Wraps a method and records each call: whether ``mark`` was set when it began, and its outcome
    (the answer, or the exception raised)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.mark = threading.Event()
        self.calls: list[tuple[bool, object]] = []

    def __call__(self, *args):
        after_mark = self.mark.is_set()
        try:
            out = self.fn(*args)
        except BaseException as exc:
            self.calls.append((after_mark, exc))
            raise
        self.calls.append((after_mark, out))
        return out

    def succeeded(self) -> bool:
        return any(not isinstance(out, BaseException) for _, out in self.calls)

    def failed_after_mark(self) -> bool:
        return any(after and isinstance(out, BaseException) for after, out in self.calls)

    def outcomes(self) -> list:
        return [out for _, out in self.calls]


def _amqp_url(port: int) -> str:
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


def test_event_committed_while_broker_is_down_is_delivered_exactly_once_after_it_returns(databases, broker):
    world = World(databases.url("bus"))
    proxy = TcpProxy("127.0.0.1", 5672)
    consumer = _consumer(world, broker, broker.url)
    consumer.declare_on(broker.url)
    relay = OutboxRelay(world.db, world.outbox, _amqp_url(proxy.port), broker.exchange, poll_interval=0.05)
    attempts = relay.publish_pending = Recorded(relay.publish_pending)
    loops = Loops(relay, consumer)
    try:
        wait_for(attempts.succeeded, what="the relay connected through the proxy")
        proxy.cut()  # the broker is unreachable from the relay from now on
        event_id = world.write_note("while-down")
        attempts.mark.set()
        wait_for(attempts.failed_after_mark, what="the relay trying the cut broker after the commit")
        assert relay.backlog() == 1, "the event must wait in the outbox while the broker is down"
        assert world.handled_ids() == []
        proxy.restore()
        # the relay's reconnection backoff may have grown to 10 s meanwhile
        wait_for(lambda: world.handled_ids() == [event_id], timeout=60, what="the event handled")
        wait_for(
            lambda: relay.backlog() == 0 and broker.message_count(consumer.queue) == 0,
            what="the outbox and the queue drained",
        )
        loops.stop()  # anything doubled is handled (or waiting in the queue) once they have stopped
        assert world.handled_ids() == [event_id]
        assert relay.backlog() == 0
    finally:
        loops.stop()
        proxy.close()
        world.db.dispose()


def test_rolled_back_transaction_publishes_nothing(databases, broker):
    world = World(databases.url("bus"))
    with pytest.raises(RuntimeError):
        world.write_note("rolled-back", fail=True)
    relay = OutboxRelay(world.db, world.outbox, broker.url, broker.exchange)
    consumer = _consumer(world, broker, broker.url)
    consumer.declare_on(broker.url)
    try:
        assert relay.publish_pending() == 0
        assert broker.message_count(consumer.queue) == 0
        with world.db.unit_of_work() as s:
            assert s.execute(select(world.notes)).all() == []
    finally:
        relay.close()
        world.db.dispose()


def test_redelivered_event_is_handled_once(databases, broker):
    world = World(databases.url("bus"))
    event_id = world.write_note("twice")
    with world.db.unit_of_work() as s:
        body = s.execute(select(world.outbox.c.body)).scalar_one()
    consumer = _consumer(world, broker, broker.url)
    consumer.declare_on(broker.url)

    def publish_twice(ch):
        for _ in range(2):
            ch.basic_publish(broker.exchange, "notifications.mail.failed.v1", body)

    broker.channel_call(publish_twice)
    handled = consumer.handle = Recorded(consumer.handle)
    loops = Loops(consumer)
    try:
        wait_for(
            lambda: {"handled", "duplicate"} <= set(map(str, handled.outcomes())),
            what="both deliveries handled",
        )
        loops.stop()
        assert world.handled_ids() == [event_id]
        assert consumer.handle(body) == "duplicate"
    finally:
        loops.stop()
        world.db.dispose()


def test_handler_that_always_fails_ends_in_the_dead_letter_queue(databases, broker):
    world = World(databases.url("bus"))
    calls = []

    def failing(session, env, payload):
        calls.append(env.event_id)
        raise RuntimeError("boom")

    consumer = _consumer(world, broker, broker.url, handler=failing, max_attempts=3)
    consumer.declare_on(broker.url)
    event_id = world.write_note("poison")
    relay = OutboxRelay(world.db, world.outbox, broker.url, broker.exchange)
    assert relay.publish_pending() == 1
    relay.close()
    loops = Loops(consumer)
    try:
        wait_for(lambda: broker.message_count(consumer.dlq) == 1, what="the event dead-lettered")
        loops.stop()
        assert calls == [event_id] * 3
        assert broker.message_count(consumer.queue) == 0
        assert world.handled_ids() == []

        def get_dead(ch):
            _method, _props, body = ch.basic_get(consumer.dlq, auto_ack=True)
            return body

        env = envelope_pb2.Envelope()
        env.ParseFromString(broker.channel_call(get_dead))
        assert env.event_id == event_id
        with world.db.unit_of_work() as s:  # a failed handling leaves no inbox mark
            assert s.execute(select(world.inbox)).all() == []
    finally:
        loops.stop()
        world.db.dispose()


def test_consumer_keeps_its_connection_alive_during_a_long_handler(databases, broker):
    world = World(databases.url("bus"))
    url = broker.url + "?heartbeat=2"

    def slow(session, env, payload):
        time.sleep(6)  # three heartbeat intervals
        session.execute(world.handled.insert().values(event_id=env.event_id))

    consumer = _consumer(world, broker, broker.url, handler=slow)
    consumer.amqp_url = url
    consumer.declare_on(broker.url)
    event_id = world.write_note("slow")
    relay = OutboxRelay(world.db, world.outbox, broker.url, broker.exchange)
    relay.publish_pending()
    relay.close()
    loops = Loops(consumer)
    try:
        wait_for(lambda: world.handled_ids() == [event_id], timeout=60, what="the slow handler's commit")
        wait_for(lambda: broker.message_count(consumer.queue) == 0, what="the queue drained")
        loops.stop()  # a redelivery (lost connection, lost ack) is handled or back in the queue by now
        assert world.handled_ids() == [event_id]
    finally:
        loops.stop()
        world.db.dispose()


def test_relay_publishes_in_commit_order_with_persistent_messages(databases, broker):
    world = World(databases.url("bus"))
    ids = [world.write_note(f"n{i}") for i in range(5)]
    consumer = _consumer(world, broker, broker.url)
    consumer.declare_on(broker.url)
    relay = OutboxRelay(world.db, world.outbox, broker.url, broker.exchange)
    assert relay.publish_pending() == 5
    assert relay.publish_pending() == 0
    relay.close()

    def drain(ch):
        out = []
        while True:
            method, props, _body = ch.basic_get(consumer.queue, auto_ack=True)
            if method is None:
                return out
            assert props.delivery_mode == pika.DeliveryMode.Persistent.value
            out.append(props.message_id)

    assert broker.channel_call(drain) == ids
    world.db.dispose()


def test_handled_events_are_counted_with_their_lag(databases, broker):
    from prometheus_client import REGISTRY

    world = World(databases.url("bus"))
    consumer = _consumer(world, broker, broker.url)
    world.write_note("counted")
    with world.db.unit_of_work() as s:
        body = s.execute(select(world.outbox.c.body)).scalar_one()
    labels = {"service": "svc", "event_name": "notifications.mail.failed.v1"}
    before = REGISTRY.get_sample_value("cartable_events_handled_total", {**labels, "outcome": "handled"}) or 0
    dup_before = (
        REGISTRY.get_sample_value("cartable_events_handled_total", {**labels, "outcome": "duplicate"}) or 0
    )
    assert consumer.handle(body) == "handled" and consumer.handle(body) == "duplicate"
    assert (
        REGISTRY.get_sample_value("cartable_events_handled_total", {**labels, "outcome": "handled"})
        == before + 1
    )
    assert (
        REGISTRY.get_sample_value("cartable_events_handled_total", {**labels, "outcome": "duplicate"})
        == dup_before + 1
    )
    lag = REGISTRY.get_sample_value("cartable_event_lag_seconds", {"service": "svc"})
    assert lag is not None and 0 <= lag < 60
    world.db.dispose()


def test_a_handled_event_is_acked_as_soon_as_its_handler_is_done(databases, broker):
    """The connection's thread waits for the handler's thread in slices; the handler ends the slice
    at once (a ten-minute slice here: only that wake-up can have acked the events)."""
    world = World(databases.url("bus"))
    consumer = _consumer(world, broker, broker.url)
    consumer.wait_slice = 600.0
    consumer.declare_on(broker.url)
    ids = [world.write_note(f"quick {i}") for i in range(3)]
    relay = OutboxRelay(world.db, world.outbox, broker.url, broker.exchange)
    relay.publish_pending()
    relay.close()
    loops = Loops(consumer)
    try:
        wait_for(lambda: sorted(world.handled_ids()) == sorted(ids), timeout=60, what="three events handled")
        wait_for(lambda: broker.message_count(consumer.queue) == 0, timeout=60, what="the queue drained")
    finally:
        loops.stop()
        world.db.dispose()
