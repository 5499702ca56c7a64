"""On PostgreSQL a transaction that writes events wakes the relays at its commit (pg_notify), once per
transaction: an idle relay publishes at once instead of looking at the outbox on its next round."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from cartable.notifications.v1 import events_pb2
from kit.bus import record_event, record_events
from kit.relay import OutboxRelay
from kit.testing import wait_for
from kit.tests.test_relay_batch import EVENT, Outbox, _bind_queue

pytestmark = pytest.mark.broker


@pytest.fixture
def pg_outbox(databases):
    if databases.backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite relays poll")
    box = Outbox(databases.url("relay"))
    yield box
    box.db.dispose()


def _statements(db):
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", before)


def test_a_transaction_wakes_the_relays_once_however_many_events_it_writes(pg_outbox):
    seen, stop = _statements(pg_outbox.db)
    try:
        with pg_outbox.db.unit_of_work() as s:
            for i in range(3):
                record_event(s, pg_outbox.outbox, EVENT, events_pb2.MailFailed(mail_id=str(i)), "school-1")
            record_events(s, pg_outbox.outbox, [(EVENT, events_pb2.MailFailed(mail_id="x"), "school-1")])
        with pg_outbox.db.unit_of_work() as s:
            record_event(s, pg_outbox.outbox, EVENT, events_pb2.MailFailed(mail_id="y"), "school-1")
    finally:
        stop()
    assert sum("pg_notify" in st for st in seen) == 2  # one per transaction


def test_an_idle_relay_publishes_at_the_commit_not_at_its_next_look(pg_outbox, broker):
    queue = _bind_queue(broker, "wake")
    relay = OutboxRelay(pg_outbox.db, pg_outbox.outbox, broker.url, broker.exchange)
    relay.idle_poll = 600.0  # it would look at the outbox again in ten minutes only
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_for(lambda: relay._listener is not None, timeout=30, what="the relay listening")
        wait_for(lambda: relay.broker_connected, timeout=30, what="the relay connected")
        pg_outbox.write(2)
        # Well within the relay's ten minutes: only the commit's notification can have woken it.
        wait_for(lambda: broker.message_count(queue) == 2, timeout=60, what="both events published")
        assert pg_outbox.pending() == 0
    finally:
        stop.set()
        # Wakes the relay's wait so that it sees stop (a notification is what it waits for).
        pg_outbox.write(1)
        runner.join(30)
    assert not runner.is_alive()
