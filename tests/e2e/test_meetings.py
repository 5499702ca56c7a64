"""Parent meetings through the gateway: the school opens an evening, parents book and cancel over the
JSON API, staff read the schedules, and the events leave through the outbox onto the broker."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest

from cartable.events.v1 import envelope_pb2
from cartable.meetings.v1 import events_pb2
from kit.testing import wait_for
from tests.factories import expect, new_family, new_school

BRUSSELS = ZoneInfo("Europe/Brussels")

# What the tap reads: each of these events carries the booking it is about.
BookingEvent = events_pb2.BookingConfirmed | events_pb2.BookingCancelled | events_pb2.BookingReminderDue


def evening_body(title: str, *, days_ahead: int = 3, open_now: bool = True) -> dict:
    now = datetime.now(BRUSSELS)
    day = (now + timedelta(days=days_ahead)).date()
    if open_now:
        opens, closes = (
            now - timedelta(hours=1),
            datetime.combine(day - timedelta(days=1), clock(12), BRUSSELS),
        )
    else:  # booking already over
        opens, closes = now - timedelta(hours=2), now - timedelta(hours=1)
    return {
        "title": title,
        "date": day.isoformat(),
        "start_time": "18:00",
        "end_time": "19:00",
        "slot_minutes": 10,
        "opens_at": opens.isoformat(),
        "closes_at": closes.isoformat(),
        "teachers": [
            {"name": "Mme Dubois", "room": "Local 12", "class_names": ["3A", "3B"]},
            {"name": "M. Janssens", "class_names": ["3A"]},
            {"name": "Mme Leroy", "class_names": ["5C"]},
        ],
    }


class EventTap:
    """A private queue bound to the suite's exchange for ``meetings.#``: what the relay published."""

    def __init__(self, suite) -> None:
        self.broker = suite.broker
        self.queue = self.broker.queue(f"tap.meetings.{uuid.uuid4().hex[:6]}")

        def declare(ch):
            ch.exchange_declare(exchange=self.broker.exchange, exchange_type="topic", durable=True)
            ch.queue_declare(queue=self.queue, durable=False, auto_delete=False)
            # the bookings only (meetings also publishes its audit entries)
            ch.queue_bind(queue=self.queue, exchange=self.broker.exchange, routing_key="meetings.booking.#")

        self.broker.channel_call(declare)
        self.seen: list[tuple[str, BookingEvent]] = []

    def drain(self) -> None:
        types = {
            "meetings.booking.confirmed.v1": events_pb2.BookingConfirmed,
            "meetings.booking.cancelled.v1": events_pb2.BookingCancelled,
            "meetings.booking.reminder_due.v1": events_pb2.BookingReminderDue,
        }

        def get_all(ch):
            while True:
                method, _props, body = ch.basic_get(self.queue, auto_ack=True)
                if method is None:
                    return
                env = envelope_pb2.Envelope.FromString(body)
                payload = types[env.event_name]()
                env.payload.Unpack(payload)
                self.seen.append((env.event_name, payload))

        self.broker.channel_call(get_all)

    def wait_for(self, name: str, count: int, school_evening: str, timeout: float = 60) -> list[BookingEvent]:
        """The ``name`` events of the evening seen so far, once there are at least ``count``."""

        def found() -> list[BookingEvent]:
            self.drain()
            return [p for n, p in self.seen if n == name and p.booking.evening_id == school_evening]

        wait_for(lambda: len(found()) >= count, timeout, interval=0.2, what=f"{count} × {name}")
        return found()


@pytest.fixture(scope="module")
def school(suite):
    staff = new_school(suite)
    emma = staff.create_student("Emma", "Peeters", "3A")
    mum = new_family(suite, staff, children=[emma], first_name="Sophie", last_name="Peeters")
    dad = new_family(suite, staff, children=[emma], first_name="Marc", last_name="Peeters")  # lives apart
    other = new_family(suite, staff, children=[{"first_name": "Noah", "class_name": "3B"}], first_name="Ana")
    return staff, mum, dad, other


def test_parents_book_cancel_and_staff_print_schedules_through_the_gateway(suite, school):
    staff, mum, dad, other = school
    tap = EventTap(suite)

    # Only staff open evenings; only parents book.
    assert (
        expect(mum.post("/admin/meetings", json=evening_body("Réunion")), 403).json()["error"]["code"]
        == "forbidden"
    )
    expect(staff.get("/meetings"), 403)
    bad = expect(
        staff.post("/admin/meetings", json={**evening_body("Réunion"), "end_time": "17:00"}), 400
    ).json()
    assert "end_time" in bad["error"]["fields"]
    made = expect(staff.post("/admin/meetings", json=evening_body("Réunion du 1er trimestre")), 201).json()
    assert made["slot_count"] == 18 and made["starts_at"].endswith(("+01:00", "+02:00"))
    evening_id = made["id"]

    # Emma's parents see the teachers of 3A, Noah's those of 3B.
    mine = expect(mum.get("/meetings"), 200).json()
    [ev] = [e for e in mine["items"] if e["id"] == evening_id]
    assert mine["next_cursor"] is None
    assert [t["name"] for t in ev["teachers"]] == ["M. Janssens", "Mme Dubois"]
    dubois = next(t for t in ev["teachers"] if t["name"] == "Mme Dubois")
    assert len(dubois["free_slots"]) == 6 and dubois["booking"] is None
    noah = expect(other.get("/meetings"), 200).json()["items"]
    assert [t["name"] for e in noah if e["id"] == evening_id for t in e["teachers"]] == ["Mme Dubois"]

    # Mum books with an Idempotency-Key: a retry answers the same booking.
    first = dubois["free_slots"][0]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    booked = expect(mum.post(f"/meetings/slots/{first['id']}/booking", headers=key), 201).json()
    again = expect(mum.post(f"/meetings/slots/{first['id']}/booking", headers=key), 201).json()
    assert booked["id"] == again["id"] and booked["teacher_name"] == "Mme Dubois"
    assert booked["starts_at"] == first["starts_at"] and booked["child_name"] == "Emma Peeters"

    # The slot is never given twice; mum books one slot per teacher; dad books on his own.
    taken = expect(other.post(f"/meetings/slots/{first['id']}/booking"), 409).json()
    assert taken["error"]["code"] == "slot_taken"
    twice = expect(mum.post(f"/meetings/slots/{dubois['free_slots'][1]['id']}/booking"), 409).json()
    assert twice["error"]["code"] == "already_booked"
    leroy_slot = expect(staff.get(f"/admin/meetings/{evening_id}/schedule"), 200).json()["teachers"][2][
        "slots"
    ][0]
    expect(mum.post(f"/meetings/slots/{leroy_slot['id']}/booking"), 404)  # not a teacher of Emma
    dads = expect(dad.post(f"/meetings/slots/{dubois['free_slots'][3]['id']}/booking"), 201).json()

    # Three families click the same free slot at once: one booking.
    race_slot = dubois["free_slots"][5]["id"]
    answers: list[int] = []
    lock = threading.Lock()

    def click(client):
        r = client.post(f"/meetings/slots/{race_slot}/booking")
        with lock:
            answers.append(r.status_code)

    fresh = [
        new_family(suite, staff, children=[{"first_name": f"K{i}", "class_name": "3A"}]) for i in range(3)
    ]
    threads = [threading.Thread(target=click, args=(c,)) for c in fresh]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 409, 409]

    # My bookings: each parent sees their own; another family cannot cancel them.
    assert [b["id"] for b in expect(mum.get("/meetings/bookings"), 200).json()["items"]] == [booked["id"]]
    assert [b["id"] for b in expect(dad.get("/meetings/bookings?limit=1"), 200).json()["items"]] == [
        dads["id"]
    ]
    assert (
        expect(other.delete(f"/meetings/bookings/{booked['id']}"), 404).json()["error"]["code"] == "not_found"
    )
    expect(dad.delete(f"/meetings/bookings/{booked['id']}"), 404)

    # Staff see the schedule with the child, class and parent, and a printable page.
    sched = expect(staff.get(f"/admin/meetings/{evening_id}/schedule"), 200).json()
    rows = {
        s["starts_at"]: s["booking"]
        for t in sched["teachers"]
        if t["name"] == "Mme Dubois"
        for s in t["slots"]
    }
    assert rows[first["starts_at"]]["child_name"] == "Emma Peeters"
    assert rows[first["starts_at"]]["class_name"] == "3A"
    assert rows[first["starts_at"]]["parent_name"].startswith("Sophie")
    assert sum(1 for b in rows.values() if b) == 3
    expect(mum.get(f"/admin/meetings/{evening_id}/schedule"), 403)
    listed = expect(staff.get("/admin/meetings"), 200).json()["items"]
    assert [(e["booked_count"], e["slot_count"]) for e in listed if e["id"] == evening_id] == [(3, 18)]
    page = expect(staff.page(f"/gestion/reunions/{evening_id}/horaire"), 200).text
    # the print button: wired by static/app.js (no inline script under the CSP)
    assert "Emma Peeters" in page and "meetings.css" in page and "data-print" in page and "app.js" in page

    # Mum cancels; the slot is free again.
    expect(mum.delete(f"/meetings/bookings/{booked['id']}"), 204)
    assert expect(mum.get("/meetings/bookings"), 200).json()["items"] == []
    expect(other.post(f"/meetings/slots/{first['id']}/booking"), 201)

    # The events went out through the outbox and the relay, with what a mail needs.
    confirmed = tap.wait_for("meetings.booking.confirmed.v1", 4, evening_id)
    assert len(confirmed) == 4
    mums = next(c.booking for c in confirmed if c.booking.booking_id == booked["id"])
    assert (mums.parent_account_id, mums.child_name, mums.teacher_name, mums.evening_title) == (
        mum.session["account"]["id"],
        "Emma Peeters",
        "Mme Dubois",
        "Réunion du 1er trimestre",
    )
    assert mums.starts_at == first["starts_at"]
    [cancelled] = tap.wait_for("meetings.booking.cancelled.v1", 1, evening_id)
    assert cancelled.booking.booking_id == booked["id"]

    # The day before at 09:00 the reminder command publishes one reminder per standing booking, once.
    day_before = datetime.fromisoformat(made["date"]) - timedelta(days=1)
    at = datetime.combine(day_before.date(), clock(9), BRUSSELS).isoformat()
    mark = suite.bus_mark()
    suite.run_command("meetings", "remind", "--once", "--now", at)
    suite.run_command("meetings", "remind", "--once", "--now", at)
    suite.wait_until_settled(mark)  # every reminder is published: a second one would be among them
    reminders = tap.wait_for("meetings.booking.reminder_due.v1", 3, evening_id)
    final = expect(staff.get(f"/admin/meetings/{evening_id}/schedule"), 200).json()
    standing = {s["booking"]["id"] for t in final["teachers"] for s in t["slots"] if s["booking"]}
    assert len(standing) == 3
    assert sorted(r.booking.booking_id for r in reminders) == sorted(standing)


def test_booking_outside_the_window_is_refused(suite, school):
    staff, mum, _dad, _other = school
    closed = expect(
        staff.post("/admin/meetings", json=evening_body("Réunion close", open_now=False)), 201
    ).json()
    assert closed["id"] not in [e["id"] for e in expect(mum.get("/meetings"), 200).json()["items"]]
    sched = expect(staff.get(f"/admin/meetings/{closed['id']}/schedule"), 200).json()
    slot = next(t for t in sched["teachers"] if t["name"] == "Mme Dubois")["slots"][0]
    resp = expect(mum.post(f"/meetings/slots/{slot['id']}/booking"), 409).json()
    assert resp["error"]["code"] == "booking_closed"


def test_meeting_endpoints_are_in_the_openapi_document(suite):
    import requests

    paths = requests.get(suite.base_url + "/api/v1/openapi.json", timeout=10).json()["paths"]
    for p in (
        "/api/v1/meetings",
        "/api/v1/meetings/slots/{id}/booking",
        "/api/v1/meetings/bookings/{id}",
        "/api/v1/meetings/bookings",
        "/api/v1/admin/meetings",
        "/api/v1/admin/meetings/{id}/schedule",
    ):
        assert p in paths


def test_staff_open_an_evening_with_the_web_form(suite, school):
    import re

    staff = school[0]
    form_page = expect(staff.page("/gestion/reunions"), 200).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form_page).group(1)
    day = (datetime.now(BRUSSELS) + timedelta(days=10)).date()
    fields = {
        "csrf_token": csrf,
        "title": "Réunion de mars",
        "date": day.isoformat(),
        "start_time": "16:30",
        "end_time": "18:30",
        "slot_minutes": "20",
        "opens_at": (datetime.now(BRUSSELS) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": f"{(day - timedelta(days=2)).isoformat()}T18:00",
        "teachers": "Mme Dubois ; 3A, 3B ; Local 12\nM. Janssens ; 3A\n",
    }
    bad = expect(
        staff.page("/gestion/reunions", "POST", data={**fields, "teachers": "Mme Dubois\n"}), 400
    ).text
    assert "Ligne 1" in bad
    made = staff.page("/gestion/reunions", "POST", data=fields, allow_redirects=False)
    assert made.status_code == 303 and "/horaire" in made.headers["Location"]
    evening_id = made.headers["Location"].split("/")[-2]
    sched = expect(staff.get(f"/admin/meetings/{evening_id}/schedule"), 200).json()
    assert sched["evening"]["starts_at"] == f"{day.isoformat()}T16:30:00{sched['evening']['starts_at'][19:]}"
    assert sched["evening"]["closes_at"].startswith(f"{(day - timedelta(days=2)).isoformat()}T18:00:00")
    assert [(t["name"], t["room"], t["class_names"], len(t["slots"])) for t in sched["teachers"]] == [
        ("M. Janssens", "", ["3A"], 6),
        ("Mme Dubois", "Local 12", ["3A", "3B"], 6),
    ]
