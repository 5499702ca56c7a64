"""Client addresses of their own for tests, so per-address limits count one test's requests only."""

from __future__ import annotations

import itertools
import os

_addresses = itertools.count(1)


def client_address_header() -> dict[str, str]:
    """``X-Forwarded-For`` with an address no other client of this run uses (198.18.0.0/15, the
    benchmarking range; the suite's gateway trusts the header from 127.0.0.1): per-address limits
    then count this client's requests only."""
    n = next(_addresses) + os.getpid() % 1000 * 100
    return {"X-Forwarded-For": f"198.{18 + (n >> 16) % 2}.{(n >> 8) & 255}.{n & 255}"}
