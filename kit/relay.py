"""The outbox relay (kit/bus.py describes the whole bus): committed outbox rows published to RabbitMQ
with publisher confirms, a batch at a time; on PostgreSQL woken by the commit that wrote them
(``kit.bus.wake_relays``), elsewhere by polling."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pika
import pika.exceptions
import pika.frame
import pika.spec
from pika.adapters.blocking_connection import BlockingChannel
from pika.channel import Channel as PikaChannel
from sqlalchemy import Table, func, select, update

from kit.bus import AMQP_ERRORS, RELAY_CHANNEL, _connect, _nothing, declare_exchange
from kit.db import Database
from kit.metrics import BROKER_CONNECTED, Heartbeat

log = logging.getLogger("kit.bus")  # the bus's logger, as before the relay had a module of its own


class ConfirmsMissing(pika.exceptions.AMQPError):
    """The broker did not confirm a batch in time, or closed the channel before it did."""


class OutboxRelay:
    """Publishes committed outbox rows with publisher confirms, a batch at a time.

    A batch is written to the broker at once and its confirms are collected afterwards (one round trip
    per batch, not per message). Rows the broker acknowledged are marked published; rows it refused
    (nack) stay pending for the next batch. A lost connection or a missing confirm rolls the batch back:
    the rows are published again, and the consumers' inbox makes the second delivery a no-op."""

    def __init__(
        self,
        db: Database,
        outbox: Table,
        amqp_url: str,
        exchange: str,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        confirm_timeout: float = 30.0,
        service: str = "",
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.confirm_timeout = confirm_timeout
        self.service = service
        # Beats once per round of ``run``; a stuck loop goes stale (see kit.metrics.Heartbeat).
        self.heartbeat = heartbeat or Heartbeat()
        self.broker_connected = False
        self._conn: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._impl: PikaChannel | None = None
        self._next_tag = 1  # the broker numbers the messages of a confirming channel from 1
        self._outstanding: dict[int, int] = {}  # delivery tag -> outbox row id, awaiting the broker
        self._acked: list[int] = []
        self._listener: Any = None  # PostgreSQL: a connection of its own that LISTENs on RELAY_CHANNEL
        self.idle_poll = 1.0  # with the listener: how often an idle relay looks at the outbox anyway

    def _ensure_channel(self) -> PikaChannel:
        if self._conn is None or self._conn.is_closed or self._channel is None or self._channel.is_closed:
            self.close()
            self._conn = _connect(self.amqp_url)
            self._channel = self._conn.channel()
            declare_exchange(self._channel, self.exchange)
            # BlockingChannel's own confirm mode waits for each message's confirm inside basic_publish.
            # The asynchronous channel beneath it lets a whole batch go out first and the confirms
            # come back as callbacks (pika has no public blocking API for that).
            impl = cast(PikaChannel, cast(Any, self._channel)._impl)
            selected: list[bool] = []
            impl.confirm_delivery(
                ack_nack_callback=self._on_confirm, callback=lambda _f: selected.append(True)
            )
            self._wait_until(lambda: bool(selected), "Confirm.SelectOk")
            self._impl, self._next_tag = impl, 1
            self._outstanding.clear()
        assert self._impl is not None  # set with the connection above
        return self._impl

    def _on_confirm(self, frame: pika.frame.Method[Any]) -> None:
        method = frame.method
        tag = cast(int, method.delivery_tag)
        tags = [t for t in self._outstanding if t <= tag] if method.multiple else [tag]
        acked = isinstance(method, pika.spec.Basic.Ack)
        for t in tags:
            row_id = self._outstanding.pop(t, None)
            if row_id is not None and acked:
                self._acked.append(row_id)
        if not acked:
            log.warning("broker refused outbox events, they stay pending", extra={"refused": len(tags)})
        if not self._outstanding and self._conn is not None:
            self._conn.call_later(0, _nothing)  # ends the process_data_events below at once

    def _wait_until(self, done: Callable[[], bool], what: str) -> None:
        assert self._conn is not None and self._channel is not None
        deadline = time.monotonic() + self.confirm_timeout
        while not done():
            if self._channel.is_closed:
                raise ConfirmsMissing(f"the broker closed the channel before {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmsMissing(f"no {what} within {self.confirm_timeout:g} s")
            self._conn.process_data_events(time_limit=min(remaining, 1.0))

    def close(self) -> None:
        if self._conn is not None and self._conn.is_open:
            try:
                self._conn.close()
            except AMQP_ERRORS:
                pass
        self._conn = self._channel = self._impl = None
        self._outstanding.clear()

    def _listen(self) -> Any:
        """The LISTENing connection (made on first use; None on SQLite or while the database does not
        answer: the relay then polls)."""
        if self._listener is not None or self.db.is_sqlite:
            return self._listener
        try:
            raw = self.db.engine.raw_connection()
            conn: Any = raw.driver_connection
            raw.detach()  # its own connection for good, outside the pool
            conn.autocommit = True
            conn.execute(f"LISTEN {RELAY_CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - any failure: poll, and try again next round
            log.warning("relay cannot listen, it polls", extra={"error": repr(exc)})
            return None
        self._listener = conn
        return conn

    def _drop_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
        self._listener = None

    def _wait_for_events(self) -> None:
        """Idle: until a transaction wrote events (or ``idle_poll`` seconds), keeping the broker's
        heartbeats going."""
        assert self._conn is not None
        was_listening = self._listener is not None
        listener = self._listen()
        if listener is None:
            self._conn.process_data_events(time_limit=self.poll_interval)
            return
        if not was_listening:  # events written before the LISTEN woke nobody: look again first
            self._conn.process_data_events(time_limit=0)
            return
        try:
            for _ in listener.notifies(timeout=self.idle_poll, stop_after=1):
                pass
        except Exception as exc:  # noqa: BLE001 - the database went away: poll until it is back
            log.warning("relay stopped listening, it polls", extra={"error": repr(exc)})
            self._drop_listener()
        self._conn.process_data_events(time_limit=0)

    def backlog(self) -> int:
        """Events written but not yet published."""
        with self.db.unit_of_work() as s:
            return s.execute(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.published_at.is_(None))
            ).scalar_one()

    def publish_pending(self) -> int:
        """Publish one batch; returns how many were confirmed. Raises AMQP errors to the caller."""
        impl = self._ensure_channel()
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
            self._acked = []
            for row in rows:
                props = pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=row.event_id,
                    type=row.event_name,
                    content_type="application/x-protobuf",
                )
                impl.basic_publish(self.exchange, row.event_name, row.body, props)
                self._outstanding[self._next_tag] = row.id
                self._next_tag += 1
            self._wait_until(lambda: not self._outstanding, f"confirms of {len(rows)} events")
            if self._acked:
                s.execute(update(o).where(o.c.id.in_(self._acked)).values(published_at=datetime.now(UTC)))
            return len(self._acked)

    def _broker(self, connected: bool) -> None:
        self.broker_connected = connected
        BROKER_CONNECTED.labels(self.service, "relay").set(1 if connected else 0)

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set, reconnecting with backoff when the broker goes away."""
        backoff = 0.5
        while not stop.is_set():
            self.heartbeat.beat()
            try:
                n = self.publish_pending()
                self._broker(True)
                backoff = 0.5
                if n == 0:
                    self._wait_for_events()
            except AMQP_ERRORS as exc:
                self._broker(False)
                log.warning("broker unavailable, outbox events wait", extra={"error": repr(exc)})
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.close()
        self._drop_listener()
