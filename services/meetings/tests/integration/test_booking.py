"""Booking parent meetings on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import threading
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import func, select

from cartable.events.v1 import audit_pb2, envelope_pb2
from cartable.meetings.v1 import events_pb2
from cartable.meetings.v1 import meetings_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from services.meetings.db import bookings, outbox
from services.meetings.tests.conftest import error_code, evening_request, md


def events(rt, name: str | None = None) -> list[tuple[str, object]]:
    """The outbox's events, decoded: [(event name, payload)]; the audit entries (the world's evening,
    kit.audit) only when asked for by name."""
    types = {
        "meetings.booking.confirmed.v1": events_pb2.BookingConfirmed,
        "meetings.booking.cancelled.v1": events_pb2.BookingCancelled,
        "meetings.booking.reminder_due.v1": events_pb2.BookingReminderDue,
        "meetings.audit.recorded.v1": audit_pb2.AuditRecorded,  # the evening's creation (kit.audit)
    }
    with rt.db.unit_of_work() as s:
        bodies = s.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars().all()
    out = []
    for body in bodies:
        env = envelope_pb2.Envelope.FromString(body)
        payload = types[env.event_name]()
        env.payload.Unpack(payload)
        if env.event_name == name or (name is None and env.event_name != "meetings.audit.recorded.v1"):
            out.append((env.event_name, payload))
    return out


def standing(rt) -> int:
    with rt.db.unit_of_work() as s:
        return s.execute(
            select(func.count()).select_from(bookings).where(bookings.c.cancelled_at.is_(None))
        ).scalar_one()


# -- staff ---------------------------------------------------------------------------------------


def test_staff_creates_an_evening_with_slots_for_each_teacher(world):
    ev = world.evening
    assert ev.slot_count == 18  # 3 teachers x 6 slots of 10 minutes between 18:00 and 19:00
    assert (ev.evening.starts_at, ev.evening.ends_at) == (
        "2026-10-15T18:00:00+02:00",
        "2026-10-15T19:00:00+02:00",
    )
    assert [t.name for t in ev.teachers] == ["M. Janssens", "Mme Dubois", "Mme Leroy"]
    sched = world.evenings.schedule(world.staff, ev.evening.id)
    assert [t.teacher.name for t in sched.teachers] == ["M. Janssens", "Mme Dubois", "Mme Leroy"]
    dubois = next(t for t in sched.teachers if t.teacher.name == "Mme Dubois")
    assert list(dubois.teacher.class_names) == ["3A", "3B"] and dubois.teacher.room == "Local 12"
    assert [s.slot.starts_at[11:16] for s in dubois.slots] == [
        "18:00",
        "18:10",
        "18:20",
        "18:30",
        "18:40",
        "18:50",
    ]
    assert not any(s.HasField("booking") for s in dubois.slots)
    listed = world.evenings.list_evenings(world.staff).evenings
    assert [(e.evening.title, e.teacher_count, e.slot_count, e.booked_count) for e in listed] == [
        ("Réunion de parents du 1er trimestre", 3, 18, 0)
    ]


def test_an_invalid_evening_is_refused_with_what_to_fix(world):
    with pytest.raises(InvalidRequest) as exc:
        world.evenings.create_evening(
            world.staff,
            evening_request(
                end_time="17:00", closes_at="2026-10-16T12:00:00+02:00", teachers=[pb.TeacherInput(name="X")]
            ),
        )
    assert {"end_time", "closes_at", "teachers[0].class_names"} <= set(exc.value.fields)


def test_only_staff_create_evenings_and_see_schedules(world):
    with pytest.raises(Forbidden):
        world.evenings.create_evening(world.mum, evening_request())
    with pytest.raises(Forbidden):
        world.evenings.schedule(world.mum, world.evening.evening.id)
    with pytest.raises(Forbidden):
        world.evenings.list_evenings(world.mum)


def test_another_schools_evening_is_not_found(world):
    elsewhere = Identity(account_id="boss2", role="staff", school_id="sch-2")
    with pytest.raises(NotFound):
        world.evenings.schedule(elsewhere, world.evening.evening.id)
    assert world.evenings.list_evenings(elsewhere).evenings == []
    parent_elsewhere = Identity(account_id="p2", role="parent", school_id="sch-2", students={"zoe": "3A"})
    assert world.booking.list_open_evenings(parent_elsewhere, "zoe").evenings == []
    with pytest.raises(NotFound):
        world.book(parent_elsewhere, world.slots("Mme Dubois")[0].id, "zoe")


# -- what parents see --------------------------------------------------------------------------


def test_parents_see_only_the_teachers_of_their_childs_class(world):
    emma = world.booking.list_open_evenings(world.mum, "emma").evenings
    assert [t.teacher.name for t in emma[0].teachers] == ["M. Janssens", "Mme Dubois"]
    assert len(emma[0].teachers[0].free_slots) == 6
    noah = world.booking.list_open_evenings(world.other, "noah").evenings
    assert [t.teacher.name for t in noah[0].teachers] == ["Mme Dubois"]
    nobody = Identity(account_id="x", role="parent", school_id="sch-1", students={"lea": "6C"})
    assert world.booking.list_open_evenings(nobody, "lea").evenings == []
    with pytest.raises(Forbidden):
        world.booking.list_open_evenings(world.mum, "noah")


def test_evenings_are_listed_only_while_booking_is_open(world):
    world.clock.now = world.clock.now.replace(day=1, hour=5)  # 1 October 07:00 Brussels
    assert world.booking.list_open_evenings(world.mum, "emma").evenings == []
    world.clock.now = world.clock.now.replace(day=14, hour=10)  # the close instant
    assert world.booking.list_open_evenings(world.mum, "emma").evenings == []


# -- booking ------------------------------------------------------------------------------------


def test_a_booking_takes_the_slot_and_announces_what_the_mail_needs(world):
    slot = world.slots("Mme Dubois")[1]
    booking = world.booking.book_slot(
        world.mum, slot.id, "emma", "Emma Peeters", "Sophie Peeters", ""
    ).booking
    assert (booking.teacher_name, booking.room, booking.slot.starts_at) == (
        "Mme Dubois",
        "Local 12",
        "2026-10-15T18:10:00+02:00",
    )
    assert booking.cancellable and booking.closes_at == "2026-10-14T12:00:00+02:00"
    offer = next(
        t
        for t in world.booking.list_open_evenings(world.mum, "emma").evenings[0].teachers
        if t.teacher.name == "Mme Dubois"
    )
    assert slot.id not in [s.id for s in offer.free_slots] and len(offer.free_slots) == 5
    assert offer.my_booking.id == booking.id
    [(name, ev)] = events(world.rt)
    d = ev.booking
    assert name == "meetings.booking.confirmed.v1"
    assert (
        d.parent_account_id,
        d.child_name,
        d.class_name,
        d.teacher_name,
        d.starts_at,
        d.evening_title,
    ) == (
        "mum",
        "Emma Peeters",
        "3A",
        "Mme Dubois",
        "2026-10-15T18:10:00+02:00",
        "Réunion de parents du 1er trimestre",
    )
    assert (d.evening_date, d.ends_at, d.timezone, d.room, d.parent_name) == (
        "2026-10-15",
        "2026-10-15T18:20:00+02:00",
        "Europe/Brussels",
        "Local 12",
        "Sophie Peeters",
    )
    sched = world.evenings.schedule(world.staff, world.evening.evening.id, world.teacher("Mme Dubois"))
    booked = [s.booking for s in sched.teachers[0].slots if s.HasField("booking")]
    assert [(b.child_name, b.class_name, b.parent_name) for b in booked] == [
        ("Emma Peeters", "3A", "Sophie Peeters")
    ]


def test_a_parent_books_one_slot_per_teacher_per_child(world):
    dubois, janssens = world.slots("Mme Dubois"), world.slots("M. Janssens")
    world.book(world.mum, dubois[0].id)
    with pytest.raises(Conflict) as exc:
        world.book(world.mum, dubois[3].id)
    assert exc.value.code == "already_booked"
    world.book(world.mum, janssens[2].id)  # another teacher of the same child: fine
    assert [b.teacher_name for b in world.booking.my_bookings(world.mum, "emma").bookings] == [
        "Mme Dubois",
        "M. Janssens",
    ]


def test_the_same_parent_books_each_child_separately(world):
    both = Identity(
        account_id="mum", role="parent", school_id="sch-1", students={"emma": "3A", "lucas": "3B"}
    )
    dubois = world.slots("Mme Dubois")
    world.book(both, dubois[0].id, "emma")
    world.book(both, dubois[1].id, "lucas")
    assert standing(world.rt) == 2


def test_two_parents_of_the_same_child_living_apart_book_separately(world):
    dubois = world.slots("Mme Dubois")
    mums = world.book(world.mum, dubois[0].id)
    dads = world.book(world.dad, dubois[4].id)
    assert mums.id != dads.id
    assert [b.id for b in world.booking.my_bookings(world.mum, "emma").bookings] == [mums.id]
    assert [b.id for b in world.booking.my_bookings(world.dad, "emma").bookings] == [dads.id]
    with pytest.raises(Conflict) as exc:
        world.book(world.dad, dubois[0].id)
    assert exc.value.code in ("slot_taken", "already_booked")


def test_an_already_taken_slot_is_refused(world):
    slot = world.slots("Mme Dubois")[0]
    world.book(world.mum, slot.id)
    with pytest.raises(Conflict) as exc:
        world.book(world.other, slot.id, "noah")
    assert exc.value.code == "slot_taken" and exc.value.http_status == 409


def test_two_meetings_at_the_same_time_are_refused(world):
    world.book(world.mum, world.slots("Mme Dubois")[2].id)
    with pytest.raises(Conflict) as exc:
        world.book(world.mum, world.slots("M. Janssens")[2].id)
    assert exc.value.code == "overlapping_booking"


def test_booking_outside_the_window_is_refused(world):
    slot = world.slots("Mme Dubois")[0]
    for now in (world.clock.now.replace(day=1, hour=5, minute=59), world.clock.now.replace(day=14, hour=10)):
        world.clock.now = now
        with pytest.raises(Conflict) as exc:
            world.book(world.mum, slot.id)
        assert exc.value.code == "booking_closed"
    world.clock.now = world.clock.now.replace(day=1, hour=6)  # 08:00 Brussels: open
    world.book(world.mum, slot.id)


def test_a_slot_of_a_teacher_not_of_the_child_is_not_found(world):
    with pytest.raises(NotFound):
        world.book(world.mum, world.slots("Mme Leroy")[0].id)
    with pytest.raises(NotFound):
        world.book(world.mum, "no-such-slot")
    with pytest.raises(Forbidden):
        world.book(world.mum, world.slots("Mme Dubois")[0].id, "noah")
    with pytest.raises(Forbidden):
        world.booking.book_slot(world.staff, world.slots("Mme Dubois")[0].id, "emma", "", "", "")


def test_the_same_key_replays_the_booking_and_another_slot_with_it_is_refused(world):
    dubois = world.slots("Mme Dubois")
    a = world.book(world.mum, dubois[0].id, key="k1")
    b = world.book(world.mum, dubois[0].id, key="k1")
    assert a == b and standing(world.rt) == 1
    with pytest.raises(Conflict) as exc:
        world.book(world.mum, dubois[1].id, key="k1")
    assert exc.value.code == "idempotency_key_reused"
    assert len(events(world.rt)) == 1


# -- the race -----------------------------------------------------------------------------------


def test_thirty_parents_clicking_the_same_slot_at_once_get_one_booking(world):
    slot = world.slots("Mme Dubois")[0]
    parents = [
        Identity(account_id=f"parent-{i}", role="parent", school_id="sch-1", students={f"child-{i}": "3A"})
        for i in range(30)
    ]
    start = threading.Barrier(len(parents))
    won, refused, failed = [], [], []
    lock = threading.Lock()

    def click(who: Identity) -> None:
        start.wait()
        try:
            b = world.booking.book_slot(who, slot.id, next(iter(who.students)), "Enfant", "Parent", "")
            with lock:
                won.append(b.booking)
        except Conflict as e:
            with lock:
                refused.append(e.code)
        except Exception as e:  # noqa: BLE001  # pragma: no cover - a thread collects any failure, reported below
            with lock:
                failed.append(repr(e))

    threads = [threading.Thread(target=click, args=(p,)) for p in parents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert len(won) == 1
    assert refused == ["slot_taken"] * 29
    assert standing(world.rt) == 1
    assert len(events(world.rt, "meetings.booking.confirmed.v1")) == 1
    sched = world.evenings.schedule(world.staff, world.evening.evening.id, world.teacher("Mme Dubois"))
    assert sched.teachers[0].slots[0].booking.id == won[0].id


# -- cancelling ---------------------------------------------------------------------------------


def test_cancel_until_the_close_frees_the_slot_and_is_announced(world):
    slot = world.slots("Mme Dubois")[0]
    booking = world.book(world.mum, slot.id)
    world.clock.now = world.clock.now.replace(day=14, hour=9, minute=59)  # 11:59 Brussels, the last minute
    cancelled = world.booking.cancel_booking(world.mum, booking.id).booking
    assert not cancelled.cancellable
    assert world.booking.my_bookings(world.mum, "emma").bookings == []
    again = world.book(world.other, slot.id, "noah")  # the slot is free again
    [(_, ev)] = events(world.rt, "meetings.booking.cancelled.v1")
    assert ev.booking.booking_id == booking.id and ev.cancelled_by_account_id == "mum"
    assert ev.booking.starts_at == "2026-10-15T18:00:00+02:00"
    world.clock.now = world.clock.now.replace(hour=10)  # 12:00 Brussels: closed
    with pytest.raises(Conflict) as exc:
        world.booking.cancel_booking(world.other, again.id)
    assert exc.value.code == "booking_closed"
    assert standing(world.rt) == 1


def test_cancelling_twice_changes_nothing(world):
    booking = world.book(world.mum, world.slots("Mme Dubois")[0].id)
    world.booking.cancel_booking(world.mum, booking.id)
    world.booking.cancel_booking(world.mum, booking.id)
    assert len(events(world.rt, "meetings.booking.cancelled.v1")) == 1


def test_another_familys_booking_cannot_be_cancelled(world):
    booking = world.book(world.mum, world.slots("Mme Dubois")[0].id)
    for who in (world.other, world.dad):  # another family, and the other parent of the same child
        with pytest.raises(NotFound):
            world.booking.cancel_booking(who, booking.id)
    assert standing(world.rt) == 1


# -- reminders ----------------------------------------------------------------------------------


def test_the_reminder_is_published_once_the_day_before(world):
    dubois = world.slots("Mme Dubois")
    kept = world.book(world.mum, dubois[0].id)
    dropped = world.book(world.dad, dubois[1].id)
    world.booking.cancel_booking(world.dad, dropped.id)
    world.clock.now = world.clock.now.replace(day=14, hour=5, minute=59)  # 07:59 Brussels, the day before
    assert world.reminders.send_due_reminders() == 0
    world.clock.now += timedelta(minutes=1)  # 08:00
    assert world.reminders.send_due_reminders() == 1
    assert world.reminders.send_due_reminders() == 0
    world.clock.now += timedelta(hours=12)
    assert world.reminders.send_due_reminders() == 0
    [(_, ev)] = events(world.rt, "meetings.booking.reminder_due.v1")
    assert (ev.booking.booking_id, ev.booking.parent_account_id, ev.booking.teacher_name) == (
        kept.id,
        "mum",
        "Mme Dubois",
    )


def test_concurrent_reminder_runs_publish_each_reminder_once(world):
    dubois = world.slots("Mme Dubois")
    for who, i in ((world.mum, 0), (world.dad, 1), (world.other, 2)):
        world.book(who, dubois[i].id, next(iter(who.students)))
    world.clock.now = world.clock.now.replace(day=14, hour=7)
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(world.reminders.send_due_reminders())) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 3
    assert len(events(world.rt, "meetings.booking.reminder_due.v1")) == 3


# -- over gRPC ----------------------------------------------------------------------------------


def test_over_grpc_the_token_decides_and_conflicts_keep_their_code(world, stub, keys):
    mum = keys.token("parent", "sch-1", students={"emma": "3A"}, account_id="mum")
    other = keys.token("parent", "sch-1", students={"noah": "3B"}, account_id="other")
    staff = keys.token("staff", "sch-1", account_id="boss")
    evenings = stub.ListOpenEvenings(pb.ListOpenEveningsRequest(student_id="emma"), metadata=md(mum)).evenings
    slot = evenings[0].teachers[1].free_slots[0]
    booked = stub.BookSlot(
        pb.BookSlotRequest(slot_id=slot.id, student_id="emma", child_name="Emma"), metadata=md(mum)
    )
    with pytest.raises(grpc.RpcError) as exc:
        stub.BookSlot(pb.BookSlotRequest(slot_id=slot.id, student_id="noah"), metadata=md(other))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and error_code(exc.value) == "slot_taken"
    with pytest.raises(grpc.RpcError) as exc:
        stub.CancelBooking(pb.CancelBookingRequest(booking_id=booked.booking.id), metadata=md(other))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetSchedule(pb.GetScheduleRequest(evening_id=world.evening.evening.id), metadata=md(mum))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    sched = stub.GetSchedule(pb.GetScheduleRequest(evening_id=world.evening.evening.id), metadata=md(staff))
    assert sum(s.HasField("booking") for t in sched.teachers for s in t.slots) == 1
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListMyBookings(pb.ListMyBookingsRequest(student_id="emma"))
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
