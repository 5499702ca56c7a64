"""The school's events through the JSON API (API.md, "School back office"): GET /api/v1/admin/events,
PATCH and DELETE /api/v1/admin/events/{id}, in-process against a fake notifications service."""

from __future__ import annotations

from datetime import datetime

import pytest

from cartable.notifications.v1 import notifications_pb2 as pb
from gateway.tests.conftest import not_found
from kit.dates import BRUSSELS
from kit.errors import InvalidRequest

FAIR = pb.SchoolEvent(
    id="ev-1",
    title="Fancy-fair",
    description="Au préau",
    starts_at="2026-12-05T09:00:00+00:00",
    ends_at="2026-12-05T15:00:00+00:00",
    class_names=["3A", "3B"],
)
FAIR_JSON = {
    "id": "ev-1",
    "title": "Fancy-fair",
    "description": "Au préau",
    "starts_at": "2026-12-05T09:00:00+00:00",
    "ends_at": "2026-12-05T15:00:00+00:00",
    "class_names": ["3A", "3B"],
}


def test_staff_list_the_events_of_a_range_of_days(client, fakes):
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse(events=[FAIR]))
    resp = client.get("/api/v1/admin/events?from=2026-12-01&to=2026-12-31", headers=fakes.staff().bearer)
    assert resp.status_code == 200
    assert resp.get_json() == {"items": [FAIR_JSON], "next_cursor": None}
    [req] = fakes.requests("notifications", "ListSchoolEvents")
    assert (req.from_date, req.to_date) == ("2026-12-01", "2026-12-31")


def test_without_from_the_list_starts_today_on_the_schools_clock(client, fakes):
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse())
    before = datetime.now(BRUSSELS).date().isoformat()
    assert client.get("/api/v1/admin/events", headers=fakes.staff().bearer).get_json()["items"] == []
    [req] = fakes.requests("notifications", "ListSchoolEvents")
    assert req.from_date in {before, datetime.now(BRUSSELS).date().isoformat()} and req.to_date == ""


def test_bad_dates_are_the_services_400_with_its_fields(client, fakes):
    def refuse(_req):
        raise InvalidRequest("the dates are not valid", fields={"from": "expected a date YYYY-MM-DD"})

    fakes.on("notifications", "ListSchoolEvents", refuse)
    resp = client.get("/api/v1/admin/events?from=demain", headers=fakes.staff().bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {
        "code": "invalid_request",
        "message": "the dates are not valid",
        "fields": {"from": "expected a date YYYY-MM-DD"},
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/admin/events"),
        ("patch", "/api/v1/admin/events/ev-1"),
        ("delete", "/api/v1/admin/events/ev-1"),
    ],
)
def test_parents_are_refused_before_any_service_call(client, fakes, method, path):
    resp = getattr(client, method)(path, json={"title": "x"}, headers=fakes.parent().bearer)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert not any(
        fakes.requests("notifications", m) for m in ("ListSchoolEvents", "UpdateEvent", "DeleteEvent")
    )


def test_an_update_sends_only_the_fields_given_and_answers_the_event(client, fakes):
    fakes.on("notifications", "UpdateEvent", lambda req: pb.UpdateEventResponse(event=FAIR))
    staff = fakes.staff()
    resp = client.patch("/api/v1/admin/events/ev-1", json={"title": " Fancy-fair "}, headers=staff.bearer)
    assert resp.status_code == 200 and resp.get_json() == FAIR_JSON
    [req] = fakes.requests("notifications", "UpdateEvent")
    assert req.event_id == "ev-1" and req.title == "Fancy-fair"
    assert [
        f for f in ("title", "description", "starts_at", "ends_at", "class_names") if req.HasField(f)
    ] == ["title"]


def test_an_update_may_set_every_field_and_empty_classes_mean_the_whole_school(client, fakes):
    fakes.on("notifications", "UpdateEvent", lambda req: pb.UpdateEventResponse(event=FAIR))
    body = {
        "title": "Marché",
        "description": "",
        "starts_at": "2026-12-05T10:00:00+01:00",
        "ends_at": "",
        "class_names": [],
    }
    assert (
        client.patch("/api/v1/admin/events/ev-1", json=body, headers=fakes.staff().bearer).status_code == 200
    )
    client.patch("/api/v1/admin/events/ev-1", json={"class_names": None}, headers=fakes.staff().bearer)
    first, second = fakes.requests("notifications", "UpdateEvent")
    assert all(first.HasField(f) for f in body)
    assert (first.title, first.description, first.starts_at, first.ends_at) == (
        "Marché",
        "",
        "2026-12-05T10:00:00+01:00",
        "",
    )
    assert list(first.class_names.names) == []
    assert second.HasField("class_names") and list(second.class_names.names) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 12}, "title"),
        ({"starts_at": ["2026-12-05"]}, "starts_at"),
        ({"class_names": "3A"}, "class_names"),
        ({"class_names": ["3A", 4]}, "class_names"),
        ({"description": "x" * 5001}, "description"),
    ],
)
def test_a_badly_typed_update_is_400_naming_the_field_before_any_service_call(client, fakes, body, field):
    resp = client.patch("/api/v1/admin/events/ev-1", json=body, headers=fakes.staff().bearer)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_request" and field in error["fields"]
    assert fakes.requests("notifications", "UpdateEvent") == []


def test_a_body_that_is_not_an_object_is_400(client, fakes):
    resp = client.patch("/api/v1/admin/events/ev-1", data="[]", headers=fakes.staff().bearer)
    assert resp.status_code == 400 and "body" in resp.get_json()["error"]["fields"]


def test_the_services_refusal_of_an_update_names_each_field(client, fakes):
    def refuse(_req):
        raise InvalidRequest(
            "the event is not valid",
            fields={"title": "required, at most 200 characters", "ends_at": "must not be before starts_at"},
        )

    fakes.on("notifications", "UpdateEvent", refuse)
    resp = client.patch(
        "/api/v1/admin/events/ev-1",
        json={"title": "", "ends_at": "2020-01-01T00:00:00Z"},
        headers=fakes.staff().bearer,
    )
    assert resp.status_code == 400
    assert set(resp.get_json()["error"]["fields"]) == {"title", "ends_at"}


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_another_schools_event_is_404_not_found(client, fakes, method):
    fakes.on("notifications", "UpdateEvent", not_found)
    fakes.on("notifications", "DeleteEvent", not_found)
    resp = getattr(client, method)(
        "/api/v1/admin/events/theirs", json={"title": "x"}, headers=fakes.staff().bearer
    )
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_a_delete_is_204_with_no_body(client, fakes):
    fakes.on("notifications", "DeleteEvent", pb.DeleteEventResponse())
    resp = client.delete("/api/v1/admin/events/ev-1", headers=fakes.staff().bearer)
    assert resp.status_code == 204 and resp.get_data() == b""
    assert [r.event_id for r in fakes.requests("notifications", "DeleteEvent")] == ["ev-1"]


def test_a_browser_must_show_its_csrf_token_to_change_an_event(client, fakes):
    fakes.on("notifications", "DeleteEvent", pb.DeleteEventResponse())
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    assert client.delete("/api/v1/admin/events/ev-1").status_code == 403
    assert fakes.requests("notifications", "DeleteEvent") == []
    assert client.delete("/api/v1/admin/events/ev-1", headers={"X-CSRF-Token": staff.csrf}).status_code == 204


def test_the_openapi_document_has_the_events_rows_once(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/admin/events"]) == {"get", "post"}
    assert set(paths["/api/v1/admin/events/{id}"]) == {"patch", "delete"}
    assert "404" in paths["/api/v1/admin/events/{id}"]["patch"]["responses"]
    assert "204" in paths["/api/v1/admin/events/{id}"]["delete"]["responses"]
