"""What a sign-in may hold of the server: argon2 under a bound (at most ``slots`` hashes or
verifications at once in this process), and throttling waits under another (``WaitRoom``).

Each argon2id computation takes the profile's whole memory (64 MiB for "rfc9106-low-memory") for a
few hundred milliseconds, and every sign-in computes one, for an unknown username too (the dummy
verification). Unbounded, a burst of sign-ins with random usernames multiplies that by the server's
threads and the kernel kills auth, and with it every signed-in request (they all resolve their session
here). So: ``slots`` at once (``AUTH_MAX_CONCURRENT_HASHES``), a few more callers may wait a short
while for one, and anyone beyond is answered at once with ``Unavailable`` (503 ``unavailable`` with
Retry-After at the gateway). Keeping the waiting room small also keeps most server threads free for
the cheap calls (ResolveSession, health) during the burst. For the same reason a throttling delay
(domain/throttle.py) is waited by a bounded number of sign-ins at once: beyond, the attempt is
refused at once as rate limited (with the delay as Retry-After) instead of holding a thread asleep.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from kit.errors import RateLimited, Unavailable
from services.auth.domain.passwords import PasswordHasher

T = TypeVar("T")

# A caller waits at most this long for a slot (about two verifications of the default profile on a
# small core), then gets Unavailable.
SLOT_WAIT_SECONDS = 1.0
# Callers allowed to wait for a slot, per slot; beyond, Unavailable without waiting.
WAITING_PER_SLOT = 4
RETRY_AFTER_SECONDS = 1


class HashGate:
    """A semaphore of ``slots`` with a bounded waiting room."""

    def __init__(
        self,
        slots: int,
        wait_seconds: float = SLOT_WAIT_SECONDS,
        max_waiting: int | None = None,
    ) -> None:
        if slots < 1:
            raise ValueError("at least one hashing slot")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.max_waiting = slots * WAITING_PER_SLOT if max_waiting is None else max_waiting
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self.refused = 0  # how many callers got Unavailable (tests and logs read it)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block; Unavailable when none frees in time (or the room is full)."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                full = self._waiting >= self.max_waiting
                if not full:
                    self._waiting += 1
            got = False
            if not full:
                try:
                    got = self._free.acquire(timeout=self.wait_seconds)
                finally:
                    with self._lock:
                        self._waiting -= 1
            if not got:
                with self._lock:
                    self.refused += 1
                raise Unavailable(
                    "too many sign-ins at once; try again in a moment",
                    code="unavailable",
                    retry_after=RETRY_AFTER_SECONDS,
                )
        try:
            yield
        finally:
            self._free.release()

    def run(self, fn: Callable[[], T]) -> T:
        with self.slot():
            return fn()


class BoundedHasher:
    """A ``PasswordHasher`` whose slow methods (hash, verify, dummy_verify) each take a slot of the
    gate; the same interface, so use cases cannot compute argon2 around it."""

    def __init__(self, inner: PasswordHasher, gate: HashGate) -> None:
        self.inner = inner
        self.gate = gate

    @property
    def parameters(self):
        return self.inner.parameters

    def hash(self, password: str) -> str:
        return self.gate.run(lambda: self.inner.hash(password))

    def verify(self, hash: str, password: str) -> bool:
        return self.gate.run(lambda: self.inner.verify(hash, password))

    def dummy_verify(self, password: str) -> bool:
        return self.gate.run(lambda: self.inner.dummy_verify(password))

    def needs_rehash(self, hash: str) -> bool:
        # reads the parameters in the hash string: no argon2 computation, no slot
        return self.inner.needs_rehash(hash)


# Sign-ins waiting out a throttling delay at once (each holds a server thread; the server has 32).
MAX_WAITING_SIGN_INS = 8


class WaitRoom:
    """``sleep`` for at most ``max_waiting`` callers at once; RateLimited for the others."""

    def __init__(self, sleep: Callable[[float], None], max_waiting: int = MAX_WAITING_SIGN_INS) -> None:
        self._sleep = sleep
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    def __call__(self, seconds: float) -> None:
        with self._lock:
            full = self._waiting >= self.max_waiting
            if not full:
                self._waiting += 1
        if full:
            raise RateLimited(
                "too many sign-ins at once; try again in a moment",
                code="rate_limited",
                retry_after=max(1, math.ceil(seconds)),
            )
        try:
            self._sleep(seconds)
        finally:
            with self._lock:
                self._waiting -= 1
