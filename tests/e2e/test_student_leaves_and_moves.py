"""Issue #16 across the services: a class change and a leaver, made in auth (its gRPC API, as the back
office's routes will call it), as the parent then sees them through the gateway.

- A class change: the parent's next request carries the new class (auth signs the identity token
  afresh for every request), so notifications shows the new class's events, orders its periods, and
  a deposit for the new class reaches the child; none of these services keeps a copy of the class.
- A leaver: the child stays in the parent's session, read-only (balances, invoices, documents; an open
  invoice is still paid); a top-up, its transfer details, an order and a booking answer 409
  ``student_left``, as do the staff's new invoice and sale once finance heard of it
  (auth.student.updated.v1); the pages say when the child left and offer no "Recharger".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import requests

from cartable.auth.v1 import auth_pb2, auth_pb2_grpc
from kit.identity import Identity
from kit.testing import wait_for
from tests.e2e.test_meetings import evening_body
from tests.factories import expect, new_family, new_school, unique

IBAN = "BE68 5390 0754 7034"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def auth(suite):
    """Auth's gRPC API on the suite, and a manager's identity token for it (signed with the suite's key,
    as auth signs them)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{suite.ports['auth']}")
    yield auth_pb2_grpc.AuthServiceStub(channel)
    channel.close()


def as_staff(suite, staff) -> list[tuple[str, str]]:
    who = Identity(account_id=staff.account_id, role="staff", school_id=staff.school_id)
    return [("authorization", f"Bearer {suite.keys.signer.sign(who)[0]}")]


def _event(staff, title: str, classes: list[str]) -> str:
    starts = datetime.now(UTC) + timedelta(days=10)
    body = {
        "title": title,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "description": "",
        "class_names": classes,
    }
    return expect(staff.post("/admin/events", json=body), 201).json()["id"]


def _period(staff, class_name: str, title: str) -> tuple[str, str]:
    now = datetime.now(UTC)
    body = {
        "title": title,
        "notes": "",
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
        "class_names": [class_name],
    }
    period = expect(staff.post("/admin/order-periods", json=body), 201).json()["id"]
    item = {
        "subject": "Français",
        "title": "Grammaire",
        "comment": "",
        "type": "purchase",
        "price_cents": 1500,
    }
    return period, expect(staff.post(f"/admin/order-periods/{period}/items", json=item), 201).json()["id"]


def _deposit(staff, title: str, **target: str) -> requests.Response:
    return staff.post(
        "/admin/documents",
        data={"title": title, **target},
        files={"file": ("note.pdf", PDF, "application/pdf")},
    )


def _titles(resp: requests.Response) -> list[str]:
    return sorted(i["title"] for i in expect(resp).json()["items"])


def test_a_class_change_reaches_the_parent_s_events_periods_and_class_deposits(suite, auth):
    staff = new_school(suite)
    klass, new_klass = f"3{unique().upper()[:3]}", f"4{unique().upper()[:3]}"
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": klass}])
    emma = parent.active_child_id
    _event(staff, "Classe verte", [klass])
    _event(staff, "Piscine", [new_klass])
    _event(staff, "Fancy-fair", [])
    new_period, _ = _period(staff, new_klass, "Manuels de 4e")
    assert _titles(parent.get("/events")) == ["Classe verte", "Fancy-fair"]
    assert _titles(parent.get("/order-periods")) == []

    auth.UpdateStudent(
        auth_pb2.UpdateStudentRequest(student_id=emma, class_name=new_klass), metadata=as_staff(suite, staff)
    )

    [child] = expect(parent.get("/children")).json()["items"]
    assert (child["class_name"], child["status"]) == (new_klass, "active")
    assert _titles(parent.get("/events")) == ["Fancy-fair", "Piscine"]
    assert [p["id"] for p in expect(parent.get("/order-periods")).json()["items"]] == [new_period]
    # a deposit for the new class reaches her (the gateway asks auth for the class's students now)
    expect(_deposit(staff, "Liste de 4e", class_name=new_klass), 201)
    assert _titles(parent.get("/documents")) == ["Liste de 4e"]
    assert expect(_deposit(staff, "Liste de 3e", class_name=klass), 400).json()["error"]["fields"]


def test_a_leaver_is_shown_read_only_and_nothing_new_is_started_for_them(suite, auth):
    staff = new_school(suite)
    expect(
        staff.put(
            "/admin/settings",
            json={
                "iban": IBAN,
                "bic": "BBRUBEBB",
                "beneficiary": "École Saint-Joseph",
                "top_up_methods": ["online", "transfer"],
                "internal_wallet_payments": True,
                "online_payment_for_orders": False,
                "current_password": staff.password,
            },
        ),
        200,
    )
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    emma = parent.active_child_id
    mark = suite.bus_mark()
    line = [{"label": "Excursion", "quantity": 1, "unit_price_cents": 1200}]
    invoice = expect(
        staff.post("/admin/invoices", json={"student_id": emma, "title": "Excursion", "lines": line}),
        201,
    ).json()
    expect(_deposit(staff, "Bulletin", student_ids=emma), 201)
    period, item = _period(staff, "3A", "Manuels")
    expect(staff.post("/admin/meetings", json=evening_body("Réunion")), 201)
    slot = expect(parent.get("/meetings")).json()["items"][0]["teachers"][0]["free_slots"][0]["id"]
    [wallet] = expect(parent.get("/wallets")).json()["items"]

    left = auth.LeaveStudent(
        auth_pb2.LeaveStudentRequest(student_id=emma), metadata=as_staff(suite, staff)
    ).student
    assert left.status == "left"
    suite.wait_until_settled(mark)  # finance has recorded the leaver, documents the invoice's PDF

    # still the parent's child, read-only
    [child] = expect(parent.get("/children")).json()["items"]
    assert (child["id"], child["status"], child["left_on"]) == (emma, "left", left.left_on)
    assert parent.select_child(emma)["active_child_id"] == emma  # a leaver may be chosen
    assert [w["id"] for w in expect(parent.get("/wallets")).json()["items"]] == [wallet["id"]]
    assert [i["id"] for i in expect(parent.get("/invoices")).json()["items"]] == [invoice["id"]]
    assert _titles(parent.get("/documents")) == ["Bulletin", "Facture – Excursion"]  # with the invoice's PDF
    dashboard = expect(parent.get("/dashboard")).json()
    assert dashboard["child"]["status"] == "left" and dashboard["order_periods"] == []

    # nothing new: a top-up, its transfer details, an order, a booking
    def refused(resp: requests.Response) -> None:
        assert expect(resp, 409).json()["error"]["code"] == "student_left"

    refused(parent.post(f"/wallets/{wallet['id']}/top-ups", json={"amount_cents": 1000, "method": "online"}))
    refused(parent.get(f"/wallets/{wallet['id']}/transfer"))
    refused(parent.post(f"/order-periods/{period}/orders", json={"item_ids": [item], "confirm": True}))
    refused(parent.post(f"/meetings/slots/{slot}/booking"))
    assert expect(parent.get("/order-periods")).json()["items"] == []
    assert expect(parent.get("/meetings")).json()["items"] == []
    # the staff's new invoice and sale neither (finance's own record: a staff token names no student)
    refused(staff.post("/admin/invoices", json={"student_id": emma, "title": "Piscine", "lines": line}))
    sale = {"student_id": emma, "wallet_id": wallet["id"], "lines": line}
    refused(staff.post("/admin/sales", json=sale))

    # the open invoice is still paid
    expect(parent.get(f"/invoices/{invoice['id']}/transfer"))
    started = expect(
        parent.post(f"/invoices/{invoice['id']}/payments", json={"method": "online"}), 201
    ).json()
    paid = requests.post(started["checkout_url"], data={"action": "paid"}, allow_redirects=False, timeout=30)
    assert paid.status_code in (302, 303), paid.text
    wait_for(
        lambda: expect(parent.get(f"/invoices/{invoice['id']}")).json()["status"] == "paid",
        30,
        what="the leaver's invoice to be paid",
    )

    # the pages say so, and offer no top-up
    page = expect(parent.page("/tableau-de-bord")).text
    day = f"{left.left_on[8:10]}/{left.left_on[5:7]}/{left.left_on[:4]}"
    assert f"A quitté l&#39;école le {day}." in page or f"A quitté l'école le {day}." in page
    balances = expect(parent.page("/soldes")).text
    assert "quitté l" in balances and not re.search(r">\s*Recharger\s*<", balances)
    for path, status in (
        (f"/soldes/portefeuilles/{wallet['id']}/recharger", 200),
        (f"/soldes/portefeuilles/{wallet['id']}/virement", 409),
        (f"/commandes/{period}", 409),
        ("/reunions", 200),
    ):
        shown = expect(parent.page(path), status).text
        assert "quitté l" in shown and 'name="amount"' not in shown and 'name="slot_id"' not in shown, path
