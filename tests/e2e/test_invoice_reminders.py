"""A manager's "send a reminder now" (API.md, POST /api/v1/admin/invoices/{id}/reminders), through
the gateway, finance's events and the notifications service: the parent gets the reminder in the
catcher, and once the invoice is paid a reminder is refused with 409 already_paid."""

from __future__ import annotations

import uuid
from datetime import datetime

from kit.dates import BRUSSELS
from kit.testing import wait_for
from tests.e2e.test_finance_wallets_invoices import finance_school, top_up, wallets_by_name
from tests.factories import expect, mail_text, mails_to, new_family


def test_a_reminder_now_reaches_the_parent_and_a_paid_invoice_refuses_one(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Lucas", "class_name": "3B", "level": "secondary"}])
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": parent.active_child_id,
                "title": "Classes vertes",
                # finance refuses a past due date; a manual reminder needs no overdue invoice
                "due_on": datetime.now(BRUSSELS).date().isoformat(),
                "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 4550}],
            },
        ),
        201,
    ).json()
    # the invoice mail: notifications has the invoice in its book
    wait_for(lambda: [m for m in mails_to(suite, parent.email) if inv["number"] in m["Subject"]], 60)

    expect(staff.post(f"/admin/invoices/{inv['id']}/reminders"), 202)

    def reminder():
        return [m for m in mails_to(suite, parent.email) if m["Subject"].startswith("Rappel")]

    [mail] = wait_for(reminder, 60, what="the reminder mail")
    text = mail_text(mail)
    assert inv["number"] in mail["Subject"]
    assert inv["structured_communication"][-5:-3] in text.replace("/", "").replace("+", "")
    assert f"/soldes/factures/{inv['id']}/payer" in text
    assert "étaler le paiement" in text  # a secondary pupil: spreading the payment is possible

    meals = wallets_by_name(parent)["Repas"]
    top_up(staff, meals["id"], 5000)
    expect(
        parent.post(
            f"/invoices/{inv['id']}/payments",
            json={"method": "wallet", "wallet_id": meals["id"]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        200,
    )

    seen: list[str] = []

    def refused():  # once notifications consumed the payment
        r = staff.post(f"/admin/invoices/{inv['id']}/reminders")
        seen.append(f"{r.status_code} {r.text[:200]}")
        return r.json() if r.status_code == 409 else None  # (a 409 Response is falsy)

    body = wait_for(refused, 60, what="409 already_paid", describe=lambda: seen[-3:])
    assert body["error"]["code"] == "already_paid"
    assert len(reminder()) == 1  # the same-day retries sent nothing more
