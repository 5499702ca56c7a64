"""The project's one clock: a callable answering the current instant as an aware UTC ``datetime``.

Use cases never call ``datetime.now()``; they ask ``rt.clock()`` (``kit.service.Runtime.clock``), which
is :data:`utcnow` in a running service. Tests hand the runtime a :class:`FakeClock` instead and move
time by hand, so rules about windows, expiries and retries are checked without waiting::

    clock = FakeClock(datetime(2026, 3, 16, 9, 30, tzinfo=UTC))
    rt.clock = clock
    clock.advance(days=14)             # or clock.advance(30) for seconds, or clock.set(...)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""What a service is given: call it for the current instant (aware, UTC)."""


def utcnow() -> datetime:
    """The system clock: now, aware, in UTC."""
    return datetime.now(UTC)


class SystemClock:
    """The system clock as an object, for code that wants a ``Clock`` instance rather than a function."""

    def __call__(self) -> datetime:
        return utcnow()


DEFAULT_START = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)


def _aware_utc(when: datetime) -> datetime:
    # A naive datetime would be compared with aware ones in the services and fail late and far away.
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"a clock answers aware datetimes, got naive {when!r}")
    return when.astimezone(UTC)


class FakeClock:
    """A clock that stands still until a test moves it. Thread-safe: a service's worker threads may
    read it while the test moves it.

    ``now`` reads and writes the instant (a written one is converted to UTC; a naive one is refused).
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._lock = threading.Lock()
        self._now = _aware_utc(start)

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> datetime:
        return self()

    @now.setter
    def now(self, when: datetime) -> None:
        self.set(when)

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (forwards or backwards)."""
        when = _aware_utc(when)
        with self._lock:
            self._now = when

    def advance(self, seconds: float | timedelta = 0, /, **delta: float) -> datetime:
        """Move forwards by ``seconds`` (a number or a ``timedelta``) plus ``timedelta(**delta)``
        (``days=``, ``hours=``, ``microseconds=`` ...); a negative amount moves backwards. Returns the
        new instant."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        step += timedelta(**delta)
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self():%Y-%m-%dT%H:%M:%S.%f%z})"
