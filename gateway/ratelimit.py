"""A sliding-window rate limit per client address, in the memory of one gateway worker.

Used by the payment provider's webhook, which anyone may call without a credential. Each worker counts
apart (no Redis in the suite): the limit one address meets is ``limit`` per worker, so at most
``limit x workers x pods`` over the whole gateway; enough to stop a flood from one address, never
enough to lose a payment (a refused webhook is retried by the provider, and finance's periodic sync
asks the provider about every open payment anyway).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


def address_key(address: str) -> str:
    """The bucket of a client address: an IPv4 address, or the /64 of an IPv6 one (one subscriber's
    network: counting each of its addresses apart would let one caller use millions of buckets)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class SlidingWindow:
    """At most ``limit`` accepted hits per key in any ``window`` seconds.

    ``hit(key)`` answers None when the hit is accepted, else the seconds until one is (Retry-After).
    Refused hits are not counted: a caller that keeps sending gets ``limit`` per window, no more. At most
    ``max_keys`` keys are remembered (the least recently seen go first), so a caller with many addresses
    costs bounded memory."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit, self.window, self.max_keys, self.clock = limit, float(window), max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None

    def __len__(self) -> int:
        return len(self._hits)
