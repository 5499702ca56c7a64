"""The evening's plan, its slots and the reminder moment: pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.meetings.domain.evening import (
    PlanError,
    booking_open,
    overlaps,
    plan_evening,
    reminder_due,
    reminder_due_at,
    teaches,
)

TZ = "Europe/Brussels"


def plan(**over):
    args = dict(
        title="Réunion",
        day="2026-10-15",
        start_time="18:00",
        end_time="19:05",
        slot_minutes=10,
        opens_at="2026-10-01T08:00:00+02:00",
        closes_at="2026-10-14T12:00:00+02:00",
        teachers=[("Mme Dubois", "12", ["3A", " 3B ", "3A"], "")],
        timezone=TZ,
    )
    args.update(over)
    return plan_evening(**args)


def test_slots_are_back_to_back_in_local_time_and_a_partial_last_slot_is_dropped():
    p = plan()
    times = p.slot_times()
    assert len(times) == 6
    assert times[0][0].isoformat() == "2026-10-15T18:00:00+02:00"
    assert times[-1][1].isoformat() == "2026-10-15T19:00:00+02:00"
    assert p.teachers[0].class_names == ("3A", "3B")


def test_winter_time_evening_has_the_winter_offset():
    p = plan(day="2026-11-19", opens_at="2026-11-01T08:00:00+01:00", closes_at="2026-11-18T12:00:00+01:00")
    assert p.slot_times()[0][0].astimezone(UTC) == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)


def test_every_problem_of_a_plan_is_reported_at_once():
    with pytest.raises(PlanError) as exc:
        plan(
            title="",
            day="15/10/2026",
            start_time="19:00",
            end_time="18:00",
            slot_minutes=3,
            opens_at="2026-10-01T08:00:00",
            teachers=[("", "", [], ""), ("X", "", ["1A"], "")],
        )
    f = exc.value.fields
    assert {
        "title",
        "date",
        "slot_minutes",
        "opens_at",
        "teachers[0].name",
        "teachers[0].class_names",
    } <= set(f)


def test_overlong_class_names_and_account_ids_are_refused():
    with pytest.raises(PlanError) as exc:
        plan(teachers=[("Mme Dubois", "", ["x" * 41], "a" * 37)])
    assert {"teachers[0].class_names", "teachers[0].account_id"} <= set(exc.value.fields)


def test_booking_must_close_before_the_evening_starts():
    with pytest.raises(PlanError) as exc:
        plan(closes_at="2026-10-15T18:30:00+02:00")
    assert "closes_at" in exc.value.fields
    assert plan(closes_at="2026-10-15T18:00:00+02:00")  # closing when it starts is fine


def test_a_teacher_listed_twice_and_no_slot_fitting_are_refused():
    with pytest.raises(PlanError) as exc:
        plan(teachers=[("Mme Dubois", "", ["3A"], ""), ("mme dubois", "", ["3B"], "")])
    assert "teachers[1].name" in exc.value.fields
    with pytest.raises(PlanError) as exc:
        plan(start_time="18:00", end_time="18:05")
    assert "slot_minutes" in exc.value.fields


def test_window_is_open_from_the_open_instant_until_not_including_the_close():
    o, c = datetime(2026, 10, 1, 6, tzinfo=UTC), datetime(2026, 10, 14, 10, tzinfo=UTC)
    assert not booking_open(o, c, datetime(2026, 10, 1, 5, 59, 59, tzinfo=UTC))
    assert booking_open(o, c, o)
    assert not booking_open(o, c, c)


def test_teacher_of_the_child_and_overlaps():
    assert teaches(["3A", "3B"], "3B")
    assert not teaches(["3A"], "3B") and not teaches(["3A"], None)
    a = datetime(2026, 10, 15, 16, tzinfo=UTC)
    b = datetime(2026, 10, 15, 16, 10, tzinfo=UTC)
    c = datetime(2026, 10, 15, 16, 20, tzinfo=UTC)
    assert overlaps(a, c, b, c) and not overlaps(a, b, b, c)


def test_reminder_is_due_from_the_hour_the_day_before_and_not_for_late_bookings():
    start = datetime(2026, 10, 15, 16, 0, tzinfo=UTC)  # 18:00 Brussels
    due = reminder_due_at(start, TZ, 8)
    assert due.isoformat() == "2026-10-14T08:00:00+02:00"
    booked = datetime(2026, 10, 3, tzinfo=UTC)
    assert not reminder_due(start, booked, TZ, 8, datetime(2026, 10, 14, 5, 59, tzinfo=UTC))  # 07:59 Brussels
    assert reminder_due(start, booked, TZ, 8, due)
    assert reminder_due(start, booked, TZ, 8, datetime(2026, 10, 15, 15, 59, tzinfo=UTC))
    assert not reminder_due(start, booked, TZ, 8, start)
    assert not reminder_due(
        start, datetime(2026, 10, 14, 7, tzinfo=UTC), TZ, 8, datetime(2026, 10, 14, 9, tzinfo=UTC)
    )
