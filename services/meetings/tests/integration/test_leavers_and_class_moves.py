"""Issue #16 in meetings, on SQLite and PostgreSQL. A child who left the school (their parent's token
says so) books nothing more: no evening offered, a booking answers 409 ``student_left`` and writes
nothing; a meeting booked before stays listed and cancellable. A class change needs nothing here: the
token carries the class on every call, so the next call after the move offers the new class's
teachers and refuses the old one's."""

from __future__ import annotations

import dataclasses

import pytest

from kit.errors import Conflict, NotFound
from services.meetings.tests.conftest import snapshot


def _teachers(world, who) -> set[str]:
    evenings = world.booking.list_open_evenings(who, "emma").evenings
    return {t.teacher.name for e in evenings for t in e.teachers}


def test_a_leaver_books_nothing_but_keeps_and_may_cancel_what_was_booked(world):
    booked = world.book(world.mum, world.slots("Mme Dubois")[0].id, key="before")
    gone = dataclasses.replace(world.mum, left={"emma": "2026-10-09"})
    assert list(world.booking.list_open_evenings(gone, "emma").evenings) == []
    before = snapshot(world.rt)
    with pytest.raises(Conflict) as err:
        world.book(gone, world.slots("M. Janssens")[0].id, key="after")
    assert err.value.code == "student_left"
    assert snapshot(world.rt) == before
    # the same key answers the booking made before the child left
    assert world.book(gone, world.slots("Mme Dubois")[0].id, key="before").id == booked.id
    assert [b.id for b in world.booking.my_bookings(gone, "emma").bookings] == [booked.id]
    world.booking.cancel_booking(gone, booked.id)
    assert list(world.booking.my_bookings(gone, "emma").bookings) == []


def test_a_class_change_offers_the_new_class_s_teachers_at_the_next_call(world):
    assert _teachers(world, world.mum) == {"Mme Dubois", "M. Janssens"}  # 3A
    moved = dataclasses.replace(world.mum, students={"emma": "5C"})  # the token auth signs after the move
    assert _teachers(world, moved) == {"Mme Leroy"}
    with pytest.raises(NotFound):  # a teacher of her old class only
        world.book(moved, world.slots("M. Janssens")[0].id)
    world.book(moved, world.slots("Mme Leroy")[0].id)
    sched = world.evenings.schedule(world.staff, world.evening.evening.id, world.teacher("Mme Leroy"))
    assert [s.booking.class_name for s in sched.teachers[0].slots if s.HasField("booking")] == ["5C"]
