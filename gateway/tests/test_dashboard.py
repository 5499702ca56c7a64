"""The parent dashboard: one parallel fan-out; a panel whose service fails or is late is listed in
``unavailable`` and the others are shown all the same."""

from __future__ import annotations

import threading

from cartable.documents.v1 import documents_pb2
from cartable.finance.v1 import finance_pb2
from cartable.meetings.v1 import meetings_pb2
from cartable.notifications.v1 import notifications_pb2
from cartable.orders.v1 import orders_pb2
from kit.errors import Unavailable


def _answer_every_panel(fakes):
    fakes.on(
        "notifications",
        "ListEvents",
        notifications_pb2.ListEventsResponse(
            events=[
                notifications_pb2.SchoolEvent(
                    id="ev-1",
                    title="Classe verte",
                    description="Trois jours",
                    starts_at="2026-05-04T08:00:00+02:00",
                    ends_at="2026-05-06T16:00:00+02:00",
                    class_names=["3A"],
                )
            ]
        ),
    )
    fakes.on(
        "documents",
        "ListDocuments",
        documents_pb2.ListDocumentsResponse(
            documents=[documents_pb2.Document(id="doc-1", title="Menu", deposited_at="2026-04-01T10:00:00Z")],
            unread_count=3,
        ),
    )
    fakes.on(
        "finance",
        "ListWallets",
        finance_pb2.ListWalletsResponse(
            wallets=[
                finance_pb2.Wallet(
                    id="w-1", name="Repas", balance_cents=1250, structured_communication="+++1/2/3+++"
                )
            ]
        ),
    )
    fakes.on(
        "finance",
        "ListInvoices",
        finance_pb2.ListInvoicesResponse(
            invoices=[
                finance_pb2.Invoice(id="i-1", total_cents=2000, paid_cents=500, status="partially_paid"),
                finance_pb2.Invoice(id="i-2", total_cents=900, paid_cents=0, status="unpaid"),
                finance_pb2.Invoice(id="i-3", total_cents=700, paid_cents=700, status="paid"),
            ]
        ),
    )
    fakes.on(
        "orders",
        "ListOpenPeriods",
        orders_pb2.ListOpenPeriodsResponse(
            periods=[
                orders_pb2.OrderPeriod(
                    id="p-1",
                    title="Manuels",
                    opens_at="2026-06-01T00:00:00+02:00",
                    closes_at="2026-06-30T00:00:00+02:00",
                )
            ]
        ),
    )


def test_the_dashboard_shows_every_panel_and_marks_the_one_whose_service_failed(client, fakes):
    _answer_every_panel(fakes)

    def meetings_down(_req):
        raise Unavailable("meetings is down")

    fakes.on("meetings", "ListMyBookings", meetings_down)
    parent = fakes.parent("Emma")

    body = client.get("/api/v1/dashboard", headers=parent.bearer).get_json()

    assert body["unavailable"] == ["meetings"]
    assert body["meetings"] == []
    assert body["child"] == {
        "id": "child-1",
        "first_name": "Emma",
        "last_name": "Peeters",
        "class_name": "3A",
        "school_name": "École du Parc",
        "status": "active",
        "left_on": None,
    }
    assert body["wallets"] == [
        {
            "id": "w-1",
            "name": "Repas",
            "balance_cents": 1250,
            "structured_communication": "+++1/2/3+++",
            "auto_top_up": {"enabled": False, "threshold_cents": 0, "amount_cents": 0, "pending_cents": 0},
            "collection_pending_cents": 0,
        }
    ]
    assert body["invoices"] == {"unpaid_count": 2, "unpaid_total_cents": 1500 + 900}
    assert body["documents"]["unread_count"] == 3
    assert [e["title"] for e in body["events"]] == ["Classe verte"]
    assert [p["id"] for p in body["order_periods"]] == ["p-1"]
    # every panel asked for the active child
    assert fakes.requests("finance", "ListWallets")[0].student_id == "child-1"
    assert fakes.requests("meetings", "ListMyBookings")[0].student_id == "child-1"


def test_a_panel_later_than_the_deadline_is_unavailable_and_does_not_hold_the_page(client, fakes):
    _answer_every_panel(fakes)
    client.application.config["DASHBOARD_DEADLINE"] = 2.0  # the others answer well within it
    released = threading.Event()

    def late(_req):  # answers only once the test has the page: later than any deadline
        released.wait(30)
        return meetings_pb2.ListMyBookingsResponse()

    fakes.on("meetings", "ListMyBookings", late)
    parent = fakes.parent()
    try:
        body = client.get("/api/v1/dashboard", headers=parent.bearer).get_json()
        # the page came while the meetings call was still waiting: it did not hold the page
        assert not released.is_set()
    finally:
        released.set()
    assert body["unavailable"] == ["meetings"]
    assert body["wallets"][0]["id"] == "w-1"


def test_the_dashboard_page_renders_the_panels_with_the_unavailable_one_said(client, fakes):
    _answer_every_panel(fakes)

    def meetings_down(_req):
        raise Unavailable("meetings is down")

    fakes.on("meetings", "ListMyBookings", meetings_down)
    parent = fakes.parent()
    client.set_cookie("cartable_session", parent.token)

    resp = client.get("/tableau-de-bord")

    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Repas" in html and "Classe verte" in html
    assert "12,50\u00a0€" in html and "24,00\u00a0€" in html  # the balance and what is left to pay
