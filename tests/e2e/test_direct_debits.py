"""Direct-debit collections through the whole suite (issue #18): a parent signs an e-mandate through the
API and turns on an automatic top-up, an invoice is issued and a canteen sale takes the wallet under
its threshold; the manager creates a batch through the API (once per Idempotency-Key), the parent is
mailed its pre-notification (the amount, the date, the mandate, each collection) once, the manager
downloads its pain.008 file, which validates against sepaxml's pain.008.001.02.xsd and names the
mandate (FRST); the parent sees the invoice and the top-up pending collection; a CODA statement
crediting the batch pays the invoice and credits the wallet; then a camt.053 statement returning the
invoice's debit (AM04) reopens the invoice, and the batch's page says why in words. Refusals: bad dates
on their fields, a date not after today, nothing left to collect (409 batch_empty), a school without a
creditor id (409 method_disabled), another school's batch (404), parents (403)."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sepaxml  # type: ignore[import-untyped]
import xmlschema

from kit.dates import BRUSSELS, format_date
from kit.money import format_eur
from kit.testing import wait_for
from services.finance.tests.statement_builders import SCHOOL_IBAN, Mv, build_camt053, build_coda
from tests.factories import (
    ParentClient,
    StaffClient,
    expect,
    mail_text,
    mails_to,
    new_family,
    new_school,
    unique,
)

CREDITOR_ID = "BE69ZZZ050D000000008"
PARENT_IBAN = "BE71 0961 2345 6769"
SETTINGS = {
    "iban": SCHOOL_IBAN,
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def day(offset: int) -> str:
    return (datetime.now(BRUSSELS).date() + timedelta(days=offset)).isoformat()


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@dataclass
class School:
    """A school that collects by direct debit: its manager, Emma and her parent."""

    staff: StaffClient
    emma: dict
    family: ParentClient


def collecting_school(suite, creditor_id: str = CREDITOR_ID) -> School:
    """A school with its IBAN and creditor id, a Repas wallet type and one family (Emma)."""
    staff = new_school(suite)
    body = {**SETTINGS, "creditor_id": creditor_id, "current_password": staff.password}
    expect(staff.put("/admin/settings", json=body), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    emma = staff.create_student("Emma", unique("Domi").capitalize(), unique("K"))
    return School(staff, emma, new_family(suite, staff, [emma]))


def invoice_of(family, invoice_id: str) -> dict:
    return next(i for i in expect(family.get("/invoices")).json()["items"] if i["id"] == invoice_id)


def wallet_of(family) -> dict:
    (wallet,) = expect(family.get("/wallets")).json()["items"]
    return wallet


def upload(staff, content: bytes, name: str) -> dict:
    files = {"file": (name, content, "application/octet-stream")}
    return expect(staff.post("/admin/bank-statements", files=files), 201).json()


def transactions(xml: bytes) -> list[dict]:
    root = ET.fromstring(xml)  # noqa: S314 - the gateway's own answer, validated against the XSD first
    out = []
    for info in root.iterfind(".//p:PmtInf", NS):
        for tx in info.iterfind("p:DrctDbtTxInf", NS):
            out.append(
                {
                    "seq": info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
                    "creditor": info.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS),
                    "amount": tx.findtext("p:InstdAmt", namespaces=NS),
                    "mandate": tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS),
                    "e2e": tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
                    "iban": tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS),
                }
            )
    return out


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(XSD))


def test_a_batch_is_collected_by_the_bank_then_a_debit_returned(suite, schema):
    school = collecting_school(suite)
    staff, family, emma = school.staff, school.family, school.emma
    mandate = expect(
        family.post(
            "/mandates",
            json={"iban": PARENT_IBAN, "holder_name": "Sophie Peeters", "accept": True},
            headers=key(),
        ),
        201,
    ).json()
    assert mandate["status"] == "active" and mandate["iban_last4"] == "6769"

    # an automatic top-up of 25 € under 10 €, then a sale taking 15 € to 9 €
    wallet = wallet_of(family)
    body = {"enabled": True, "threshold_cents": 1000, "amount_cents": 2500}
    expect(family.put(f"/wallets/{wallet['id']}/auto-top-up", json=body), 200)
    top_up = {"amount_cents": 1500, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet['id']}/top-ups", json=top_up, headers=key()), 201)
    sale = {
        "student_id": emma["id"],
        "wallet_id": wallet["id"],
        "lines": [{"label": "Repas chaud", "quantity": 1, "unit_price_cents": 600}],
    }
    expect(staff.post("/admin/sales", json=sale, headers=key()), 201)
    invoice = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": emma["id"],
                "title": "Classe de neige",
                "due_on": day(2),
                "lines": [{"label": "Séjour", "quantity": 1, "unit_price_cents": 4200}],
            },
        ),
        201,
    ).json()
    assert invoice_of(family, invoice["id"])["collection_pending"] is False

    # the batch, once per key
    batch_body = {"collection_date": day(3), "invoices_due_by": day(3)}
    batch_key = {"Idempotency-Key": unique("dd-")}
    mark = suite.bus_mark()
    made = expect(staff.post("/admin/direct-debits", json=batch_body, headers=batch_key), 201).json()
    assert (made["count"], made["total_cents"], made["status"]) == (2, 4200 + 2500, "created")
    assert made["collection_date"] == day(3)
    again = expect(staff.post("/admin/direct-debits", json=batch_body, headers=batch_key), 201).json()
    assert again["id"] == made["id"]

    # SEPA's pre-notification: the parent is told the amount and the date before the collection, once
    amount, when = format_eur(6700, "fr"), format_date(date.fromisoformat(day(3)), "fr")
    subject = f"Prochain prélèvement : {amount} le {when}"

    def notices() -> list:
        return [m for m in mails_to(suite, family.email) if m["Subject"] == subject]

    (notice,) = wait_for(
        notices,
        60,
        what=f"the pre-notification mail {subject!r}",
        describe=lambda: [str(m["Subject"]) for m in mails_to(suite, family.email)],
    )
    text = re.sub(r"[ \t\r\n]+", " ", mail_text(notice))  # one line; no-break spaces (before €) stay
    for expected in (
        f"Montant prélevé : {amount}",
        f"Date du prélèvement : {when}",
        f"Référence du mandat : {mandate['reference']}",
        f"identifiant {CREDITOR_ID}",
        "Compte débité : BE71 **** **** 6769 (Sophie Peeters)",
        f"Classe de neige (Emma) : {format_eur(4200, 'fr')}",
        f"« Repas » (Emma) : {format_eur(2500, 'fr')}",
    ):
        assert expected in text, expected
    suite.wait_until_settled(mark)
    assert len(notices()) == 1  # the replayed key told nothing again
    listed = expect(staff.get("/admin/direct-debits")).json()
    assert [b["id"] for b in listed["items"]] == [made["id"]] and listed["next_cursor"] is None

    # the file for the bank
    resp = expect(staff.get(f"/admin/direct-debits/{made['id']}/pain.008.xml"), 200)
    assert resp.headers["Content-Type"].startswith("application/xml")
    assert resp.headers["Content-Disposition"] == f'attachment; filename="prelevements-{day(3)}.xml"'
    schema.validate(resp.content)
    txs = transactions(resp.content)
    assert sorted(t["amount"] for t in txs) == ["25.00", "42.00"]
    assert {(t["seq"], t["mandate"], t["creditor"], t["iban"]) for t in txs} == {
        ("FRST", mandate["reference"], CREDITOR_ID, "BE71096123456769")
    }

    # what the parent sees meanwhile
    assert invoice_of(family, invoice["id"])["collection_pending"] is True
    assert wallet_of(family)["collection_pending_cents"] == 2500

    detail = expect(staff.get(f"/admin/direct-debits/{made['id']}")).json()
    items = {i["kind"]: i for i in detail["items"]}
    assert items["invoice"]["invoice_id"] == invoice["id"] and items["invoice"]["sequence_type"] == "FRST"
    assert items["top_up"]["wallet_id"] == wallet["id"] and items["top_up"]["amount_cents"] == 2500
    assert {e2e for e2e in (i["end_to_end_id"] for i in detail["items"])} == {t["e2e"] for t in txs}

    # nothing more to collect: every item is in a batch already
    empty = staff.post("/admin/direct-debits", json=batch_body, headers=key())
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "batch_empty"

    # the bank credits the batch (CODA): the invoice is paid, the wallet topped up
    credit = Mv(
        made["total_cents"],
        free_text=f"SEPA DD {detail['message_id']}",
        counterparty_name="BANK",
        bank_reference=unique("CRED"),
    )
    booked = upload(staff, build_coda([credit], statement_number=7), "credit.cod")
    assert (booked["credited"], booked["unmatched"]) == (1, 0)
    paid = invoice_of(family, invoice["id"])
    assert (paid["status"], paid["paid_cents"], paid["collection_pending"]) == ("paid", 4200, False)
    assert wallet_of(family)["balance_cents"] == 900 + 2500
    collected = expect(staff.get(f"/admin/direct-debits/{made['id']}")).json()
    assert (collected["status"], collected["collected_cents"], collected["returned_cents"]) == (
        "collected",
        6700,
        0,
    )

    # the parent's bank returns the invoice's debit (camt.053, AM04): the invoice is owed again
    returned = Mv(
        4200,
        direction="debit",
        free_text="RETOUR DOMICILIATION",
        end_to_end_id=items["invoice"]["end_to_end_id"],
        r_transaction="2",
        return_reason="AM04",
        bank_reference=unique("RET"),
    )
    upload(staff, build_camt053([returned], statement_id=unique("STMT-")), "retour.xml")
    reopened = invoice_of(family, invoice["id"])
    assert (reopened["status"], reopened["paid_cents"]) == ("unpaid", 0)
    after = expect(staff.get(f"/admin/direct-debits/{made['id']}")).json()
    assert (after["status"], after["collected_cents"], after["returned_cents"]) == (
        "partially_returned",
        6700,
        4200,
    )
    by_kind = {i["kind"]: i for i in after["items"]}
    assert (by_kind["invoice"]["status"], by_kind["invoice"]["return_reason"]) == ("returned", "AM04")
    assert by_kind["top_up"]["status"] == "collected"
    assert wallet_of(family)["balance_cents"] == 3400  # the top-up stays
    assert expect(staff.get("/admin/mandates")).json()["items"][0]["status"] == "active"  # AM04 keeps it

    # the staff page says it in words
    page = expect(staff.page(f"/gestion/domiciliations/{made['id']}")).text
    assert "Provision insuffisante (AM04)" in page and "Encaissé, avec des rejets" in page


def test_refusals_as_api_md_says_them(suite):
    school = collecting_school(suite)
    staff, family = school.staff, school.family
    for body, field in (
        ({"collection_date": "15/12/2030"}, "collection_date"),
        ({"collection_date": day(3), "invoices_due_by": "2030-02-30"}, "invoices_due_by"),
        ({"collection_date": day(0)}, "collection_date"),  # finance: at least tomorrow
    ):
        resp = staff.post("/admin/direct-debits", json=body, headers=key())
        assert resp.status_code == 400, body
        assert field in resp.json()["error"]["fields"]
    nothing = staff.post("/admin/direct-debits", json={"collection_date": day(3)}, headers=key())
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "batch_empty"

    assert family.post("/admin/direct-debits", json={"collection_date": day(3)}).status_code == 403
    assert family.get("/admin/mandates").status_code == 403

    other = new_school(suite)
    assert other.get("/admin/direct-debits/00000000-0000-0000-0000-000000000000").status_code == 404
    disabled = other.post("/admin/direct-debits", json={"collection_date": day(3)}, headers=key())
    assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "method_disabled"


def test_another_schools_batch_and_mandates_stay_theirs(suite):
    school = collecting_school(suite)
    staff, family, emma = school.staff, school.family, school.emma
    mandate = expect(
        family.post("/mandates", json={"iban": PARENT_IBAN, "holder_name": "Sophie Peeters", "accept": True}),
        201,
    ).json()
    expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": emma["id"],
                "title": "Piscine",
                "due_on": day(1),
                "lines": [{"label": "Entrées", "quantity": 1, "unit_price_cents": 900}],
            },
        ),
        201,
    )
    made = expect(
        staff.post("/admin/direct-debits", json={"collection_date": day(2)}, headers=key()), 201
    ).json()
    other = new_school(suite)
    assert other.get(f"/admin/direct-debits/{made['id']}").status_code == 404
    assert other.get(f"/admin/direct-debits/{made['id']}/pain.008.xml").status_code == 404
    assert other.delete(f"/admin/mandates/{mandate['id']}").status_code == 404
    assert expect(other.get("/admin/mandates")).json()["items"] == []
    mine = expect(staff.get("/admin/mandates", params={"student_id": emma["id"]})).json()["items"]
    assert [m["id"] for m in mine] == [mandate["id"]] and mine[0]["student_ids"] == [emma["id"]]

    # the school revokes it: the batch not yet credited loses its item, nothing more is collected
    assert staff.delete(f"/admin/mandates/{mandate['id']}").status_code == 204
    assert expect(staff.get("/admin/mandates")).json()["items"][0]["status"] == "revoked"
    items = expect(staff.get(f"/admin/direct-debits/{made['id']}")).json()["items"]
    assert [i["status"] for i in items] == ["withdrawn"]
    gone = staff.get(f"/admin/direct-debits/{made['id']}/pain.008.xml")
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "batch_empty"
