"""The outbox relay publishes a batch, then collects the publisher confirms: against the real RabbitMQ,
on SQLite and PostgreSQL.

A proxy between the relay and the broker holds back what the broker sends (its confirms): a relay
that waits for each message's confirm before the next one gets one message through; a batching relay
gets the whole batch to the broker before any confirm comes back."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
from sqlalchemy import func, select

from cartable.notifications.v1 import events_pb2
from kit.bus import bus_tables, record_event
from kit.db import Database
from kit.migrations import new_metadata
from kit.relay import OutboxRelay
from kit.testing import wait_for

pytestmark = pytest.mark.broker

EVENT = "notifications.mail.failed.v1"


class HeldConfirmsProxy:
    """A TCP relay to the broker whose broker -> client direction can be held (the client's frames
    still reach the broker; nothing comes back until ``release``)."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, held: bool) -> None:
        try:
            while data := src.recv(65536):
                if held:
                    self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass

    def hold(self) -> None:
        self.flowing.clear()

    def release(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.release()
        self.listener.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass


class Outbox:
    def __init__(self, url: str) -> None:
        self.metadata = new_metadata()
        self.outbox, _ = bus_tables(self.metadata)
        self.db = Database(url)
        self.metadata.create_all(self.db.engine)

    def write(self, n: int) -> None:
        with self.db.unit_of_work() as s:
            for i in range(n):
                record_event(s, self.outbox, EVENT, events_pb2.MailFailed(mail_id=str(i)), "school-1")

    def pending(self) -> int:
        with self.db.unit_of_work() as s:
            return s.execute(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.published_at.is_(None))
            ).scalar_one()


@pytest.fixture
def outbox(databases):
    box = Outbox(databases.url("relay"))
    yield box
    box.db.dispose()


@pytest.fixture
def proxy():
    p = HeldConfirmsProxy()
    yield p
    p.close()


def _bind_queue(broker, name: str, **arguments) -> str:
    queue = broker.queue(name)

    def declare(ch):
        ch.exchange_declare(exchange=broker.exchange, exchange_type="topic", durable=True)
        ch.queue_declare(queue=queue, durable=True, arguments=arguments or None)
        ch.queue_bind(queue=queue, exchange=broker.exchange, routing_key=EVENT)

    broker.channel_call(declare)
    return queue


def test_a_batch_reaches_the_broker_before_any_confirm_comes_back(outbox, broker, proxy):
    queue = _bind_queue(broker, "batch")
    outbox.write(50)
    relay = OutboxRelay(outbox.db, outbox.outbox, proxy.url(), broker.exchange, batch_size=50)
    relay._ensure_channel()  # connected (the broker's answers flow) before its confirms are held
    proxy.hold()
    answer: list[int] = []
    worker = threading.Thread(target=lambda: answer.append(relay.publish_pending()), daemon=True)
    worker.start()
    try:
        # One round trip per message would leave 49 of them waiting for the first one's confirm.
        wait_for(
            lambda: broker.message_count(queue) == 50,
            timeout=20,
            what="the whole batch in the queue while no confirm reached the relay",
            describe=lambda: f"{broker.message_count(queue)} in the queue",
        )
        assert answer == []  # still waiting for the confirms (the rows stay locked until they come)
    finally:
        proxy.release()
    worker.join(30)
    relay.close()
    assert answer == [50]
    assert outbox.pending() == 0


def test_events_the_broker_refuses_stay_pending_and_go_out_with_a_later_batch(outbox, broker):
    # A full queue that rejects new messages: the broker nacks what it cannot route to it.
    queue = _bind_queue(broker, "small", **{"x-max-length": 2, "x-overflow": "reject-publish"})
    outbox.write(5)
    relay = OutboxRelay(outbox.db, outbox.outbox, broker.url, broker.exchange)
    assert relay.publish_pending() == 2
    assert outbox.pending() == 3
    broker.channel_call(lambda ch: ch.queue_purge(queue=queue))
    assert relay.publish_pending() == 2
    broker.channel_call(lambda ch: ch.queue_purge(queue=queue))
    assert relay.publish_pending() == 1
    assert outbox.pending() == 0
    relay.close()


def test_a_channel_the_broker_closes_mid_batch_leaves_the_batch_pending_and_the_relay_recovers(
    outbox, broker
):
    queue = _bind_queue(broker, "recover")
    outbox.write(3)
    relay = OutboxRelay(outbox.db, outbox.outbox, broker.url, broker.exchange, confirm_timeout=10)
    relay._ensure_channel()
    # Publishing to an exchange that is gone makes the broker close the channel (404).
    broker.channel_call(lambda ch: ch.exchange_delete(exchange=broker.exchange))
    with pytest.raises(Exception, match=r"closed the channel|NOT_FOUND"):
        relay.publish_pending()
    assert outbox.pending() == 3
    relay.close()
    _bind_queue(broker, "recover")  # the exchange back, as a restarted relay declares it
    assert relay.publish_pending() == 3
    assert outbox.pending() == 0
    assert broker.message_count(queue) == 3
    relay.close()


def test_a_large_backlog_goes_out_in_batches_each_marked_once(outbox, broker):
    queue = _bind_queue(broker, "backlog")
    outbox.write(450)
    relay = OutboxRelay(outbox.db, outbox.outbox, broker.url, broker.exchange, batch_size=200)
    assert [relay.publish_pending() for _ in range(4)] == [200, 200, 50, 0]
    relay.close()
    wait_for(lambda: broker.message_count(queue) == 450, what="450 messages in the queue")
    ids = {uuid.UUID(m) for m in _message_ids(broker, queue)}
    assert len(ids) == 450


def _message_ids(broker, queue: str) -> list[str]:
    def drain(ch):
        out = []
        while True:
            method, props, _body = ch.basic_get(queue=queue, auto_ack=True)
            if method is None:
                return out
            out.append(props.message_id)

    return broker.channel_call(drain)
