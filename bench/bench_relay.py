"""Outbox relay throughput against the real RabbitMQ and PostgreSQL: the relay as it was (each message
waits for its own publisher confirm) beside the batching relay (a batch goes out, then its confirms are
collected), on the same backlog in the same run.

Each run writes the backlog into a fresh outbox (one multi-row insert), binds a durable queue to the
exchange (persistent messages are confirmed once the queue has them), then times the relay until the
outbox is empty and checks every event reached the queue once.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_relay.py

Settings: BENCH_EVENTS (default 5000), BENCH_BATCH (the relay's batch size, 200), BENCH_BACKEND
(postgresql or sqlite). Scratch databases, exchange and queue are created and removed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

import pika  # noqa: E402
from pika.adapters.blocking_connection import BlockingChannel  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from cartable.notifications.v1 import events_pb2  # noqa: E402
from kit.bus import _connect, bus_tables, declare_exchange, record_events  # noqa: E402
from kit.db import Database  # noqa: E402
from kit.migrations import new_metadata  # noqa: E402
from kit.relay import OutboxRelay  # noqa: E402
from kit.testing import BrokerNamespace, ThrowawayDatabases  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
BATCH = int(os.environ.get("BENCH_BATCH", "200"))
BACKEND = os.environ.get("BENCH_BACKEND", "postgresql")
EVENT = "notifications.mail.failed.v1"


class OneConfirmPerMessageRelay(OutboxRelay):
    """The relay before batching (kit/bus.py until this benchmark's commit): BlockingChannel's confirm
    mode, so each basic_publish returns only once the broker confirmed that message."""

    def _ensure_channel(self) -> BlockingChannel:  # type: ignore[override]
        if self._conn is None or self._conn.is_closed:
            self._conn = _connect(self.amqp_url)
            self._channel = self._conn.channel()
            self._channel.confirm_delivery()
            declare_exchange(self._channel, self.exchange)
        assert self._channel is not None
        return self._channel

    def publish_pending(self) -> int:
        channel = self._ensure_channel()
        o = self.outbox
        with self.db.unit_of_work() as s:
            q = (
                select(o.c.id, o.c.event_id, o.c.event_name, o.c.body)
                .where(o.c.published_at.is_(None))
                .order_by(o.c.id)
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = s.execute(q).all()
            if not rows:
                return 0
            done = []
            for row in rows:
                props = pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=row.event_id,
                    type=row.event_name,
                    content_type="application/x-protobuf",
                )
                channel.basic_publish(self.exchange, row.event_name, row.body, props)
                done.append(row.id)
            s.execute(update(o).where(o.c.id.in_(done)).values(published_at=datetime.now(UTC)))
            return len(done)


def one_run(relay_class: type[OutboxRelay], dbs: ThrowawayDatabases, broker: BrokerNamespace) -> float:
    metadata = new_metadata()
    outbox, _ = bus_tables(metadata)
    db = Database(dbs.url("relaybench"))
    metadata.create_all(db.engine)
    with db.unit_of_work() as s:
        record_events(
            s, outbox, [(EVENT, events_pb2.MailFailed(mail_id=str(i)), "school-1") for i in range(EVENTS)]
        )
    queue = broker.queue("relaybench")

    def bind(ch: BlockingChannel) -> None:
        declare_exchange(ch, broker.exchange)
        ch.queue_declare(queue=queue, durable=True)
        ch.queue_purge(queue=queue)
        ch.queue_bind(queue=queue, exchange=broker.exchange, routing_key=EVENT)

    broker.channel_call(bind)
    relay = relay_class(db, outbox, broker.url, broker.exchange, batch_size=BATCH)
    relay._ensure_channel()  # connecting is not what is measured
    started = time.perf_counter()
    published = 0
    while n := relay.publish_pending():
        published += n
    elapsed = time.perf_counter() - started
    relay.close()
    assert published == EVENTS, (published, EVENTS)
    assert relay.backlog() == 0
    in_queue = broker.message_count(queue)
    assert in_queue == EVENTS, (in_queue, EVENTS)
    db.dispose()
    return elapsed


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cartable-bench-relay-"))
    broker = BrokerNamespace()
    results = {}
    try:
        for label, cls in (
            ("before: a confirm per message", OneConfirmPerMessageRelay),
            ("after: a batch, then its confirms", OutboxRelay),
        ):
            dbs = ThrowawayDatabases(BACKEND, tmp / cls.__name__)
            (tmp / cls.__name__).mkdir()
            try:
                results[label] = one_run(cls, dbs, broker)
            finally:
                dbs.cleanup()
    finally:
        broker.cleanup()
    print(
        f"outbox relay, {EVENTS} events, batches of {BATCH}, {BACKEND} + RabbitMQ (persistent, durable queue)"
    )
    for label, seconds in results.items():
        print(f"  {label:<36} {EVENTS / seconds:9.0f} events/s   ({seconds:6.2f} s)")
    before, after = results.values()
    print(f"  speed-up {before / after:.1f}x")


if __name__ == "__main__":
    main()
