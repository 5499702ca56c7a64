"""The tax certificates' gaps closed, through the whole suite (issue #19): the school's postal address
given in its settings is printed on the certificate's PDF; a year Cartable's table does not know (2025)
is refused until the manager enters its legal maximum per day, which the certificates then use (a
known year's figure cannot be replaced: 409 daily_cap_known); a 15-year-old with the severe
disability flag gets a certificate, one without it none.

As in test_tax_certificates.py, the invoices and payments are moved back into 2025 in finance's
database before generating: the only step not taken through the API."""

from __future__ import annotations

from sqlalchemy import text

from kit.testing import wait_for
from tests.e2e.test_tax_certificates import SETTINGS, key, national_number, pdf_text
from tests.factories import expect, new_family, new_school, unique


def paid_childcare(suite, staff, student, first_name: str):
    """A family for ``student`` and a childcare invoice (10 days, 200.00) they paid, moved into 2025."""
    family = new_family(suite, staff, [student], first_name=first_name)
    line = {"label": "Garderie", "quantity": 1, "unit_price_cents": 20000, "childcare": True, "days": 10}
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={"student_id": student["id"], "title": "Garderie", "due_on": "2027-01-15", "lines": [line]},
        ),
        201,
    ).json()
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    top_up = {"amount_cents": 20000, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json=top_up, headers=key()), 201)
    pay = {"method": "wallet", "wallet_id": wallet["id"]}
    expect(family.post(f"/invoices/{inv['id']}/payments", json=pay, headers=key()), 200)
    with suite._db("finance").begin() as db:
        db.execute(text("UPDATE invoices SET issued_on = '2025-03-03' WHERE id = :id"), {"id": inv["id"]})
        db.execute(
            text("UPDATE payments SET paid_at = '2025-03-05 10:00:00+00:00' WHERE invoice_id = :id"),
            {"id": inv["id"]},
        )
    return family


def test_address_entered_daily_maximum_and_disability(suite):
    staff = new_school(suite)
    address = {"street": "Rue de l'Ecole 1", "postal_code": "1000", "city": "Bruxelles"}
    body = {**SETTINGS, "enterprise_number": "0203.201.340", "current_password": staff.password}
    bad = staff.put("/admin/settings", json={**body, "address": {**address, "postal_code": "75001"}})
    assert bad.status_code == 400 and "address.postal_code" in bad.json()["error"]["fields"]
    saved = expect(staff.put("/admin/settings", json={**body, "address": address}), 200).json()
    assert saved["address"] == address
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)

    noah = staff.create_student("Noah", unique("Garde").capitalize(), unique("P"))
    lina = staff.create_student("Lina", unique("Garde").capitalize(), unique("P"))
    for child, serial in ((noah, "001"), (lina, "002")):
        change = {"birth_date": "2010-01-10", "national_number": national_number("2010-01-10", serial)}
        expect(staff.request("PATCH", f"/admin/students/{child['id']}", json=change))
    expect(staff.request("PATCH", f"/admin/students/{noah['id']}", json={"severe_disability": True}))
    family = paid_childcare(suite, staff, noah, "Marie")
    paid_childcare(suite, staff, lina, "Sophie")

    unknown = staff.post("/admin/tax-certificates", json={"year": 2025}, headers=key())
    assert unknown.status_code == 400 and "year" in unknown.json()["error"]["fields"]
    known = staff.put("/admin/tax-certificates/2024/daily-cap", json={"daily_cap_cents": 1700})
    assert known.status_code == 409 and known.json()["error"]["code"] == "daily_cap_known"
    got = expect(staff.put("/admin/tax-certificates/2025/daily-cap", json={"daily_cap_cents": 1690})).json()
    assert got == {"daily_cap_cents": 1690, "source": "school"}

    made = expect(staff.post("/admin/tax-certificates", json={"year": 2025}, headers=key()), 201).json()
    assert made == {"count": 1, "total_cents": 20000}  # Noah (15, severe disability); not Lina (15)
    (item,) = expect(staff.get("/admin/tax-certificates/2025")).json()["items"]
    assert (item["student_id"], item["days"], item["capped_amount_cents"]) == (noah["id"], 10, 16900)
    wait_for(
        lambda: [d for d in family.get("/documents").json()["items"] if d["id"] == item["document_id"]],
        timeout=60,
        what="the certificate's PDF in the parent's documents",
    )
    got_text = pdf_text(expect(family.get(f"/documents/{item['document_id']}/file")).content)
    for expected in ("Rue de l'Ecole 1, 1000 Bruxelles", "16,90 €", "169,00 €", "200,00 €"):
        assert expected in got_text, expected
    assert "Adresse non communiqué" not in got_text
