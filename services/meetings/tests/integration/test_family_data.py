"""A family's data in meetings (issue #21), over the real gRPC server with signed tokens: the export
(``FamilyDataService.ExportFamilyData``) gives a parent, or the school's staff, the bookings the parent
made and those made for their children (cancelled ones too), and nothing of another family or another
school; the erasure (``auth.family.erased.v1`` through the service's consumer) deletes the family's
bookings so that no name of it is left in any table, frees their slots, leaves the other family as it
was and runs twice without harm."""

from __future__ import annotations

import json
from dataclasses import dataclass

import grpc
import pytest
from sqlalchemy import select, update

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.meetings.v1 import meetings_pb2 as pb
from cartable.meetings.v1 import meetings_pb2_grpc
from cartable.privacy.v1 import privacy_pb2 as privacy_pb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit import bus
from kit.privacy import find_text
from kit.service import make_consumer, start_grpc
from services.meetings import db
from services.meetings.tests.conftest import evening_request, md, snapshot

OURS, THEIRS = "sch-1", "sch-2"
# The family erased: two guardians of one child, names unique enough that finding them anywhere means
# they were left behind.
KID, PARENT, GUARDIAN = "kid-zq", "parent-zq", "guardian-zq"
CHILD_NAME, PARENT_NAME, GUARDIAN_NAME = "Zéphyrine Quorndel", "Barnabé Quorndel", "Ophélie Ravensworth"
NAMES = ["Zéphyrine", "Quorndel", "Ravensworth"]
# The family beside it, in the same school.
OTHER_KID, OTHER_PARENT = "kid-nv", "parent-nv"


@dataclass
class World:
    rt: object
    stub: object
    privacy: privacy_pb2_grpc.FamilyDataServiceStub
    staff: str
    their_staff: str
    parent: str
    guardian: str
    evening_id: str
    slots: dict[str, list[str]]  # teacher name -> slot ids, earliest first
    own: str  # PARENT's standing booking (Mme Dubois, 18:00)
    cancelled: str  # PARENT's cancelled booking (M. Janssens, 18:10)
    guardians: str  # GUARDIAN's booking for KID (Mme Dubois, 18:20)
    others: str  # OTHER_PARENT's booking (Mme Dubois, 18:30)

    def export(self, token: str, parent_id: str, student_ids: list[str]) -> dict[str, object]:
        answer = self.privacy.ExportFamilyData(
            privacy_pb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=student_ids),
            metadata=md(token),
        )
        assert all(f.content_type == "application/json" for f in answer.files)
        return {f.name: json.loads(f.content.decode("utf-8")) for f in answer.files}


@pytest.fixture
def channel(meetings_rt):
    """The meetings server over gRPC: it serves MeetingsService and FamilyDataService."""
    server = start_grpc(meetings_rt, "127.0.0.1:0")
    chan = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield chan
    chan.close()
    server.stop(0)


@pytest.fixture
def world(meetings_rt, channel, keys) -> World:
    stub = meetings_pb2_grpc.MeetingsServiceStub(channel)
    staff = keys.token(role="staff", school_id=OURS, account_id="boss-1")
    made = stub.CreateEvening(evening_request(), metadata=md(staff))
    slots = {}
    for teacher in made.teachers:
        sched = stub.GetSchedule(
            pb.GetScheduleRequest(evening_id=made.evening.id, teacher_id=teacher.id), metadata=md(staff)
        )
        slots[teacher.name] = [s.slot.id for s in sched.teachers[0].slots]
    parent = keys.token(role="parent", school_id=OURS, students={KID: "3A"}, account_id=PARENT)
    guardian = keys.token(role="parent", school_id=OURS, students={KID: "3A"}, account_id=GUARDIAN)
    other = keys.token(role="parent", school_id=OURS, students={OTHER_KID: "3B"}, account_id=OTHER_PARENT)

    def book(token: str, slot: str, kid: str, child: str, parent_name: str, key: str) -> str:
        request = pb.BookSlotRequest(
            slot_id=slot, student_id=kid, child_name=child, parent_name=parent_name, idempotency_key=key
        )
        return stub.BookSlot(request, metadata=md(token)).booking.id

    own = book(parent, slots["Mme Dubois"][0], KID, CHILD_NAME, PARENT_NAME, "zq-1")
    cancelled = book(parent, slots["M. Janssens"][1], KID, CHILD_NAME, PARENT_NAME, "zq-2")
    stub.CancelBooking(pb.CancelBookingRequest(booking_id=cancelled), metadata=md(parent))
    guardians = book(guardian, slots["Mme Dubois"][2], KID, CHILD_NAME, GUARDIAN_NAME, "zq-3")
    others = book(
        other, slots["Mme Dubois"][3], OTHER_KID, "Noah Vandenbroucke", "Inès Vandenbroucke", "nv-1"
    )
    return World(
        meetings_rt,
        stub,
        privacy_pb2_grpc.FamilyDataServiceStub(channel),
        staff,
        keys.token(role="staff", school_id=THEIRS, account_id="boss-2"),
        parent,
        guardian,
        made.evening.id,
        slots,
        own,
        cancelled,
        guardians,
        others,
    )


def test_a_parent_gets_their_bookings_and_those_made_for_their_child_without_the_other_guardians_name(world):
    files = world.export(world.parent, PARENT, [KID])
    assert sorted(files) == ["meetings/bookings.json"]
    own, cancelled, guardians = files["meetings/bookings.json"]
    assert own == {
        "id": world.own,
        "booked_by_you": True,
        "parent_account_id": PARENT,
        "parent_name": PARENT_NAME,
        "student_id": KID,
        "child_name": CHILD_NAME,
        "class_name": "3A",
        "evening_id": world.evening_id,
        "evening_title": "Réunion de parents du 1er trimestre",
        "evening_date": "2026-10-15",
        "teacher_id": own["teacher_id"],
        "teacher_name": "Mme Dubois",
        "room": "Local 12",
        "slot_id": world.slots["Mme Dubois"][0],
        "starts_at": "2026-10-15T18:00:00+02:00",
        "ends_at": "2026-10-15T18:10:00+02:00",
        "timezone": "Europe/Brussels",
        "booked_at": "2026-10-05T12:00:00+02:00",
        "cancelled_at": None,
        "reminded_at": None,
    }
    assert (cancelled["id"], cancelled["teacher_name"], cancelled["starts_at"]) == (
        world.cancelled,
        "M. Janssens",
        "2026-10-15T18:10:00+02:00",
    )
    assert cancelled["cancelled_at"] == "2026-10-05T12:00:00+02:00"
    # the other guardian's booking for the child: the child's side only
    assert (guardians["id"], guardians["booked_by_you"], guardians["child_name"]) == (
        world.guardians,
        False,
        CHILD_NAME,
    )
    assert guardians["parent_name"] is None and guardians["parent_account_id"] is None
    text = json.dumps(files, ensure_ascii=False)
    for absent in (GUARDIAN, GUARDIAN_NAME, OTHER_KID, OTHER_PARENT, world.others, "Vandenbroucke"):
        assert absent not in text


def test_a_parent_cannot_ask_for_another_parent_or_a_child_not_theirs(world):
    for parent_id, students in ((OTHER_PARENT, [OTHER_KID]), (GUARDIAN, [KID]), (PARENT, [OTHER_KID])):
        with pytest.raises(grpc.RpcError) as err:
            world.export(world.parent, parent_id, students)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, (parent_id, students)


def test_staff_of_the_school_get_the_same_data_and_another_schools_staff_nothing(world):
    assert world.export(world.staff, PARENT, [KID]) == world.export(world.parent, PARENT, [KID])
    assert world.export(world.their_staff, PARENT, [KID]) == {"meetings/bookings.json": []}


def _published(rt) -> None:
    """The relay's work: every outbox row out (the erasure purges the published ones)."""
    with rt.db.unit_of_work() as s:
        s.execute(update(db.outbox).where(db.outbox.c.published_at.is_(None)).values(published_at=rt.clock()))


def _erased(parent_ids: list[str], student_ids: list[str], school: str = OURS) -> bytes:
    event = auth_events.FamilyErased(
        school_id=school,
        parent_ids=parent_ids,
        student_ids=student_ids,
        reason="request",
        erased_at="2026-10-06T09:00:00+00:00",
        keep_financial_until="2033-12-31",
    )
    return bus.make_envelope("auth.family.erased.v1", event, school).SerializeToString()


def _names_left(rt, names: list[str]) -> list[tuple[str, str]]:
    with rt.db.engine.connect() as conn:
        return find_text(conn, rt.spec.metadata.sorted_tables, names)


def _booking_ids(rt) -> set[str]:
    with rt.db.unit_of_work() as s:
        return set(s.execute(select(db.bookings.c.id)).scalars())


def test_an_erased_family_leaves_no_name_and_its_slots_free(world):
    rt = world.rt
    # what the erasure has to clear: the bookings, the stored booking answers, the events' payloads
    assert {t for t, _ in _names_left(rt, NAMES)} == {"bookings", "idempotency_keys", "outbox"}
    other_before = world.export(world.staff, OTHER_PARENT, [OTHER_KID])
    _published(rt)
    consumer = make_consumer(rt)
    body = _erased([PARENT, GUARDIAN], [KID])
    assert consumer.handle(body) == "handled"

    assert _names_left(rt, NAMES) == []
    assert world.export(world.staff, PARENT, [KID]) == {"meetings/bookings.json": []}
    assert _booking_ids(rt) == {world.others}
    with rt.db.unit_of_work() as s:
        assert not db.slot_is_taken(s, world.slots["Mme Dubois"][0])
        scopes = set(s.execute(select(db.idempotency_keys.c.scope)).scalars())
        assert scopes == {f"meetings-booking:{OTHER_PARENT}"}
    # the other family as it was
    assert world.export(world.staff, OTHER_PARENT, [OTHER_KID]) == other_before
    assert set(_names_left(rt, ["Vandenbroucke"])) == {
        ("bookings", "child_name"),
        ("bookings", "parent_name"),
        ("idempotency_keys", "response"),
    }

    # delivered twice: once; a second erasure of the same family (a retention run): nothing changes
    state = snapshot(rt)
    assert consumer.handle(body) == "duplicate"
    assert consumer.handle(_erased([PARENT, GUARDIAN], [KID])) == "handled"
    after = snapshot(rt)
    assert {k: v for k, v in after.items() if k != "inbox"} == {
        k: v for k, v in state.items() if k != "inbox"
    }


def test_a_parent_erased_alone_loses_their_bookings_and_the_child_kept_keeps_the_other_guardians(world):
    assert make_consumer(world.rt).handle(_erased([PARENT], [])) == "handled"
    assert _booking_ids(world.rt) == {world.guardians, world.others}
    (left,) = world.export(world.guardian, GUARDIAN, [KID])["meetings/bookings.json"]
    assert (left["id"], left["parent_name"], left["child_name"]) == (
        world.guardians,
        GUARDIAN_NAME,
        CHILD_NAME,
    )


def test_an_erasure_in_another_school_leaves_this_schools_bookings_as_they_were(world):
    before = _booking_ids(world.rt)
    assert make_consumer(world.rt).handle(_erased([OTHER_PARENT], [OTHER_KID], THEIRS)) == "handled"
    assert _booking_ids(world.rt) == before
