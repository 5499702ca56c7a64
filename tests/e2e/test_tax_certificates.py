"""Childcare tax certificates (281.86) through the whole suite (issue #19): an invoice with a childcare
line paid by the family from its wallet; the manager generates the year through the API (201
{count, total_cents}), the list names the certificate and its document; the certificate's PDF lands in
the parent's documents and, read back with pypdf, names the school's enterprise number, the payer and
the child with their national numbers, the days, the daily rate, the amount and the capped amount.
Generating again makes no second certificate or document; a school without an enterprise number gets
409 enterprise_number_missing.

The suite runs on the real clock (2026, a year whose legal maximum per day is not known yet), so the
payment and the invoice are moved back into 2024 in finance's database before generating: the only
step not taken through the API."""

from __future__ import annotations

import io
import uuid

from pypdf import PdfReader
from sqlalchemy import text

from kit.testing import wait_for
from tests.factories import expect, new_family, new_school, unique

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def national_number(birth: str, serial: str) -> str:
    """A valid Belgian national register number for a birth date (YYYY-MM-DD) and a 3-digit serial."""
    base = birth[2:4] + birth[5:7] + birth[8:10] + serial
    prefix = "2" if birth >= "2000" else ""
    return base + f"{97 - int(prefix + base) % 97:02d}"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def pdf_text(content: bytes) -> str:
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split())


def test_a_paid_childcare_invoice_becomes_a_certificate_in_the_parents_documents(suite):
    staff = new_school(suite)
    body = {**SETTINGS, "enterprise_number": "0203.201.340", "current_password": staff.password}
    expect(staff.put("/admin/settings", json=body), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    emma = staff.create_student("Emma", unique("Garde").capitalize(), unique("P"))
    child_nn = national_number("2016-04-02", "001")
    expect(
        staff.request(
            "PATCH",
            f"/admin/students/{emma['id']}",
            json={"birth_date": "2016-04-02", "national_number": child_nn},
        )
    )
    family = new_family(suite, staff, [emma], first_name="Marie")
    parent_nn = national_number("1985-01-01", "123")
    expect(staff.request("PATCH", f"/admin/parents/{family.parent_id}", json={"national_number": parent_nn}))

    lines = [
        {
            "label": "Garderie du soir",
            "quantity": 1,
            "unit_price_cents": 20000,
            "childcare": True,
            "days": 10,
        },
        {"label": "Journal de classe", "quantity": 1, "unit_price_cents": 500},
    ]
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={"student_id": emma["id"], "title": "Garderie", "due_on": "2027-01-15", "lines": lines},
        ),
        201,
    ).json()
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    expect(
        staff.post(
            f"/admin/wallets/{wallet['id']}/top-ups",
            json={"amount_cents": 20500, "method": "cash"},
            headers=key(),
        ),
        201,
    )
    pay = {"method": "wallet", "wallet_id": wallet["id"]}
    expect(family.post(f"/invoices/{inv['id']}/payments", json=pay, headers=key()), 200)
    with suite._db("finance").begin() as db:
        db.execute(text("UPDATE invoices SET issued_on = '2024-03-01' WHERE id = :id"), {"id": inv["id"]})
        db.execute(
            text("UPDATE payments SET paid_at = '2024-03-05 10:00:00+00:00' WHERE invoice_id = :id"),
            {"id": inv["id"]},
        )

    made = expect(staff.post("/admin/tax-certificates", json={"year": 2024}, headers=key()), 201).json()
    assert made == {"count": 1, "total_cents": 20000}
    (item,) = expect(staff.get("/admin/tax-certificates/2024")).json()["items"]
    assert item == {
        "student_id": emma["id"],
        "parent_id": family.parent_id,
        "days": 10,
        "amount_cents": 20000,
        "capped_amount_cents": 10 * 1640,
        "document_id": item["document_id"],
    }
    docs = wait_for(
        lambda: [d for d in family.get("/documents").json()["items"] if d["id"] == item["document_id"]],
        timeout=60,
        what="the certificate's PDF in the parent's documents",
    )
    assert docs[0]["title"].startswith("Attestation fiscale frais de garde 2024")
    content = expect(family.get(f"/documents/{item['document_id']}/file")).content
    got = pdf_text(content)
    for expected in (
        "281.86",
        "0203.201.340",
        "Marie",
        f"{parent_nn[:2]}.{parent_nn[2:4]}.{parent_nn[4:6]}-{parent_nn[6:9]}.{parent_nn[9:]}",
        f"{child_nn[:2]}.{child_nn[2:4]}.{child_nn[4:6]}-{child_nn[6:9]}.{child_nn[9:]}",
        "2 avril 2016",
        "20,00 €",
        "200,00 €",
        "164,00 €",
    ):
        assert expected in got, expected

    again = expect(staff.post("/admin/tax-certificates", json={"year": 2024}, headers=key()), 201).json()
    assert again == made
    assert [i["document_id"] for i in expect(staff.get("/admin/tax-certificates/2024")).json()["items"]] == [
        item["document_id"]
    ]
    csv_text = expect(staff.get("/admin/tax-certificates/2024/belcotax.csv")).content.decode("utf-8")
    assert parent_nn in csv_text and child_nn in csv_text and "0203201340" in csv_text

    bare = new_school(suite)
    refused = bare.post("/admin/tax-certificates", json={"year": 2024}, headers=key())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "enterprise_number_missing"
