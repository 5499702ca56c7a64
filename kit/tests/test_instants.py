"""Instants in and out: ``kit.db.aware`` on what each backend hands back, ``kit.instants.parse_instant``
on what callers send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, Table, select

from kit.db import Database, aware
from kit.errors import InvalidRequest
from kit.instants import parse_instant
from kit.migrations import new_metadata


def test_aware_gives_back_the_stored_utc_instant_on_every_backend(databases):
    metadata = new_metadata()
    t = Table("t", metadata, Column("id", Integer, primary_key=True), Column("at", DateTime(timezone=True)))
    db = Database(databases.url("kit"))
    metadata.create_all(db.engine)
    written = datetime(2026, 10, 14, 21, 59, 30, tzinfo=UTC)
    with db.unit_of_work() as s:
        s.execute(t.insert().values(id=1, at=written))
        s.execute(t.insert().values(id=2, at=None))
    with db.unit_of_work() as s:
        rows = {r.id: r.at for r in s.execute(select(t.c.id, t.c.at))}
    db.dispose()
    got = aware(rows[1])
    assert got == written
    assert got.utcoffset() == timedelta(0)
    assert aware(rows[2]) is None


def test_aware_keeps_an_offset_it_is_given():
    brussels = datetime(2026, 10, 14, 23, 59, tzinfo=timezone(timedelta(hours=2)))
    assert aware(brussels) is brussels


def test_parse_instant_answers_utc():
    got = parse_instant("2026-10-14T23:59:00+02:00", "starts_at")
    assert got == datetime(2026, 10, 14, 21, 59, tzinfo=UTC)
    assert got.tzinfo is UTC
    assert parse_instant("2026-10-14T21:59:00Z", "x") == got


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("soon", "expected an RFC 3339 instant"),
        ("", "expected an RFC 3339 instant"),
        ("2026-10-14T21:59:00", "the instant needs an offset"),
        ("2026-10-14", "the instant needs an offset"),
    ],
)
def test_parse_instant_refuses_under_the_field_it_names(value, why):
    with pytest.raises(InvalidRequest) as err:
        parse_instant(value, "closes_at")
    assert err.value.message == "invalid date"
    assert err.value.fields == {"closes_at": why}
