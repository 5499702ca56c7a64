"""The school's events managed by staff through the whole suite (API.md, "School back office": GET,
PATCH and DELETE /api/v1/admin/events): every row and its refusals, another school's ids, and the
parent's dashboard and /api/v1/events showing each change at once; the same through the staff pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import expect, new_family, new_school

BRUSSELS = ZoneInfo("Europe/Brussels")


def _at(days: int, hour: int = 10) -> datetime:
    """``days`` from now at ``hour`` o'clock on the school's clock."""
    day = datetime.now(BRUSSELS).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=BRUSSELS)


def _publish(staff, title: str, starts: datetime, hours: int = 2, class_names=()) -> str:
    body = {
        "title": title,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
        "description": "",
        "class_names": list(class_names),
    }
    return expect(staff.post("/admin/events", json=body), 201).json()["id"]


def _parent_sees(parent) -> tuple[list[str], list[str]]:
    """The event titles of the parent's dashboard and of GET /api/v1/events."""
    dashboard = expect(parent.get("/dashboard")).json()
    assert "events" not in dashboard["unavailable"]
    events = expect(parent.get("/events")).json()["items"]
    return [e["title"] for e in dashboard["events"]], [e["title"] for e in events]


def _patch(client, event_id: str, body) -> object:
    return client.request("PATCH", f"/admin/events/{event_id}", json=body)


@pytest.fixture
def school(suite):
    staff = new_school(suite)
    kid = staff.create_student("Emma", "Dupont", "3A")
    parent = new_family(suite, staff, [kid])
    return staff, parent


def test_staff_list_edit_and_delete_and_the_parent_sees_each_change_at_once(school):
    staff, parent = school
    fair = _publish(staff, "Fancy-fair", _at(3), hours=4)
    trip = _publish(staff, "Classe verte", _at(10), class_names=["3A"])
    assert _parent_sees(parent) == (["Fancy-fair", "Classe verte"], ["Fancy-fair", "Classe verte"])

    listed = expect(staff.get("/admin/events")).json()  # upcoming by default
    assert [e["id"] for e in listed["items"]] == [fair, trip]
    assert set(listed["items"][0]) == {"id", "title", "starts_at", "ends_at", "description", "class_names"}
    day = _at(3).date().isoformat()
    only_fair = expect(staff.get(f"/admin/events?from={day}&to={day}")).json()["items"]
    assert [e["title"] for e in only_fair] == ["Fancy-fair"]

    changed = expect(_patch(staff, fair, {"title": "Marché de Noël", "description": "Au préau"}), 200).json()
    assert (
        changed["id"] == fair
        and changed["title"] == "Marché de Noël"
        and changed["description"] == "Au préau"
    )
    assert datetime.fromisoformat(changed["starts_at"]) == _at(3)  # left alone
    assert datetime.fromisoformat(changed["ends_at"]) == _at(3) + timedelta(hours=4)
    assert _parent_sees(parent) == (["Marché de Noël", "Classe verte"], ["Marché de Noël", "Classe verte"])

    # moved to another class: no longer Emma's; then the whole school again, a day earlier
    expect(_patch(staff, trip, {"class_names": ["6A"]}), 200)
    assert _parent_sees(parent) == (["Marché de Noël"], ["Marché de Noël"])
    moved = expect(
        _patch(
            staff,
            trip,
            {"class_names": [], "starts_at": _at(2).isoformat(), "ends_at": _at(2, 16).isoformat()},
        ),
        200,
    ).json()
    assert moved["class_names"] == []
    assert _parent_sees(parent) == (["Classe verte", "Marché de Noël"], ["Classe verte", "Marché de Noël"])

    r = staff.delete(f"/admin/events/{trip}")
    assert r.status_code == 204 and r.content == b""
    assert _parent_sees(parent) == (["Marché de Noël"], ["Marché de Noël"])
    assert [e["id"] for e in expect(staff.get("/admin/events")).json()["items"]] == [fair]
    assert staff.delete(f"/admin/events/{trip}").status_code == 404
    assert _patch(staff, trip, {"title": "Encore"}).status_code == 404


def test_a_past_range_lists_past_events(school):
    staff, _parent = school
    _publish(staff, "Rentrée", _at(-20))
    _publish(staff, "Demain", _at(1))
    assert [e["title"] for e in expect(staff.get("/admin/events")).json()["items"]] == ["Demain"]
    first, last = _at(-21).date().isoformat(), _at(1).date().isoformat()
    items = expect(staff.get(f"/admin/events?from={first}&to={last}")).json()["items"]
    assert [e["title"] for e in items] == ["Rentrée", "Demain"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": ""}, {"title"}),
        ({"title": "   "}, {"title"}),
        ({"starts_at": "demain"}, {"starts_at"}),
        ({"starts_at": "2027-01-01T10:00:00"}, {"starts_at"}),  # no offset
        ({"ends_at": "2000-01-01T10:00:00+01:00"}, {"ends_at"}),  # before the stored start
        ({"title": "", "ends_at": "plus tard"}, {"title", "ends_at"}),
        ({"title": 12}, {"title"}),
        ({"class_names": "3A"}, {"class_names"}),
        ({"class_names": ["x" * 41]}, {"class_names"}),
        ({"description": "x" * 5001}, {"description"}),
    ],
)
def test_a_bad_change_is_400_naming_its_fields_and_changes_nothing(school, body, fields):
    staff, parent = school
    event_id = _publish(staff, "Fancy-fair", _at(3))
    before = expect(staff.get("/admin/events")).json()["items"]
    r = _patch(staff, event_id, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    assert set(r.json()["error"]["fields"]) == fields
    assert expect(staff.get("/admin/events")).json()["items"] == before
    assert _parent_sees(parent) == (["Fancy-fair"], ["Fancy-fair"])


def test_a_body_that_is_not_an_object_is_400(school):
    staff, _parent = school
    event_id = _publish(staff, "Fancy-fair", _at(3))
    r = staff.request(
        "PATCH", f"/admin/events/{event_id}", data="[1]", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("query", "fields"),
    [("from=demain", {"from"}), ("to=2027-02-30", {"to"}), ("from=2027-01-10&to=2027-01-09", {"to"})],
)
def test_bad_dates_are_400_naming_them(school, query, fields):
    staff, _parent = school
    r = staff.get(f"/admin/events?{query}")
    assert r.status_code == 400 and set(r.json()["error"]["fields"]) == fields


def test_another_schools_event_is_not_found_and_stays_as_it_was(suite, school):
    staff, parent = school
    event_id = _publish(staff, "Fancy-fair", _at(3))
    other = new_school(suite)
    for r in (
        _patch(other, event_id, {"title": "Piraté"}),
        _patch(other, event_id, {"title": ""}),  # not found before its fields are read
        other.delete(f"/admin/events/{event_id}"),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert expect(other.get("/admin/events")).json()["items"] == []
    assert _parent_sees(parent) == (["Fancy-fair"], ["Fancy-fair"])
    assert [e["title"] for e in expect(staff.get("/admin/events")).json()["items"]] == ["Fancy-fair"]


def test_parents_may_not_list_change_or_delete(school):
    staff, parent = school
    event_id = _publish(staff, "Fancy-fair", _at(3))
    assert parent.get("/admin/events").status_code == 403
    assert _patch(parent, event_id, {"title": "x"}).status_code == 403
    assert parent.delete(f"/admin/events/{event_id}").status_code == 403
    assert _parent_sees(parent) == (["Fancy-fair"], ["Fancy-fair"])


# -- the same through the staff pages ---------------------------------------------------------------


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def test_the_staff_pages_publish_edit_and_delete_and_the_parent_sees_it(school):
    staff, parent = school
    form = expect(staff.page("/gestion/evenements/nouveau")).text
    starts = _at(4, 18)
    r = staff.page(
        "/gestion/evenements/nouveau",
        method="POST",
        data={
            "csrf_token": _csrf(form),
            "title": "Souper de classe",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": "",
            "classes": "3A, 3B",
            "description": "Au réfectoire",
        },
    )
    assert r.status_code == 200 and "Évènement « Souper de classe » publié." in r.text  # after the redirect
    [event] = expect(staff.get("/admin/events")).json()["items"]
    assert datetime.fromisoformat(event["starts_at"]) == starts and event["class_names"] == ["3A", "3B"]
    assert _parent_sees(parent) == (["Souper de classe"], ["Souper de classe"])

    edit = expect(staff.page(f"/gestion/evenements/{event['id']}/modifier")).text
    assert 'value="Souper de classe"' in edit
    r = staff.page(
        f"/gestion/evenements/{event['id']}/modifier",
        method="POST",
        data={
            "csrf_token": _csrf(edit),
            "title": "",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": "",
            "classes": "3A",
            "description": "",
        },
    )
    assert r.status_code == 400 and 'id="title-error"' in r.text
    assert _parent_sees(parent) == (["Souper de classe"], ["Souper de classe"])
    r = staff.page(
        f"/gestion/evenements/{event['id']}/modifier",
        method="POST",
        data={
            "csrf_token": _csrf(edit),
            "title": "Souper des parents",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "classes": "3A",
            "description": "",
        },
    )
    assert r.status_code == 200 and "Souper des parents" in r.text
    assert _parent_sees(parent) == (["Souper des parents"], ["Souper des parents"])

    confirm = expect(staff.page(f"/gestion/evenements/{event['id']}/supprimer")).text
    assert "Supprimer définitivement" in confirm
    assert _parent_sees(parent) == (["Souper des parents"], ["Souper des parents"])  # asking is not deleting
    r = staff.page(
        f"/gestion/evenements/{event['id']}/supprimer", method="POST", data={"csrf_token": _csrf(confirm)}
    )
    assert r.status_code == 200 and "les parents ne le voient plus" in r.text
    assert _parent_sees(parent) == ([], [])


def test_the_page_of_another_schools_event_is_not_found(suite, school):
    staff, _parent = school
    event_id = _publish(staff, "Fancy-fair", _at(3))
    other = new_school(suite)
    assert other.page(f"/gestion/evenements/{event_id}/modifier").status_code == 404
    assert other.page(f"/gestion/evenements/{event_id}/supprimer").status_code == 404
