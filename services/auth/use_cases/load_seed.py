"""Families for capacity measurements (``python -m services.auth seed-families``, bench/): many
parents of one child each in a class of an existing school, each with an open session, made by the
use cases' own steps (the same rows and events as the staff's forms: finance opens the wallets,
notifications the contact book) in a few transactions instead of one HTTP round trip per family.

Every parent gets the same password (hashed once with argon2id: hashing 2,000 passwords would take
minutes) and a session token, printed once for the load generator. It is a tool of whoever runs the
auth process (as the database itself is), not an API: nothing reaches it over the network.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from kit.errors import InvalidRequest, NotFound
from services.auth.db import directory
from services.auth.use_cases.common import Deps, log
from services.auth.use_cases.people import add_parent, add_student
from services.auth.use_cases.sessions import open_session

# Families written per transaction: a failure loses at most one batch, never half a family.
BATCH = 200
MAX_FAMILIES = 20_000


def _letters(i: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "ba": a name part per family (usernames keep letters only, so
    numbered names would all ask for the same username and try its suffixes one by one)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(ord("a") + r) + out
        if i == 0:
            return out


@dataclass(frozen=True)
class SeededFamily:
    parent_id: str
    username: str
    student_id: str
    session_token: str


def seed_families(
    deps: Deps, school_id: str, count: int, class_name: str = "1A", prefix: str = "Charge"
) -> tuple[str, list[SeededFamily]]:
    """``count`` parents of one new child each in ``class_name``, each signed in once. Returns the
    shared password and the families."""
    if not 1 <= count <= MAX_FAMILIES:
        raise InvalidRequest(f"count must be 1 to {MAX_FAMILIES}", fields={"count": f"1 to {MAX_FAMILIES}"})
    with deps.db.unit_of_work() as s:
        if not directory.school_name(s, school_id):
            raise NotFound("no such school")
    password = secrets.token_urlsafe(18)
    password_hash = deps.hasher.hash(password)
    out: list[SeededFamily] = []
    for start in range(0, count, BATCH):
        now = deps.clock()
        with deps.db.unit_of_work() as s:
            for i in range(start, min(count, start + BATCH)):
                name = _letters(i).capitalize()
                kid = add_student(deps, s, school_id, f"Enfant {name}", prefix, class_name, "primary", now)
                acc = add_parent(
                    deps,
                    s,
                    school_id,
                    f"Parent {name}",
                    prefix,
                    f"parent.{name.lower()}.{prefix.lower()}@load.cartable.local",
                    "fr",
                    [kid.id],
                    now,
                    password_hash=password_hash,
                )
                session = open_session(deps, s, acc, now)
                out.append(SeededFamily(acc.id, acc.username, kid.id, session.session_token))
    log.info("load families seeded", extra={"school_id": school_id, "count": count})
    return password, out
