"""The Flemish maximum bill through the whole suite (issue #19): a school sets its caps for this
school year, an invoice that would take a child past the strict cap is 409 max_bill_exceeded with
what is left, the manager overrides it knowingly (in the audit log), a credit note frees the room,
bulk invoices are checked the same way, kleuter has its own caps, secondary none."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from kit.testing import wait_for
from tests.e2e.test_finance_wallets_invoices import finance_school
from tests.factories import expect


def school_year() -> str:
    today = datetime.now(ZoneInfo("Europe/Brussels")).date()
    start = today.year if today.month >= 9 else today.year - 1
    return f"{start}-{start + 1}"


def invoice(staff, student_id: str, cents: int, cap: str = "strict", **extra):
    return staff.post(
        "/admin/invoices",
        json={
            "student_id": student_id,
            "title": "Uitstap",
            "lines": [
                {"label": "Bus", "unit_price_cents": cents, "max_bill": cap},
                {"label": "Drankjes", "unit_price_cents": 300},
            ],
            **extra,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def counters(staff, student_id: str) -> dict:
    body = expect(staff.get(f"/admin/students/{student_id}/max-bill")).json()
    return {c["cap"]: (c["cap_cents"], c["used_cents"], c["left_cents"]) for c in body["counters"]}


def test_the_maximum_bill_refuses_what_passes_a_cap_unless_overridden(suite):
    staff = finance_school(suite)
    year = school_year()
    for level, strict, less in (("lager", 10000, 50000), ("kleuter", 5000, 0)):
        got = expect(
            staff.put(
                "/admin/max-bill/caps",
                json={"school_year": year, "level": level, "strict_cents": strict, "less_strict_cents": less},
            )
        ).json()
        assert (got["school_year"], got["level"], got["strict_cents"]) == (year, level, strict)
    listed = expect(staff.get("/admin/max-bill/caps", params={"school_year": year})).json()["items"]
    assert sorted(c["level"] for c in listed) == ["kleuter", "lager"]

    emma = staff.create_student("Emma", "Peeters", "3A")
    lou = staff.create_student("Lou", "Claes", "K2", level="nursery")
    noor = staff.create_student("Noor", "Janssens", "1S", level="secondary")

    first = expect(invoice(staff, emma["id"], 6000), 201).json()
    assert first["lines"][0]["max_bill"] == "strict" and first["lines"][1]["max_bill"] == ""
    assert counters(staff, emma["id"])["strict"] == (10000, 6000, 4000)

    refused = invoice(staff, emma["id"], 5000)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "max_bill_exceeded"
    assert (error["details"]["cap"], error["details"]["cap_cents"], error["details"]["left_cents"]) == (
        "strict",
        10000,
        4000,
    )
    assert error["details"]["school_year"] == year
    assert counters(staff, emma["id"])["strict"] == (10000, 6000, 4000)  # nothing issued

    forced = expect(invoice(staff, emma["id"], 5000, override_max_bill=True), 201).json()
    assert counters(staff, emma["id"])["strict"] == (10000, 11000, 0)
    wait_for(
        lambda: any(
            e["action"] == "finance.max_bill.overridden" and e["object_id"] == forced["id"]
            for e in expect(staff.get("/admin/audit", params={"limit": 200})).json()["items"]
        ),
        what="the override in the audit log",
    )

    expect(
        staff.post(f"/admin/invoices/{forced['id']}/credit-note", json={"reason": "Uitstap afgelast"}), 201
    )
    assert counters(staff, emma["id"])["strict"] == (10000, 6000, 4000)

    # bulk: one child past the cap refuses the whole batch, naming the child
    bulk = staff.post(
        "/admin/invoices/bulk",
        json={
            "title": "Museum",
            "lines": [{"label": "Museum", "unit_price_cents": 4500, "max_bill": "strict"}],
            "student_ids": [emma["id"], lou["id"]],
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert bulk.status_code == 409 and bulk.json()["error"]["details"]["student_id"] == emma["id"]

    # kleuter has its own caps; secondary has none
    assert counters(staff, lou["id"]) == {"strict": (5000, 0, 5000), "less_strict": (0, 0, 0)}
    assert invoice(staff, lou["id"], 5001).status_code == 409
    expect(invoice(staff, noor["id"], 999_999), 201)
    secondary = expect(staff.get(f"/admin/students/{noor['id']}/max-bill")).json()
    assert (secondary["level"], secondary["capped"], secondary["counters"]) == (None, False, [])
