"""Periodic statements through the whole suite (FWB décomptes périodiques, issue #19): a school invoices
a class's pupils this month (mandatory and optional lines), one family pays its first invoice from its
wallet; the manager downloads Emma's statement as a PDF through the API (read back with pypdf: each fee
obligatoire or facultatif, paid and open per invoice, the totals, the FWB's mentions), a period over four
months is refused on its field; then sends the class its statements from /gestion/decomptes (CSRF, once
per form key): Emma's statement appears in her parent's documents (Dutch, the parent's language) and the
parent is mailed, each once, even when the same period is sent again with another key; Léo's too; Noah,
without an invoice, gets nothing; another school's manager does not find Emma."""

from __future__ import annotations

import calendar
import io
import re
import uuid
from datetime import datetime

from pypdf import PdfReader

from kit.dates import BRUSSELS
from kit.testing import wait_for
from tests.e2e.test_staff_refunds import page_form, said
from tests.factories import expect, mail_text, mails_to, new_family, new_school, unique

PAGE = "/gestion/decomptes"
SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def month() -> tuple[str, str]:
    today = datetime.now(BRUSSELS).date()
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return today.replace(day=1).isoformat(), last.isoformat()


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def invoice(staff, student: dict, title: str, lines: list[tuple[str, int, bool]]) -> dict:
    body = {
        "student_id": student["id"],
        "title": title,
        "lines": [{"label": lb, "quantity": 1, "unit_price_cents": c, "optional": o} for lb, c, o in lines],
    }
    return expect(staff.post("/admin/invoices", json=body, headers=key()), 201).json()


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def statement_docs(family) -> list[dict]:
    items = expect(family.get("/documents")).json()["items"]
    return [d for d in items if d["title"].startswith(("Periodieke afrekening", "Décompte périodique"))]


def test_a_class_gets_its_periodic_statements_once_in_documents_and_mail(suite):
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    klass = unique("D").upper()[:8]
    emma = staff.create_student("Emma", unique("Dec").capitalize(), klass)
    leo = staff.create_student("Léo", unique("Dec").capitalize(), klass)
    noah = staff.create_student("Noah", unique("Dec").capitalize(), klass)
    family = new_family(suite, staff, [emma], language="nl")
    leo_family = new_family(suite, staff, [leo])
    new_family(suite, staff, [noah])

    first, last = month()
    paid = invoice(staff, emma, "Piscine", [("Piscine", 3000, False), ("Excursion", 1500, True)])
    open_ = invoice(staff, emma, "Photos", [("Photo de classe", 800, True)])
    invoice(staff, leo, "Piscine", [("Piscine", 3000, False)])
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    top_up = {"amount_cents": 5000, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json=top_up, headers=key()), 201)
    body = {"method": "wallet", "wallet_id": wallet["id"]}
    expect(family.post(f"/invoices/{paid['id']}/payments", json=body, headers=key()), 200)

    # the statement through the API, in French when asked
    resp = expect(
        staff.get(f"/admin/students/{emma['id']}/statement", params={"from": first, "to": last, "lang": "fr"})
    )
    assert resp.headers["Content-Type"] == "application/pdf"
    text = pdf_text(resp.content)
    for expected in (
        "École Saint-Joseph",
        f"Élève : Emma {emma['last_name']}",
        f"Classe : {klass}",
        f"Facture n° {paid['number']}",
        f"Facture n° {open_['number']}",
        "Piscine obligatoire 30,00 €",
        "Excursion facultatif 15,00 €",
        "Photo de classe facultatif 8,00 €",
        "Frais obligatoires 30,00 €",
        "Frais facultatifs 23,00 €",
        "Total facturé 53,00 €",
        "Payé 45,00 €",
        "Reste à payer 8,00 €",
        "ne peut pas être réclamé",
        "aucune sanction pour l’élève",
    ):
        assert expected in text, expected
    # without lang: the parent's language (Dutch)
    dutch = pdf_text(
        expect(
            staff.get(f"/admin/students/{emma['id']}/statement", params={"from": first, "to": last})
        ).content
    )
    assert "Periodieke afrekening" in dutch and "Nog te betalen € 8,00" in dutch
    too_long = staff.get(
        f"/admin/students/{emma['id']}/statement", params={"from": "2026-01-01", "to": "2026-06-30"}
    )
    assert too_long.status_code == 400 and "to" in too_long.json()["error"]["fields"]
    other = new_school(suite)
    assert (
        other.get(f"/admin/students/{emma['id']}/statement", params={"from": first, "to": last}).status_code
        == 404
    )

    # sent to the class from the staff page, twice with the same form, then again with a new form
    choice = {"scope": klass, "preset": "this_month"}
    html = expect(staff.page(PAGE, params=choice)).text
    form = page_form(staff, PAGE, f"{PAGE}/envoyer", html)
    assert (form["from"], form["to"]) == (first, last)
    mark = suite.bus_mark()
    done = expect(staff.page(f"{PAGE}/envoyer", method="POST", data=form))
    assert "2 décompte(s) envoyé(s)" in said(done)
    expect(staff.page(f"{PAGE}/envoyer", method="POST", data=form))

    (doc,) = wait_for(lambda: statement_docs(family), 60, what="Emma's statement in her parent's documents")
    assert doc["title"].startswith("Periodieke afrekening van ") and doc["content_type"] == "application/pdf"
    filed = expect(family.get(f"/documents/{doc['id']}/file")).content
    assert "Nog te betalen € 8,00" in pdf_text(filed)

    def statement_mails(address: str) -> list:
        return [
            m
            for m in mails_to(suite, address)
            if " ".join(str(m["Subject"]).split()).startswith(
                ("Periodieke afrekening", "Décompte périodique")
            )
        ]

    (mail,) = wait_for(
        lambda: statement_mails(family.email),
        60,
        what="the statement mail to Emma's parent",
        describe=lambda: [str(m["Subject"]) for m in mails_to(suite, family.email)],
    )
    text = re.sub(r"[ \t\r\n]+", " ", mail_text(mail)).replace("\xa0", " ")
    assert "Nog te betalen: € 8,00" in text and "Totaal gefactureerd: € 53,00" in text
    wait_for(lambda: statement_mails(leo_family.email), 60, what="the statement mail to Léo's parent")

    again = page_form(staff, PAGE, f"{PAGE}/envoyer", expect(staff.page(PAGE, params=choice)).text)
    assert again["key"] != form["key"]
    expect(staff.page(f"{PAGE}/envoyer", method="POST", data=again))
    suite.wait_until_settled(mark)
    assert len(statement_docs(family)) == 1 and len(statement_mails(family.email)) == 1
    listed = said(expect(staff.page(PAGE)))
    assert listed.count("Periodieke afrekening van ") == 1 and f"Léo {leo['last_name']}" in listed
