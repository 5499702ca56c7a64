"""An auth service on a throwaway database, a clock the test moves, argon2 at the OWASP minimum (the
production default costs about three times more), throttling delays recorded instead of slept, and
helpers to read the events the use cases wrote to the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2_grpc, events_pb2
from cartable.events.v1 import audit_pb2, envelope_pb2
from kit import migrations
from kit.errors import CODE_KEY
from kit.identity import Identity
from kit.service import Runtime, bootstrap, start_grpc
from kit.testing import ThrowawayDatabases, test_settings
from services.auth.app import spec, use_case_deps
from services.auth.db import outbox
from services.auth.domain.passwords import OWASP_MINIMUM, PasswordHasher
from services.auth.use_cases import schools

STAFF_PASSWORD = "Tableau-Noir-Craie-42"
PARENT_PASSWORD = "Tortue rapide au matin"

PAYLOADS = {
    "auth.token.issued.v1": events_pb2.TokenIssued,
    "auth.parent.created.v1": events_pb2.ParentCreated,
    "auth.parent.updated.v1": events_pb2.ParentCreated,
    "auth.student.created.v1": events_pb2.StudentCreated,
    "auth.student.updated.v1": events_pb2.StudentUpdated,
    "auth.staff.updated.v1": events_pb2.StaffUpdated,
    "auth.audit.recorded.v1": audit_pb2.AuditRecorded,
    "auth.family.erased.v1": events_pb2.FamilyErased,
}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class CountingHasher(PasswordHasher):
    """The real hasher, counting how often a password was checked against the dummy hash."""

    def __init__(self) -> None:
        super().__init__(OWASP_MINIMUM)
        self.verified = 0
        self.dummy_verified = 0

    def verify(self, hash: str, password: str) -> bool:
        self.verified += 1
        return super().verify(hash, password)

    def dummy_verify(self, password: str) -> bool:
        self.dummy_verified += 1
        return super().dummy_verify(password)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 9, 1, 7, 30, tzinfo=UTC))


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_runtime(url: str, keys, clock: Clock, sleeps: list[float]) -> Runtime:
    sp = spec()
    migrations.upgrade(sp.migrations_dir, url)
    rt = bootstrap(
        sp, test_settings("auth", url, keys, None), password_hasher=CountingHasher(), sleep=sleeps.append
    )
    rt.clock = clock
    return rt


@pytest.fixture
def sqlite_rt(tmp_path, keys, clock, sleeps) -> Iterator[Runtime]:
    """For use-case tests: SQLite only."""
    dbs = ThrowawayDatabases("sqlite", tmp_path)
    rt = make_runtime(dbs.url("auth"), keys, clock, sleeps)
    yield rt
    rt.db.dispose()


@pytest.fixture
def auth_rt(databases, keys, clock, sleeps) -> Iterator[Runtime]:
    """SQLite and PostgreSQL (when TEST_DATABASE_URL is set)."""
    rt = make_runtime(databases.migrated("auth"), keys, clock, sleeps)
    yield rt
    rt.db.dispose()


@pytest.fixture
def stub(auth_rt) -> Iterator[auth_pb2_grpc.AuthServiceStub]:
    server = start_grpc(auth_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield auth_pb2_grpc.AuthServiceStub(channel)
    channel.close()
    server.shutdown(drain=0, grace=0)


@dataclass
class School:
    id: str
    staff_id: str
    staff_username: str

    @property
    def staff(self) -> Identity:
        return Identity(account_id=self.staff_id, role="staff", school_id=self.id)


def make_school(rt: Runtime, name: str = "École Sainte-Marie", staff_first: str = "Anne") -> School:
    deps = use_case_deps(rt)
    school_id = schools.create_school(deps, name)
    staff = schools.create_staff(
        deps, school_id, staff_first, "Lambert", f"{staff_first.lower()}@ecole.example", "", STAFF_PASSWORD
    )
    return School(school_id, staff.account_id, staff.username)


def events(rt: Runtime, name: str | None = None) -> list[tuple[envelope_pb2.Envelope, Any]]:
    """The events in the outbox, oldest first, with their decoded payloads."""
    with rt.db.unit_of_work() as s:
        bodies = s.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars().all()
    out = []
    for body in bodies:
        env = envelope_pb2.Envelope.FromString(body)
        if name is not None and env.event_name != name:
            continue
        payload = PAYLOADS[env.event_name]()
        env.payload.Unpack(payload)
        out.append((env, payload))
    return out


def last_token(rt: Runtime, account_id: str) -> events_pb2.TokenIssued:
    issued = [p for _, p in events(rt, "auth.token.issued.v1") if p.account_id == account_id]
    assert issued, "no token issued"
    return issued[-1]


def error_code(exc: grpc.RpcError) -> str:
    # grpc's stubs type metadata as objects; at run time they are (key, value) pairs, as kit/errors.py reads
    trailing = dict(cast("tuple[tuple[str, str], ...]", exc.trailing_metadata() or ()))
    return trailing.get(CODE_KEY, "")


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", "Bearer " + token)]
