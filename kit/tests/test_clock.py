"""The one clock: the system clock answers aware UTC instants; the fake one moves only when told."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kit.clock import DEFAULT_START, FakeClock, SystemClock, utcnow


def test_the_system_clock_answers_now_aware_in_utc():
    before = datetime.now(UTC)
    for now in (utcnow(), SystemClock()()):
        assert now.tzinfo is UTC
        assert before <= now <= datetime.now(UTC)


def test_the_fake_clock_stands_still_until_moved():
    clock = FakeClock()
    assert clock() == clock.now == DEFAULT_START
    assert clock() == clock()
    assert clock.advance(days=14, microseconds=-1) == DEFAULT_START + timedelta(days=14, microseconds=-1)
    clock.advance(microseconds=1)
    assert clock() == DEFAULT_START + timedelta(days=14)
    clock.advance(30)  # seconds
    clock.advance(timedelta(minutes=1))
    assert clock() == DEFAULT_START + timedelta(days=14, seconds=90)
    clock.advance(-90)
    assert clock() == DEFAULT_START + timedelta(days=14)


def test_setting_the_fake_clock_keeps_it_aware_and_in_utc():
    brussels_summer = timezone(timedelta(hours=2))
    clock = FakeClock(datetime(2026, 10, 1, 8, 0, tzinfo=brussels_summer))
    assert clock() == datetime(2026, 10, 1, 6, 0, tzinfo=UTC) and clock().tzinfo is UTC
    clock.set(datetime(2026, 10, 14, 12, 0, tzinfo=brussels_summer))
    assert clock() == datetime(2026, 10, 14, 10, 0, tzinfo=UTC)
    clock.now = clock.now.replace(hour=9, minute=59)  # tests write ``now`` directly too
    assert clock() == datetime(2026, 10, 14, 9, 59, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 10, 14, 12, 0))  # noqa: DTZ001 - the naive datetime it must refuse
    with pytest.raises(ValueError, match="naive"):
        FakeClock(datetime(2026, 10, 14, 12, 0))  # noqa: DTZ001 - the naive datetime it must refuse


def test_the_fake_clock_is_read_safely_from_other_threads():
    clock = FakeClock()
    seen: list[datetime] = []

    def read():
        for _ in range(1000):
            seen.append(clock())

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for _ in range(1000):
        clock.advance(1)
    for t in readers:
        t.join()
    assert clock() == DEFAULT_START + timedelta(seconds=1000)
    assert all(DEFAULT_START <= s <= clock() for s in seen)
