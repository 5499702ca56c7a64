from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import grpc
import pytest
from sqlalchemy import select

from cartable.meetings.v1 import meetings_pb2 as pb
from cartable.meetings.v1 import meetings_pb2_grpc
from kit.clock import FakeClock
from kit.identity import Identity
from kit.service import bootstrap, start_grpc
from kit.testing import test_settings
from services.meetings.app import spec, use_cases
from services.meetings.use_cases import Booking, Evenings, Reminders

# The evening of the tests: Thursday 15 October 2026, 18:00-19:00 Brussels time (UTC+2), 10-minute
# slots; booking from 1 October 08:00 to 14 October 12:00.
EVENING = dict(
    title="Réunion de parents du 1er trimestre",
    date="2026-10-15",
    start_time="18:00",
    end_time="19:00",
    slot_minutes=10,
    opens_at="2026-10-01T08:00:00+02:00",
    closes_at="2026-10-14T12:00:00+02:00",
)


def evening_request(**over) -> pb.CreateEveningRequest:
    teachers = over.pop(
        "teachers",
        [
            pb.TeacherInput(name="Mme Dubois", room="Local 12", class_names=["3A", "3B"]),
            pb.TeacherInput(name="M. Janssens", room="Local 4", class_names=["3A"]),
            pb.TeacherInput(name="Mme Leroy", room="", class_names=["5C"]),
        ],
    )
    return pb.CreateEveningRequest(**{**EVENING, **over}, teachers=teachers)


@dataclass
class World:
    rt: object
    evenings: Evenings
    booking: Booking
    reminders: Reminders
    clock: FakeClock
    staff: Identity
    mum: Identity
    dad: Identity
    other: Identity
    evening: pb.CreateEveningResponse

    def teacher(self, name: str) -> str:
        return next(t.id for t in self.evening.teachers if t.name == name)

    def slots(self, name: str) -> list[pb.Slot]:
        sched = self.evenings.schedule(self.staff, self.evening.evening.id, self.teacher(name))
        return [s.slot for s in sched.teachers[0].slots]

    def book(self, who: Identity, slot_id: str, student_id: str = "emma", key: str = ""):
        return self.booking.book_slot(who, slot_id, student_id, "Emma Peeters", "Parent", key).booking


@pytest.fixture
def meetings_rt(databases, keys):
    url = databases.migrated("meetings")
    sp = spec()
    rt = bootstrap(sp, test_settings("meetings", url, keys, None))
    rt.clock = FakeClock(datetime(2026, 10, 5, 10, 0, tzinfo=UTC))
    yield rt
    rt.db.dispose()


@pytest.fixture
def world(meetings_rt) -> World:
    uc = use_cases(meetings_rt)
    staff = Identity(account_id="boss", role="staff", school_id="sch-1")
    evening = uc.evenings.create_evening(staff, evening_request())
    return World(
        rt=meetings_rt,
        evenings=uc.evenings,
        booking=uc.booking,
        reminders=uc.reminders,
        clock=meetings_rt.clock,
        staff=staff,
        mum=Identity(account_id="mum", role="parent", school_id="sch-1", students={"emma": "3A"}),
        dad=Identity(account_id="dad", role="parent", school_id="sch-1", students={"emma": "3A"}),
        other=Identity(account_id="other", role="parent", school_id="sch-1", students={"noah": "3B"}),
        evening=evening,
    )


@pytest.fixture
def stub(meetings_rt):
    server = start_grpc(meetings_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield meetings_pb2_grpc.MeetingsServiceStub(channel)
    channel.close()
    server.stop(0)


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def error_code(exc: grpc.RpcError) -> str:
    # (key, value) pairs at run time; the stubs type them as an opaque _Metadatum.
    pairs = cast("tuple[tuple[str, str], ...]", exc.trailing_metadata() or ())
    return dict(pairs).get("x-error-code", "")


def snapshot(rt) -> dict[str, list[tuple]]:
    """Every row of every table of the service (outbox and idempotency keys included): equal before and
    after a call when the call wrote nothing."""
    with rt.db.unit_of_work() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr)
            for t in rt.spec.metadata.sorted_tables
        }
