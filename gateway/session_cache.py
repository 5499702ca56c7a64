"""The caller's session, remembered for a few seconds by each gateway process (issue #20).

Every request of a signed-in caller needs its session: who they are, their children, the CSRF
token, and the identity token the services verify. Asking auth each time (ResolveSession: the
session, the account, the children, the school, a signature) was the most expensive call of a
dashboard load. With ``GATEWAY_SESSION_CACHE_SECONDS`` above 0, a resolved session is kept here, per
process, for that many seconds, never past its identity token's expiry less a margin.

It is off by default (0): a change made beside the gateway (a student's class changed through auth's
own RPC or a command, a sign-out in another gateway process) then holds on the caller's very next
request, as the product promises and tests/e2e/test_student_leaves_and_moves.py checks. A deployment
that turns it on accepts that such a change takes up to that many seconds to hold; bench_dashboard
measures what it saves (little, when one session's requests are further apart than its seconds).

With the cache on, what ends or changes a session takes effect at once in the process that handled
it, and within the cache's seconds everywhere else:
- a request that may change something (any method but GET, HEAD, OPTIONS) forgets the caller's
  account's sessions after it (sign-out, choosing a child, a password or language change, a second
  factor), and a staff member's forgets every session (a staff change may touch any parent: a child
  linked or unlinked, an account disabled, a class changed);
- a resolution that started before such a forgetting is not stored (a generation counter), so a
  request running beside a change cannot put the old session back;
- another gateway process (another gunicorn worker, another pod) learns of the change when its copy
  expires: an ended session or a disabled account is refused everywhere within the cache's seconds,
  far within the identity token's own life (``IDENTITY_TTL_SECONDS``, 300 s), which the services
  accept anyway.
Refusals (an unknown or ended session) are never cached: a new sign-in is seen at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

# An identity token handed out from the cache keeps at least this long to live.
EXPIRY_MARGIN_SECONDS = 30
MAX_ENTRIES = 20_000


def _key(session_token: str) -> bytes:
    # The session tokens themselves are not kept: a memory dump gives digests only.
    return hashlib.sha256(session_token.encode()).digest()


class SessionCache:
    """Resolved sessions by session token, for ``ttl`` seconds (0: nothing is kept)."""

    def __init__(self, ttl: float, clock=time.monotonic, wall=time.time) -> None:
        self.ttl = float(ttl)
        self._clock = clock
        self._wall = wall
        self._entries: OrderedDict[bytes, tuple[Any, float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def generation(self) -> int:
        """Read before resolving; :meth:`put` stores only if nothing was forgotten since."""
        with self._lock:
            return self._generation

    def get(self, session_token: str) -> Any | None:
        if self.ttl <= 0:
            return None
        key = _key(session_token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self._clock():
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self.hits += 1
            return entry[0]

    def put(self, session_token: str, session: Any, generation: int) -> None:
        if self.ttl <= 0:
            return
        left = float(session.identity_expires_at) - self._wall() - EXPIRY_MARGIN_SECONDS
        keep = min(self.ttl, left) if session.identity_token else self.ttl
        if keep <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            key = _key(session_token)
            self._entries[key] = (session, self._clock() + keep, session.account.id)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget_account(self, account_id: str) -> None:
        """Every session of this account (all its devices)."""
        with self._lock:
            self._generation += 1
            for key in [k for k, e in self._entries.items() if e[2] == account_id]:
                del self._entries[key]

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
