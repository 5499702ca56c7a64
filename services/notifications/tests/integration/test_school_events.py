"""Staff list the school's events in a range of days, change and delete them; parents' ListEvents shows
each change at once. Through the use cases on a real database."""

from __future__ import annotations

import pytest

from cartable.notifications.v1 import notifications_pb2 as pb
from kit.errors import Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from services.notifications.app import use_cases
from services.notifications.tests.conftest import SCHOOL, snapshot

STAFF = Identity(account_id="boss-1", role="staff", school_id=SCHOOL)
OTHER_STAFF = Identity(account_id="boss-2", role="staff", school_id="school-2")
PARENT = Identity(account_id="acc-marie", role="parent", school_id=SCHOOL, students={"stu-emma": "3A"})


@pytest.fixture
def events(notifications_rt):
    return use_cases(notifications_rt).school_events


def create(events, who=STAFF, **kw) -> str:
    values = {"title": "Fancy-fair", "starts_at": "2026-12-05T10:00:00+01:00", **kw}
    return events.create_event(who, pb.CreateEventRequest(**values)).id


def listed(events, first: str = "", last: str = "", who=STAFF) -> list[str]:
    resp = events.list_school_events(who, pb.ListSchoolEventsRequest(from_date=first, to_date=last))
    return [e.title for e in resp.events]


def parents_see(events) -> list[str]:
    return [e.title for e in events.list_events(PARENT, "stu-emma").events]


# -- listing ---------------------------------------------------------------------------------------


def test_the_range_takes_whole_days_of_the_schools_clock_both_included(events):
    # 23:30 in Brussels on 1 December is 22:30 UTC: still the 1st; 00:15 on the 2nd is the 1st in UTC.
    create(events, title="late on the 1st", starts_at="2026-12-01T23:30:00+01:00")
    create(events, title="early on the 2nd", starts_at="2026-12-02T00:15:00+01:00")
    create(events, title="the 3rd", starts_at="2026-12-03T12:00:00+01:00")
    assert listed(events, "2026-12-01", "2026-12-01") == ["late on the 1st"]
    assert listed(events, "2026-12-02", "2026-12-02") == ["early on the 2nd"]
    assert listed(events, "2026-12-01", "2026-12-03") == ["late on the 1st", "early on the 2nd", "the 3rd"]
    assert listed(events, "2026-12-02") == ["early on the 2nd", "the 3rd"]
    assert listed(events, "", "2026-12-02") == ["late on the 1st", "early on the 2nd"]


def test_the_day_the_clocks_go_forward_is_whole(events):
    # 28 March 2027 lasts 23 hours in Brussels: 23:30 that evening is 21:30 UTC, still that day.
    create(events, title="that evening", starts_at="2027-03-28T23:30:00+02:00")
    create(events, title="next morning", starts_at="2027-03-29T00:30:00+02:00")
    assert listed(events, "2027-03-28", "2027-03-28") == ["that evening"]


def test_events_already_past_are_listed_when_the_range_asks_for_them(events, clock):
    create(events, title="last year", starts_at="2025-12-05T10:00:00+01:00")
    assert listed(events, "2025-12-01", "2025-12-31") == ["last year"]


def test_another_schools_events_are_not_listed(events):
    create(events, title="ours")
    create(events, who=OTHER_STAFF, title="theirs")
    assert listed(events) == ["ours"]
    assert listed(events, who=OTHER_STAFF) == ["theirs"]


@pytest.mark.parametrize(
    ("first", "last", "fields"),
    [
        ("tomorrow", "", {"from"}),
        ("", "2026-13-01", {"to"}),
        ("05/12/2026", "2026/12/31", {"from", "to"}),
        ("2026-12-05", "2026-12-04", {"to"}),
    ],
)
def test_bad_dates_are_refused_naming_each(events, first, last, fields):
    with pytest.raises(InvalidRequest) as exc:
        listed(events, first, last)
    assert set(exc.value.fields) == fields


def test_parents_cannot_list_the_schools_calendar(events):
    with pytest.raises(Forbidden):
        listed(events, who=PARENT)


# -- one event -------------------------------------------------------------------------------------


def test_staff_read_one_event_of_their_school_only(events):
    event_id = create(events, description="Au préau", class_names=["3A"])
    e = events.get_event(STAFF, event_id).event
    assert (e.id, e.title, e.description, list(e.class_names)) == (event_id, "Fancy-fair", "Au préau", ["3A"])
    assert e.starts_at == "2026-12-05T09:00:00+00:00"
    with pytest.raises(NotFound):
        events.get_event(OTHER_STAFF, event_id)
    with pytest.raises(NotFound):
        events.get_event(STAFF, "no-such-event")


# -- update ----------------------------------------------------------------------------------------


def update(events, event_id: str, who=STAFF, classes: list[str] | None = None, **fields) -> pb.SchoolEvent:
    req = pb.UpdateEventRequest(event_id=event_id, **fields)
    if classes is not None:
        req.class_names.CopyFrom(pb.EventClasses(names=classes))
    return events.update_event(who, req).event


def test_only_the_fields_given_change(events):
    event_id = create(
        events,
        description="Au préau",
        ends_at="2026-12-05T16:00:00+01:00",
        class_names=["3A", "3B"],
    )
    e = update(events, event_id, title="  Marché de Noël ")
    assert (e.title, e.description, list(e.class_names)) == ("Marché de Noël", "Au préau", ["3A", "3B"])
    assert (e.starts_at, e.ends_at) == ("2026-12-05T09:00:00+00:00", "2026-12-05T15:00:00+00:00")
    e = update(events, event_id, starts_at="2026-12-05T08:00:00+01:00", description="")
    assert (e.starts_at, e.description) == ("2026-12-05T07:00:00+00:00", "")
    assert events.get_event(STAFF, event_id).event == e


def test_class_names_are_cleaned_and_an_empty_list_means_the_whole_school(events):
    event_id = create(events, class_names=["3A"])
    e = update(events, event_id, classes=[" 3B ", "", "3B", "6\nA", "  "])
    assert list(e.class_names) == ["3B", "6 A"]
    e = update(events, event_id, classes=[])
    assert list(e.class_names) == []


def test_an_empty_end_is_the_start(events):
    event_id = create(events, ends_at="2026-12-05T16:00:00+01:00")
    e = update(events, event_id, starts_at="2026-12-06T10:00:00+01:00", ends_at="")
    assert e.ends_at == e.starts_at == "2026-12-06T09:00:00+00:00"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"title": "  "}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"description": "x" * 5001}, {"description"}),
        ({"starts_at": "demain"}, {"starts_at"}),
        ({"starts_at": "2026-12-05T10:00:00"}, {"starts_at"}),  # no offset
        # the stored end (16:00) is before the new start
        ({"starts_at": "2026-12-05T17:00:00+01:00"}, {"ends_at"}),
        ({"ends_at": "2026-12-05T09:00:00+01:00"}, {"ends_at"}),
        ({"title": "", "ends_at": "later"}, {"title", "ends_at"}),
    ],
)
def test_an_update_is_checked_as_a_creation_and_nothing_is_written(events, notifications_rt, fields, named):
    event_id = create(events, ends_at="2026-12-05T16:00:00+01:00")
    before = snapshot(notifications_rt)
    with pytest.raises(InvalidRequest) as exc:
        update(events, event_id, **fields)
    assert set(exc.value.fields) == named
    assert snapshot(notifications_rt) == before


def test_a_class_name_too_long_is_refused(events):
    event_id = create(events)
    with pytest.raises(InvalidRequest) as exc:
        update(events, event_id, classes=["x" * 41])
    assert set(exc.value.fields) == {"class_names"}


def test_another_schools_event_cannot_be_changed(events, notifications_rt):
    event_id = create(events)
    before = snapshot(notifications_rt)
    with pytest.raises(NotFound):
        update(events, event_id, who=OTHER_STAFF, title="Hacked")
    with pytest.raises(NotFound):  # bad fields too: the event is not found before they are read
        update(events, event_id, who=OTHER_STAFF, title="")
    assert snapshot(notifications_rt) == before


def test_parents_cannot_change_or_delete(events):
    event_id = create(events)
    with pytest.raises(Forbidden):
        update(events, event_id, who=PARENT, title="Mine")
    with pytest.raises(Forbidden):
        events.delete_event(PARENT, event_id)


def test_parents_see_a_change_at_once(events):
    event_id = create(events, class_names=["3A"])
    assert parents_see(events) == ["Fancy-fair"]
    update(events, event_id, title="Marché de Noël")
    assert parents_see(events) == ["Marché de Noël"]
    update(events, event_id, classes=["6A"])  # no longer Emma's class
    assert parents_see(events) == []
    update(events, event_id, classes=[])  # the whole school again
    assert parents_see(events) == ["Marché de Noël"]


# -- delete ----------------------------------------------------------------------------------------


def test_a_deleted_event_is_gone_for_parents_and_staff(events):
    kept = create(events, title="Kept")
    gone = create(events, title="Gone", starts_at="2026-12-04T10:00:00+01:00")
    assert parents_see(events) == ["Gone", "Kept"]
    events.delete_event(STAFF, gone)
    assert parents_see(events) == ["Kept"]
    assert listed(events) == ["Kept"]
    with pytest.raises(NotFound):
        events.get_event(STAFF, gone)
    with pytest.raises(NotFound):  # a second time: nothing left to delete
        events.delete_event(STAFF, gone)
    assert events.get_event(STAFF, kept).event.title == "Kept"


def test_another_schools_event_cannot_be_deleted(events, notifications_rt):
    event_id = create(events)
    before = snapshot(notifications_rt)
    with pytest.raises(NotFound):
        events.delete_event(OTHER_STAFF, event_id)
    assert snapshot(notifications_rt) == before
    assert parents_see(events) == ["Fancy-fair"]
