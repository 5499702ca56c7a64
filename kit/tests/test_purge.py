"""Purge on a schedule: published outbox rows and handled inbox rows past their retention, expired
idempotency keys; pending outbox rows and anything recent stay. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kit import bus, idempotency
from kit.bus import bus_tables
from kit.db import Database, delete_in_batches
from kit.idempotency import idempotency_table, run_idempotent
from kit.migrations import new_metadata
from kit.service import Runtime, ServiceSpec, purge
from kit.settings import ROOT
from kit.testing import test_settings

NOW = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)


class Tables:
    def __init__(self, url: str) -> None:
        self.metadata = new_metadata()
        self.outbox, self.inbox = bus_tables(self.metadata)
        self.keys = idempotency_table(self.metadata)
        self.db = Database(url)
        self.metadata.create_all(self.db.engine)

    def outbox_row(self, name: str, created: datetime, published: datetime | None) -> None:
        with self.db.unit_of_work() as s:
            s.execute(
                self.outbox.insert().values(
                    event_id=str(uuid.uuid4()),
                    event_name=name,
                    body=b"x",
                    created_at=created,
                    published_at=published,
                )
            )

    def inbox_row(self, name: str, handled: datetime) -> None:
        with self.db.unit_of_work() as s:
            s.execute(
                self.inbox.insert().values(event_id=str(uuid.uuid4()), event_name=name, handled_at=handled)
            )

    def key_row(self, key: str, created: datetime) -> None:
        with self.db.unit_of_work() as s:
            s.execute(
                self.keys.insert().values(
                    scope="pay", key=key, request_hash="h", response=b"", created_at=created
                )
            )

    def names(self, table) -> list[str]:
        col = table.c.key if table is self.keys else table.c.event_name
        with self.db.unit_of_work() as s:
            return sorted(s.execute(select(col)).scalars())


def _days(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_purge_takes_what_is_past_its_retention_and_keeps_the_rest(databases):
    t = Tables(databases.url("purge"))
    t.outbox_row("published-long-ago", _days(10), _days(9))
    t.outbox_row("published-yesterday", _days(1), _days(1))
    t.outbox_row("pending-for-ten-days", _days(10), None)  # the relay has not sent it: never purged
    t.inbox_row("handled-long-ago", _days(31))
    t.inbox_row("handled-last-week", _days(8))
    t.key_row("expired", _days(8))
    t.key_row("live", _days(6))
    spec = ServiceSpec("demo", t.metadata, t.outbox, t.inbox, Path("unused"), registrations=lambda rt: [])
    rt = Runtime(spec=spec, settings=None, db=t.db, verifier=None)  # type: ignore[arg-type]

    counts = purge(rt, NOW)

    assert counts == {"outbox": 1, "inbox": 1, "idempotency_keys": 1}
    assert t.names(t.outbox) == ["pending-for-ten-days", "published-yesterday"]
    assert t.names(t.inbox) == ["handled-last-week"]
    assert t.names(t.keys) == ["live"]
    assert purge(rt, NOW) == {"outbox": 0, "inbox": 0, "idempotency_keys": 0}
    t.db.dispose()


def test_the_retentions_are_a_week_for_the_outbox_and_keys_a_month_for_the_inbox():
    assert timedelta(days=7) == bus.OUTBOX_RETENTION
    assert timedelta(days=30) == bus.INBOX_RETENTION
    assert timedelta(days=7) == idempotency.KEY_TTL


def test_a_service_without_idempotency_keys_purges_its_outbox_and_inbox(databases):
    metadata = new_metadata()
    outbox, inbox = bus_tables(metadata)
    db = Database(databases.url("nokeys"))
    metadata.create_all(db.engine)
    spec = ServiceSpec("demo", metadata, outbox, inbox, Path("unused"), registrations=lambda rt: [])
    rt = Runtime(spec=spec, settings=None, db=db, verifier=None)  # type: ignore[arg-type]
    assert purge(rt, NOW) == {"outbox": 0, "inbox": 0}
    db.dispose()


def test_large_purges_go_in_batches_with_composite_keys(databases):
    t = Tables(databases.url("batches"))
    for i in range(25):
        t.key_row(f"old-{i:02}", _days(30))
    t.key_row("new", NOW)
    assert delete_in_batches(t.db, t.keys, t.keys.c.created_at < _days(7), batch=10) == 25
    assert t.names(t.keys) == ["new"]
    t.db.dispose()


def test_an_expired_key_no_longer_replays_its_answer(databases):
    from cartable.notifications.v1 import events_pb2

    t = Tables(databases.url("replay"))
    runs: list[int] = []

    def work(_s):
        runs.append(1)
        return events_pb2.MailFailed(mail_id=str(len(runs)))

    first = run_idempotent(t.db, t.keys, "pay", "k1", "h", events_pb2.MailFailed, work)
    assert run_idempotent(t.db, t.keys, "pay", "k1", "h", events_pb2.MailFailed, work) == first
    assert runs == [1]
    assert idempotency.purge_expired_keys(t.db, t.keys, datetime.now(UTC) + timedelta(days=8)) == 1
    again = run_idempotent(t.db, t.keys, "pay", "k1", "h", events_pb2.MailFailed, work)
    assert runs == [1, 1] and again.mail_id == "2"
    t.db.dispose()


def test_each_service_has_a_purge_command(databases, keys, tmp_path):
    """``python -m services.finance purge``: the command every service gets from kit.service."""
    url = databases.migrated("finance")
    settings = test_settings("finance", url, keys, None)
    db = Database(url)
    from services.finance import db as finance_db

    with db.unit_of_work() as s:
        s.execute(
            finance_db.outbox.insert().values(
                event_id=str(uuid.uuid4()),
                event_name="old",
                body=b"x",
                created_at=datetime.now(UTC) - timedelta(days=3),
                published_at=datetime.now(UTC) - timedelta(days=3),
            )
        )
    env = {
        **os.environ,
        "CARTABLE_ENV": "test",
        "FINANCE_DATABASE_URL": url,
        "IDENTITY_PRIVATE_KEY_FILE": str(keys.private_file),
        "IDENTITY_PUBLIC_KEY_FILE": str(keys.public_file),
        "CARTABLE_VAR_DIR": str(settings.var_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.finance", "purge", "--outbox-days", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"purged"' in done.stderr + done.stdout
    with db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(finance_db.outbox)).scalar_one() == 0
    db.dispose()
