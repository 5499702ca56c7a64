"""The event bus on RabbitMQ: transactional outbox, relay with publisher confirms, consumers with an
inbox and a dead-letter queue.

- ``record_event`` writes the event into the ``outbox`` table inside the use case's own transaction:
  if the transaction rolls back, nothing is published; if it commits, the relay publishes it later,
  even when the broker is down at that moment.
- ``OutboxRelay`` (kit/relay.py) publishes pending rows in order, a batch at a time, collects the batch's publisher
  confirms and marks the confirmed rows published. On PostgreSQL a transaction that wrote events
  wakes it (``pg_notify`` on ``RELAY_CHANNEL``, delivered at the commit, once per transaction): it
  publishes at once and otherwise looks at the outbox once a second (the notification is a hint,
  the table the truth); on SQLite it looks every ``poll_interval``. Several relays may run (finance scaled out): on
  PostgreSQL rows are claimed with SKIP LOCKED.
- ``EventConsumer`` reads the service's durable queue; each event is handled in one transaction that
  also records its ``event_id`` in the ``inbox`` (a redelivered event is handled once); the message is
  acked only after that commit. A handler that keeps failing is retried ``max_attempts`` times, then
  dead-lettered to ``<queue>.dlq``. Connections are re-opened after a broker restart. The handler runs
  in a worker thread while the connection's own thread keeps heartbeats going (pika is not
  thread-safe: the connection is only ever touched by the thread that opened it).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar, cast

import pika
import pika.exceptions
import pika.frame
import pika.spec
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import DecodeError, Message
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.orm import Session

from cartable.events.v1 import envelope_pb2
from kit.db import Database, aware, bulk_insert, delete_in_batches
from kit.logs import event_id_var, request_id_var
from kit.metrics import BROKER_CONNECTED, EVENTS_HANDLED, QUEUE_LAG, Heartbeat

log = logging.getLogger("kit.bus")

DLX = "cartable.dlx"
# The PostgreSQL notification channel that wakes a service's relays (each service has its database).
RELAY_CHANNEL = "cartable_outbox"
_WOKEN = "kit.bus.relay_woken"
AMQP_ERRORS = (pika.exceptions.AMQPError, ConnectionError, OSError)


def bus_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the ``outbox`` and ``inbox`` tables to a service's metadata (its migrations create them)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_name", String(120), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_name", String(120), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox


def make_envelope(
    name: str, payload: Message, school_id: str, correlation_id: str | None = None
) -> envelope_pb2.Envelope:
    any_payload = any_pb2.Any()
    any_payload.Pack(payload)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return envelope_pb2.Envelope(
        event_id=str(uuid.uuid4()),
        event_name=name,
        occurred_at=ts,
        school_id=school_id,
        correlation_id=correlation_id if correlation_id is not None else request_id_var.get(),
        payload=any_payload,
    )


def record_event(
    session: Session, outbox: Table, name: str, payload: Message, school_id: str
) -> envelope_pb2.Envelope:
    """Write an event into the outbox in the caller's transaction; the relay publishes it after commit."""
    env = make_envelope(name, payload, school_id)
    session.execute(
        outbox.insert().values(
            event_id=env.event_id, event_name=name, body=env.SerializeToString(), created_at=datetime.now(UTC)
        )
    )
    wake_relays(session)
    return env


def wake_relays(session: Session) -> None:
    """Have the relays look at the outbox when this transaction commits (PostgreSQL: one
    ``pg_notify`` per transaction, dropped with it on a rollback; SQLite: they poll)."""
    if claim_wake(session):
        session.execute(select(func.pg_notify(RELAY_CHANNEL, "")))


def claim_wake(session: Session) -> bool:
    """Whether the caller must notify the relays in this transaction (PostgreSQL, and nothing in the
    transaction did yet): then it is counted as done. For a statement that writes outbox rows itself
    and carries the notification in the same statement (:data:`WAKE_SQL`)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    tx = session.get_transaction()
    if tx is None or session.info.get(_WOKEN) is tx:
        return False
    session.info[_WOKEN] = tx
    return True


# An INSERT ... into the outbox carrying the relays' notification in the same statement (PostgreSQL):
# ``WAKE_SQL.format(insert=...)``; a data-modifying WITH runs to completion whatever the query reads.
WAKE_SQL = "WITH written AS ({insert}) SELECT pg_notify('" + RELAY_CHANNEL + "', '')"


def record_events(
    session: Session, outbox: Table, events: list[tuple[str, Message, str]]
) -> list[envelope_pb2.Envelope]:
    """``record_event`` for many ``(name, payload, school_id)`` at once (one multi-row insert, in
    order): for use cases that raise thousands of events in one transaction (a bank statement)."""
    if not events:
        return []
    now = datetime.now(UTC)
    envs = [make_envelope(name, payload, school_id) for name, payload, school_id in events]
    bulk_insert(
        session,
        outbox,
        [
            {
                "event_id": e.event_id,
                "event_name": e.event_name,
                "body": e.SerializeToString(),
                "created_at": now,
            }
            for e in envs
        ],
    )
    wake_relays(session)
    return envs


def _connect(url: str, heartbeat: int = 30) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    params.socket_timeout = 5
    return pika.BlockingConnection(params)


def declare_exchange(channel: BlockingChannel, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


def broker_answers(url: str) -> bool:
    """True when an AMQP connection can be opened."""
    return broker_report(url)[0]


def broker_report(url: str, queue: str | None = None) -> tuple[bool, int]:
    """Whether the broker answers, and how many consumers read ``queue`` (0 when it does not exist or
    no queue is named): what a server says about the broker and its service's consumers."""
    try:
        conn = _connect(url)
    except AMQP_ERRORS:
        return False, 0
    consumers = 0
    try:
        if queue:
            try:
                consumers = conn.channel().queue_declare(queue=queue, passive=True).method.consumer_count
            except pika.exceptions.ChannelClosedByBroker:
                consumers = 0  # 404: never declared, no consumer ever started
    except AMQP_ERRORS:
        return False, 0
    finally:
        try:
            conn.close()
        except AMQP_ERRORS:
            pass
    return True, consumers


# How long handled rows are kept. Published outbox rows are only history once out; inbox rows stop
# a redelivered event from being handled twice, so they outlive any redelivery (a message the broker
# still holds, one replayed from the dead-letter queue by hand).
OUTBOX_RETENTION = timedelta(days=7)
INBOX_RETENTION = timedelta(days=30)


def purge_outbox(db: Database, outbox: Table, now: datetime, retention: timedelta = OUTBOX_RETENTION) -> int:
    """Delete outbox rows published more than ``retention`` ago (pending rows always stay)."""
    return delete_in_batches(db, outbox, outbox.c.published_at < now - retention)


def purge_inbox(db: Database, inbox: Table, now: datetime, retention: timedelta = INBOX_RETENTION) -> int:
    """Delete inbox rows of events handled more than ``retention`` ago."""
    return delete_in_batches(db, inbox, inbox.c.handled_at < now - retention)


def outbox_lag(db: Database, outbox: Table) -> float:
    """Seconds since the oldest event still waiting in ``outbox`` was written (0 when none waits): how
    far behind the relay is, seen from the database alone."""
    with db.unit_of_work() as s:
        oldest: datetime | None = s.execute(
            select(func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        ).scalar()
    if oldest is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - aware(oldest)).total_seconds())


def _nothing() -> None:
    pass


E = TypeVar("E", bound=Message)

# A reaction to one event: it runs in the consumer's transaction (``session``), with the envelope
# (school, correlation id) and the payload unpacked as its own message type.
Handler = Callable[[Session, envelope_pb2.Envelope, E], None]


@dataclass(frozen=True)
class Binding(Generic[E]):
    """What a routing key is unpacked as, and who handles it: ``Binding(InvoiceIssued, on_issued)``
    where ``on_issued`` takes an ``InvoiceIssued`` (a bindings map holds ``Binding[Any]``)."""

    payload_type: type[E]
    handler: Handler[E]


class EventConsumer:
    """Consumes a service's durable queue; see the module docstring."""

    def __init__(
        self,
        db: Database,
        inbox: Table,
        amqp_url: str,
        exchange: str,
        queue: str,
        bindings: Mapping[str, Binding[Any]],
        *,
        max_attempts: int = 5,
        retry_delay: float = 0.5,
        heartbeat: Heartbeat | None = None,
        handler_deadline: float = 300.0,
    ) -> None:
        self.db = db
        self.inbox = inbox
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue = queue
        self.dlq = queue + ".dlq"
        self.bindings = bindings
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="handler")
        # "<prefix>finance.events" -> "finance": the label of this consumer's metrics
        self.service = queue.removesuffix(".events").rsplit(".", 1)[-1]
        # Beats each time the loop goes round, and while a handler runs up to ``handler_deadline``
        # seconds: a handler stuck longer than that lets the heartbeat go stale (liveness restarts).
        self.heartbeat = heartbeat or Heartbeat()
        self.handler_deadline = handler_deadline
        # How long the connection thread waits for a handler between heartbeats (the handler ends the
        # wait as soon as it is done).
        self.wait_slice = 0.2
        self.broker_connected = False

    def declare(self, channel: BlockingChannel) -> None:
        declare_exchange(channel, self.exchange)
        channel.exchange_declare(exchange=DLX, exchange_type="direct", durable=True)
        channel.queue_declare(queue=self.dlq, durable=True)
        channel.queue_bind(queue=self.dlq, exchange=DLX, routing_key=self.queue)
        channel.queue_declare(
            queue=self.queue,
            durable=True,
            arguments={"x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": self.queue},
        )
        for key in self.bindings:
            channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=key)

    def declare_on(self, url: str) -> None:
        """Declare the exchange, queue, bindings and dead-letter queue (idempotent)."""
        conn = _connect(url)
        try:
            self.declare(conn.channel())
        finally:
            conn.close()

    def handle(self, body: bytes) -> str:
        """Handle one message body in one transaction. Returns ``handled`` or ``duplicate``."""
        env = envelope_pb2.Envelope()
        env.ParseFromString(body)
        binding = self.bindings.get(env.event_name)
        if binding is None:
            raise LookupError(f"no handler for {env.event_name}")
        payload = binding.payload_type()
        if not env.payload.Unpack(payload):
            raise DecodeError(f"payload of {env.event_name} is not {binding.payload_type.__name__}")
        rtok = request_id_var.set(env.correlation_id)
        etok = event_id_var.set(env.event_id)
        try:
            with self.db.unit_of_work() as s:
                seen = s.execute(
                    select(self.inbox.c.event_id).where(self.inbox.c.event_id == env.event_id)
                ).first()
                if seen:
                    log.info("event already handled", extra={"event_name": env.event_name})
                    EVENTS_HANDLED.labels(self.service, env.event_name, "duplicate").inc()
                    return "duplicate"
                s.execute(
                    self.inbox.insert().values(
                        event_id=env.event_id, event_name=env.event_name, handled_at=datetime.now(UTC)
                    )
                )
                binding.handler(s, env, payload)
            log.info("event handled", extra={"event_name": env.event_name})
            EVENTS_HANDLED.labels(self.service, env.event_name, "handled").inc()
            if env.HasField("occurred_at"):
                lag = (datetime.now(UTC) - env.occurred_at.ToDatetime(tzinfo=UTC)).total_seconds()
                QUEUE_LAG.labels(self.service).set(max(0.0, lag))
            return "handled"
        finally:
            request_id_var.reset(rtok)
            event_id_var.reset(etok)

    def _wait_keeping_heartbeats(
        self, conn: pika.BlockingConnection, fut: concurrent.futures.Future[str]
    ) -> None:
        started = time.monotonic()

        def wake(_done: concurrent.futures.Future[str]) -> None:
            # The handler's thread ends the wait below at once (pika's one thread-safe call):
            # without it each event waited out its slice (0.2 s), five events a second at most.
            try:
                conn.add_callback_threadsafe(_nothing)
            except Exception:  # noqa: BLE001, S110 - the connection closed meanwhile: nothing to wake
                pass

        fut.add_done_callback(wake)
        while not fut.done():
            if time.monotonic() - started < self.handler_deadline:
                self.heartbeat.beat()
            conn.process_data_events(time_limit=self.wait_slice)

    def _on_message(
        self,
        conn: pika.BlockingConnection,
        channel: BlockingChannel,
        method: pika.spec.Basic.Deliver,
        props: pika.BasicProperties,
        body: bytes,
    ) -> None:
        headers: dict[str, Any] = dict(props.headers or {})
        tag = cast(int, method.delivery_tag)  # always set on a delivery (the stubs allow None)
        attempts = int(headers.get("x-attempts", 0)) + 1
        fut = self._pool.submit(self.handle, body)
        self._wait_keeping_heartbeats(conn, fut)
        try:
            fut.result()
        except Exception as exc:
            permanent = isinstance(exc, (DecodeError, LookupError))
            log.warning(
                "event handler failed",
                extra={"attempt": attempts, "error": repr(exc), "routing_key": method.routing_key},
                exc_info=not permanent,
            )
            EVENTS_HANDLED.labels(self.service, props.type or method.routing_key, "failed").inc()
            if permanent or attempts >= self.max_attempts:
                channel.basic_nack(tag, requeue=False)  # to the dead-letter queue
                return
            deadline = time.monotonic() + self.retry_delay * attempts
            while time.monotonic() < deadline:
                self.heartbeat.beat()
                conn.process_data_events(time_limit=0.1)
            headers["x-attempts"] = attempts
            retry_props = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=props.message_id,
                type=props.type,
                content_type=props.content_type,
                headers=headers,
            )
            # Re-queue at the tail with the attempt count, then ack the original. A crash in between
            # redelivers it: the inbox makes the second handling a no-op.
            channel.basic_publish("", self.queue, body, retry_props)
            channel.basic_ack(tag)
            return
        channel.basic_ack(tag)

    def _broker(self, connected: bool) -> None:
        self.broker_connected = connected
        BROKER_CONNECTED.labels(self.service, "consume").set(1 if connected else 0)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; reconnect with backoff after a broker restart."""
        backoff = 0.5
        while not stop.is_set():
            self.heartbeat.beat()
            conn = None
            try:
                conn = _connect(self.amqp_url)
                channel = conn.channel()
                self.declare(channel)
                channel.basic_qos(prefetch_count=1)
                pending: list[tuple[pika.spec.Basic.Deliver, pika.BasicProperties, bytes]] = []
                channel.basic_consume(
                    self.queue,
                    lambda ch, m, p, b: pending.append((m, p, b)),  # noqa: B023
                    auto_ack=False,
                )
                self._broker(True)
                backoff = 0.5
                while not stop.is_set():
                    self.heartbeat.beat()
                    conn.process_data_events(time_limit=0.2)
                    while pending:
                        m, p, b = pending.pop(0)
                        self._on_message(conn, channel, m, p, b)
                if conn.is_open:
                    conn.close()
            except AMQP_ERRORS as exc:
                self._broker(False)
                log.warning("broker unavailable, consumer reconnects", extra={"error": repr(exc)})
                if conn is not None and conn.is_open:
                    try:
                        conn.close()
                    except AMQP_ERRORS:
                        pass
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self._pool.shutdown(wait=True)
