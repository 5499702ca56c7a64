"""The dashboard through the gateway: every panel with every service up; with finance stopped the
other panels still arrive within the deadline and finance's are `unavailable`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from kit.testing import wait_for
from tests.factories import expect, new_family, new_school

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _family_with_content(suite):
    staff = new_school(suite)
    kid = staff.create_student("Emma", "Dupont", "1A")
    parent = new_family(suite, staff, [kid])
    now = datetime.now(UTC)
    expect(
        staff.post(
            "/admin/events",
            json={
                "title": "Fancy-fair",
                "starts_at": (now + timedelta(days=3)).isoformat(),
                "ends_at": (now + timedelta(days=3, hours=4)).isoformat(),
                "description": "Au préau",
                "class_names": [],
            },
        ),
        201,
    )
    expect(
        staff.post(
            "/admin/events",
            json={
                "title": "Excursion des 6e",
                "starts_at": (now + timedelta(days=5)).isoformat(),
                "ends_at": (now + timedelta(days=5, hours=8)).isoformat(),
                "description": "",
                "class_names": ["6A"],
            },
        ),
        201,
    )
    expect(
        staff.post(
            "/admin/documents",
            data={"title": "Circulaire", "student_ids": kid["id"]},
            files={"file": ("c.pdf", PDF, "application/pdf")},
        ),
        201,
    )
    expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": kid["id"],
                "title": "Piscine",
                "due_on": "2027-02-01",
                "lines": [{"label": "Entrées", "quantity": 4, "unit_price_cents": 250}],
            },
        ),
        201,
    )
    expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels",
                "notes": "",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=2)).isoformat(),
                "class_names": ["1A"],
            },
        ),
        201,
    )
    return staff, parent


def test_dashboard_assembles_every_panel(suite):
    _staff, parent = _family_with_content(suite)

    def with_the_invoice_pdf() -> dict | None:  # the invoice's PDF arrives through the broker
        d = expect(parent.get("/dashboard")).json()
        return d if d["documents"]["unread_count"] == 2 else None

    d = wait_for(with_the_invoice_pdf, timeout=60, interval=0.2, what="the invoice's PDF on the dashboard")
    assert d["unavailable"] == []
    assert d["child"]["first_name"] == "Emma" and d["child"]["class_name"] == "1A"
    assert [e["title"] for e in d["events"]] == ["Fancy-fair"]  # the 6A trip is not Emma's
    assert d["documents"]["unread_count"] == 2
    assert {doc["title"] for doc in d["documents"]["latest"]} == {"Circulaire", "Facture – Piscine"}
    assert {w["name"] for w in d["wallets"]} == {w["name"] for w in parent.get("/wallets").json()["items"]}
    assert d["invoices"] == {"unpaid_count": 1, "unpaid_total_cents": 1000}
    assert [p["title"] for p in d["order_periods"]] == ["Manuels"]
    events = expect(parent.get("/events")).json()["items"]
    assert [e["title"] for e in events] == ["Fancy-fair"]


def test_dashboard_with_finance_stopped_still_arrives_in_time(suite):
    _staff, parent = _family_with_content(suite)
    suite.stop_service("finance")
    try:
        started = time.monotonic()
        r = parent.get("/dashboard", timeout=10)
        elapsed = time.monotonic() - started
        assert r.status_code == 200
        d = r.json()
        assert set(d["unavailable"]) == {"wallets", "invoices"}
        assert d["wallets"] == [] and d["invoices"] == {"unpaid_count": 0, "unpaid_total_cents": 0}
        assert [e["title"] for e in d["events"]] == ["Fancy-fair"]
        assert [p["title"] for p in d["order_periods"]] == ["Manuels"]
        assert elapsed < 3.0, f"the dashboard took {elapsed:.2f}s"
        page = parent.page("/tableau-de-bord")
        assert page.status_code == 200 and "Momentanément indisponible" in page.text
    finally:
        suite.start_service("finance")
        suite.wait_ready()


def test_staff_publishing_an_event_is_checked(suite):
    staff = new_school(suite)
    r = staff.post("/admin/events", json={"title": "", "starts_at": "demain"})
    assert r.status_code == 400 and set(r.json()["error"]["fields"]) >= {"title", "starts_at"}
    parent = new_family(suite, staff, [{"first_name": "Tom"}])
    assert (
        parent.post(
            "/admin/events", json={"title": "x", "starts_at": "2027-01-01T10:00:00+01:00"}
        ).status_code
        == 403
    )
