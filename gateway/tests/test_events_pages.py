"""The staff's events pages (/gestion/evenements) in-process against a fake notifications service: the
list (upcoming by default, a range of days), the form to publish and to change an event with errors
tied to their fields, the confirmation step before a delete, in French, Dutch and English."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

import pytest

from cartable.notifications.v1 import notifications_pb2 as pb
from gateway.tests.conftest import not_found
from kit.dates import BRUSSELS
from kit.errors import InvalidRequest

FAIR = pb.SchoolEvent(
    id="ev-1",
    title="Fancy-fair",
    description="Au préau\nVenez nombreux",
    starts_at="2026-12-05T09:00:00+00:00",
    ends_at="2026-12-05T15:00:00+00:00",
    class_names=[],
)
TRIP = pb.SchoolEvent(
    id="ev-2",
    title="Classe verte",
    starts_at="2027-05-04T06:00:00+00:00",
    ends_at="2027-05-06T14:00:00+00:00",
    class_names=["3A", "3B"],
)


@pytest.fixture
def staff(client, fakes):
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def page(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def field_tag(html: str, name: str) -> str:
    found = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*>', html)
    assert found, f"the page has no field {name}"
    return found.group(0)


# -- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_the_upcoming_events_on_the_schools_clock(client, fakes, staff):
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse(events=[FAIR, TRIP]))
    html = page(client, "/gestion/evenements")
    [req] = fakes.requests("notifications", "ListSchoolEvents")
    assert req.from_date == datetime.now(BRUSSELS).date().isoformat() and req.to_date == ""
    assert "samedi 5 décembre 2026, 10:00 – 16:00" in html  # 09:00 UTC is 10:00 in Brussels
    assert "4 mai 2027 à 08:00 – 6 mai 2027 à 16:00" in html
    assert "Toute l'école" in unescape(html) and "3A, 3B" in html
    assert 'href="/gestion/evenements/ev-1/modifier"' in html
    assert 'href="/gestion/evenements/ev-2/supprimer"' in html
    # each link says which event it is for to a screen reader
    assert 'Supprimer<span class="visually-hidden"> : Classe verte</span>' in html


def test_the_list_takes_a_range_of_days_and_an_empty_from_means_no_bound(client, fakes, staff):
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse())
    html = page(client, "/gestion/evenements?from=2026-09-01&to=2027-06-30")
    assert "Aucun évènement pour cette période." in html
    assert 'value="2026-09-01"' in html and 'value="2027-06-30"' in html
    page(client, "/gestion/evenements?from=&to=2026-06-30")
    first, second = fakes.requests("notifications", "ListSchoolEvents")
    assert (first.from_date, first.to_date) == ("2026-09-01", "2027-06-30")
    assert (second.from_date, second.to_date) == ("", "2026-06-30")


def test_bad_dates_are_shown_on_their_field(client, fakes, staff):
    def refuse(_req):
        raise InvalidRequest("the dates are not valid", fields={"to": "must not be before from"})

    fakes.on("notifications", "ListSchoolEvents", refuse)
    resp = client.get("/gestion/evenements?from=2026-12-05&to=2026-12-01")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'aria-invalid="true"' in field_tag(html, "to") and "to-error" in field_tag(html, "to")
    assert 'id="to-error" class="field-error">La date de fin ne peut pas précéder la date de début.' in html
    assert "aria-invalid" not in field_tag(html, "from")


def test_parents_do_not_reach_the_staff_pages(client, fakes):
    client.set_cookie("cartable_session", fakes.parent().token)
    for path in ("/gestion/evenements", "/gestion/evenements/nouveau", "/gestion/evenements/ev-1/supprimer"):
        assert client.get(path).status_code == 403
    assert fakes.requests("notifications", "ListSchoolEvents") == []


def test_without_a_session_the_page_asks_to_sign_in(client):
    resp = client.get("/gestion/evenements")
    assert resp.status_code in (302, 303) and "/connexion" in resp.headers["Location"]


# -- publishing --------------------------------------------------------------------------------------


def test_publishing_sends_the_schools_wall_clock_and_the_classes(client, fakes, staff):
    fakes.on("notifications", "CreateEvent", pb.CreateEventResponse(id="ev-9"))
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse())
    html = page(client, "/gestion/evenements/nouveau")
    assert '<label for="title">Titre</label>' in html
    resp = client.post(
        "/gestion/evenements/nouveau",
        data={
            "csrf_token": csrf(html),
            "title": " Fancy-fair ",
            "starts_at": "2027-07-01T10:00",  # summer time: +02:00
            "ends_at": "2027-07-01T16:30",
            "classes": "3A, 3B;6A, ",
            "description": "Au préau",
        },
    )
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(
        "/gestion/evenements?from=" + datetime.now(BRUSSELS).date().isoformat()
    )
    [req] = fakes.requests("notifications", "CreateEvent")
    assert (req.title, req.starts_at, req.ends_at, req.description) == (
        " Fancy-fair ",
        "2027-07-01T10:00:00+02:00",
        "2027-07-01T16:30:00+02:00",
        "Au préau",
    )
    assert [c.strip() for c in req.class_names] == ["3A", "3B", "6A"]
    assert "Évènement « Fancy-fair » publié." in page(client, resp.headers["Location"])


def test_an_event_saved_in_the_past_is_listed_from_its_day(client, fakes, staff):
    fakes.on("notifications", "CreateEvent", pb.CreateEventResponse(id="ev-9"))
    html = page(client, "/gestion/evenements/nouveau")
    resp = client.post(
        "/gestion/evenements/nouveau",
        data={"csrf_token": csrf(html), "title": "Hier", "starts_at": "2020-01-10T10:00"},
    )
    assert resp.headers["Location"].endswith("/gestion/evenements?from=2020-01-10")


def test_the_services_refusal_is_shown_on_each_field_with_what_was_typed(client, fakes, staff):
    def refuse(_req):
        raise InvalidRequest(
            "the event is not valid",
            fields={"title": "required, at most 200 characters", "ends_at": "must not be before starts_at"},
        )

    fakes.on("notifications", "CreateEvent", refuse)
    html = page(client, "/gestion/evenements/nouveau")
    resp = client.post(
        "/gestion/evenements/nouveau",
        data={
            "csrf_token": csrf(html),
            "title": "",
            "starts_at": "2027-07-01T10:00",
            "ends_at": "2027-07-01T09:00",
            "classes": "3A",
        },
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'role="alert"' in html
    for name in ("title", "ends_at"):
        tag = field_tag(html, name)
        assert 'aria-invalid="true"' in tag and f"{name}-error" in tag
    assert 'id="ends_at-error" class="field-error">La fin ne peut pas précéder le début.' in html
    assert 'href="#title"' in html  # the summary leads to the field
    assert "aria-invalid" not in field_tag(html, "starts_at")
    assert 'value="2027-07-01T09:00"' in field_tag(html, "ends_at") and 'value="3A"' in field_tag(
        html, "classes"
    )


def test_a_form_without_its_csrf_token_is_refused(client, fakes, staff):
    resp = client.post("/gestion/evenements/nouveau", data={"title": "x", "starts_at": "2027-07-01T10:00"})
    assert resp.status_code == 400
    assert fakes.requests("notifications", "CreateEvent") == []


# -- changing ----------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_event_on_the_schools_clock(client, fakes, staff):
    fakes.on("notifications", "GetEvent", pb.GetEventResponse(event=TRIP))
    html = page(client, "/gestion/evenements/ev-2/modifier")
    assert 'value="Classe verte"' in field_tag(html, "title")
    assert 'value="2027-05-04T08:00"' in field_tag(html, "starts_at")
    assert 'value="2027-05-06T16:00"' in field_tag(html, "ends_at")
    assert 'value="3A, 3B"' in field_tag(html, "classes")
    assert "Enregistrer les modifications" in html


def test_saving_the_edit_form_sends_every_field(client, fakes, staff):
    fakes.on("notifications", "GetEvent", pb.GetEventResponse(event=FAIR))
    changed = pb.SchoolEvent(
        id="ev-1", title="Marché de Noël", starts_at=FAIR.starts_at, ends_at=FAIR.ends_at
    )
    fakes.on("notifications", "UpdateEvent", pb.UpdateEventResponse(event=changed))
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse(events=[changed]))
    html = page(client, "/gestion/evenements/ev-1/modifier")
    assert 'value="2026-12-05T16:00"' in field_tag(html, "ends_at")
    resp = client.post(
        "/gestion/evenements/ev-1/modifier",
        data={
            "csrf_token": csrf(html),
            "title": "Marché de Noël",
            "starts_at": "2026-12-05T10:00",
            "ends_at": "",
            "classes": "",
            "description": "",
        },
    )
    assert resp.status_code == 303
    [req] = fakes.requests("notifications", "UpdateEvent")
    assert req.event_id == "ev-1" and req.title == "Marché de Noël"
    assert (req.starts_at, req.ends_at, req.description) == ("2026-12-05T10:00:00+01:00", "", "")
    assert req.HasField("class_names") and list(req.class_names.names) == []  # the whole school
    assert "Évènement « Marché de Noël » modifié." in page(client, resp.headers["Location"])


def test_a_refused_change_is_shown_on_its_field(client, fakes, staff):
    fakes.on("notifications", "GetEvent", pb.GetEventResponse(event=FAIR))

    def refuse(_req):
        raise InvalidRequest("the event is not valid", fields={"class_names": "each at most 40 characters"})

    fakes.on("notifications", "UpdateEvent", refuse)
    html = page(client, "/gestion/evenements/ev-1/modifier")
    form = {"csrf_token": csrf(html), "title": "x", "starts_at": "2026-12-05T10:00", "classes": "x" * 41}
    resp = client.post("/gestion/evenements/ev-1/modifier", data=form)
    assert resp.status_code == 400
    assert 'aria-invalid="true"' in field_tag(resp.get_data(as_text=True), "classes")


def test_another_schools_event_is_not_found(client, fakes, staff):
    fakes.on("notifications", "GetEvent", not_found)
    for path in ("/gestion/evenements/theirs/modifier", "/gestion/evenements/theirs/supprimer"):
        assert client.get(path).status_code == 404


# -- deleting ----------------------------------------------------------------------------------------


def test_deleting_asks_first_then_deletes(client, fakes, staff):
    fakes.on("notifications", "GetEvent", pb.GetEventResponse(event=FAIR))
    fakes.on("notifications", "DeleteEvent", pb.DeleteEventResponse())
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse())
    html = page(client, "/gestion/evenements/ev-1/supprimer")
    assert "Supprimer l'évènement « Fancy-fair » ?" in html
    assert "samedi 5 décembre 2026, 10:00 – 16:00" in html
    assert fakes.requests("notifications", "DeleteEvent") == []  # looking is not deleting
    resp = client.post("/gestion/evenements/ev-1/supprimer", data={"csrf_token": csrf(html)})
    assert resp.status_code == 303
    assert [r.event_id for r in fakes.requests("notifications", "DeleteEvent")] == ["ev-1"]
    assert "Évènement « Fancy-fair » supprimé : les parents ne le voient plus." in page(
        client, resp.headers["Location"]
    )


# -- languages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "nl",
            [
                "Evenementen",
                "Een evenement publiceren",
                "zaterdag 5 december 2026, 10:00 – 16:00",
                "Hele school",
            ],
        ),
        ("en", ["Events", "Publish an event", "Saturday 5 December 2026, 10:00 – 16:00", "Whole school"]),
    ],
)
def test_the_pages_speak_dutch_and_english(client, fakes, staff, lang, words):
    fakes.on("notifications", "ListSchoolEvents", pb.ListSchoolEventsResponse(events=[FAIR]))
    fakes.on("notifications", "GetEvent", pb.GetEventResponse(event=FAIR))
    html = page(client, f"/gestion/evenements?lang={lang}")
    for word in words:
        assert word in html, word
    pages = [
        html,
        page(client, "/gestion/evenements/nouveau"),
        page(client, "/gestion/evenements/ev-1/modifier"),
        page(client, "/gestion/evenements/ev-1/supprimer"),
    ]
    for french in ("Évènements", "Publier", "Toute l'école", "Supprimer", "Titre", "Début", "Retour"):
        assert not any(french in unescape(p) for p in pages), french
