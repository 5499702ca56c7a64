"""Refunds through the staff pages and the whole suite (issue #18): a leaver's wallet holding money is
found from /gestion/remboursements/nouveau, its form filled with the family's mandate, checked,
confirmed, and refunded once even when the same form is posted twice at once (the balance drops
once, the parent sees one refund operation); a bad IBAN or an amount over the balance writes nothing;
the batch of waiting refunds is created once per form key, its pain.001 file downloaded from the page
is pain.001.001.03, valid against sepaxml's XSD, and names the IBAN and the amount; nothing more to
batch said in words; a school without an IBAN is sent to its settings; another school's wallet and
batch are not found, and parents are refused."""

from __future__ import annotations

import html as htmllib
import re
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sepaxml  # type: ignore[import-untyped]
import xmlschema

from tests.e2e.test_direct_debits import PARENT_IBAN, School, collecting_school, key
from tests.factories import StaffClient, expect, new_family, new_school, unique

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
PAGE = "/gestion/remboursements"


def page_form(staff, path: str, action: str, html: str | None = None) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` on the page at ``path`` (or in ``html``)."""
    html = html if html is not None else expect(staff.page(path)).text
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, html[:2000]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))


def said(resp) -> str:
    """The page as read: entities decoded (Jinja escapes what Python wrote, not its own strings)."""
    return htmllib.unescape(resp.text)


def input_value(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}" type="text" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def balance(staff, student: dict) -> int:
    wallets = expect(staff.get(f"/admin/students/{student['id']}/wallets")).json()["items"]
    return wallets[0]["balance_cents"]


def refunds_of(staff, student: dict) -> list[dict]:
    return expect(staff.get("/admin/refunds", params={"student_id": student["id"]})).json()["items"]


def twice_at_once(staff, path: str, data: dict) -> list:
    """``data`` posted to ``path`` twice at the same moment (a double click), without redirects."""
    answers: list = [None, None]
    start = threading.Barrier(2)

    def submit(i: int) -> None:
        start.wait()
        answers[i] = staff.page(path, method="POST", data=data, allow_redirects=False)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def funded(staff: StaffClient, student: dict, cents: int) -> str:
    wallet = student["wallets"][0]["id"]
    body = {"amount_cents": cents, "method": "cash"}
    expect(staff.post(f"/admin/wallets/{wallet}/top-ups", json=body, headers=key()), 201)
    return wallet


def refundable_school(suite) -> School:
    """A school with its IBAN; Emma's family signed a mandate; Emma has 30,00 € and left the school."""
    school = collecting_school(suite)
    mandate = {"iban": PARENT_IBAN, "holder_name": "Sophie Peeters", "accept": True}
    expect(school.family.post("/mandates", json=mandate, headers=key()), 201)
    school.emma["wallet_id"] = funded(school.staff, school.emma, 3000)
    expect(school.staff.post(f"/admin/students/{school.emma['id']}/leave"), 200)
    return school


@pytest.fixture
def school(suite) -> School:
    return refundable_school(suite)


def form_path(student: dict) -> str:
    return f"{PAGE}/eleves/{student['id']}/portefeuilles/{student['wallet_id']}"


def test_a_leaver_is_refunded_once_then_batched_in_a_pain001_file(suite, school):
    staff, emma, family = school.staff, school.emma, school.family
    found = said(expect(staff.page(f"{PAGE}/nouveau", params={"q": emma["last_name"]})))
    assert f'href="{PAGE}/eleves/{emma["id"]}"' in found and "a quitté l'école" in found
    wallets = expect(staff.page(f"{PAGE}/eleves/{emma['id']}")).text
    assert f'href="{form_path(emma)}"' in wallets and "30,00" in wallets

    html = expect(staff.page(form_path(emma))).text
    assert input_value(html, "iban") == "BE71 0961 2345 6769"  # the mandate's account
    assert input_value(html, "holder_name") == "Sophie Peeters"
    assert input_value(html, "amount") == "30,00"  # the whole balance
    form = page_form(staff, "", form_path(emma), html)
    form.update(iban=PARENT_IBAN, holder_name="Sophie Peeters", amount="20,00", reason="Solde repas")

    confirm = expect(staff.page(form_path(emma), method="POST", data=form))
    assert "Le portefeuille est débité tout de suite de 20,00" in confirm.text
    assert refunds_of(staff, emma) == [] and balance(staff, emma) == 3000
    fields = {**page_form(staff, "", form_path(emma), confirm.text), "step": "create"}
    answers = twice_at_once(staff, form_path(emma), fields)
    assert [r.status_code for r in answers] == [303, 303], [r.text[:500] for r in answers]
    again = staff.page(form_path(emma), method="POST", data=fields, allow_redirects=False)
    assert again.status_code == 303  # posted once more later: the first refund, answered again
    assert balance(staff, emma) == 1000  # debited once
    (refund,) = refunds_of(staff, emma)
    assert (refund["amount_cents"], refund["status"], refund["reason"]) == (2000, "pending", "Solde repas")
    ops = expect(family.get("/operations", params={"period": "today", "type": "refund"})).json()["items"]
    assert [o["amount_cents"] for o in ops if o["type"] == "refund"] == [-2000]

    listed = said(expect(staff.page(PAGE)))
    row = re.search(rf'<tr data-refund-id="{refund["id"]}".*?</tr>', listed, re.S)
    assert row and "20,00" in row.group(0) and "BE** **** **** 6769" in row.group(0)
    assert "En attente d'un lot" in row.group(0) and emma["last_name"] in row.group(0)

    # the batch, once per form key
    batch_form = page_form(staff, PAGE, f"{PAGE}/lots")
    answers = twice_at_once(staff, f"{PAGE}/lots", batch_form)
    assert [r.status_code for r in answers] == [303, 303], [r.text[:500] for r in answers]
    (batch,) = expect(staff.get("/admin/refund-batches")).json()["items"]
    assert (batch["count"], batch["total_cents"]) == (1, 2000)
    listed = expect(staff.page(PAGE)).text
    assert f'href="{PAGE}/lots/{batch["id"]}/pain.001.xml" download' in listed
    assert "Dans un lot" in listed and "Lot de virements créé : 1 remboursement(s), 20,00" in listed

    resp = expect(staff.page(f"{PAGE}/lots/{batch['id']}/pain.001.xml"))
    assert resp.headers["Content-Type"].startswith("application/xml")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="')
    xmlschema.XMLSchema(str(XSD)).validate(resp.content)
    root = ET.fromstring(resp.content)  # noqa: S314 - the gateway's own answer, validated first
    (tx,) = root.iterfind(".//p:CdtTrfTxInf", NS)
    assert tx.findtext("p:Amt/p:InstdAmt", namespaces=NS) == "20.00"
    assert tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "BE71096123456769"
    assert tx.findtext("p:Cdtr/p:Nm", namespaces=NS) == "Sophie Peeters"

    # nothing more to batch
    again = staff.page(f"{PAGE}/lots", method="POST", data=page_form(staff, PAGE, f"{PAGE}/lots"))
    assert again.status_code == 409 and "Aucun remboursement n'attend de lot" in said(again)
    assert len(expect(staff.get("/admin/refund-batches")).json()["items"]) == 1


def test_a_bad_iban_or_an_amount_over_the_balance_writes_nothing(school):
    staff, emma = school.staff, school.emma
    form = page_form(staff, form_path(emma), form_path(emma))
    typed = {"iban": "BE71 0961 2345 6760", "holder_name": "Sophie Peeters", "amount": "10"}
    for step in ("check", "create"):
        resp = staff.page(form_path(emma), method="POST", data={**form, **typed, "step": step})
        assert resp.status_code == 400 and 'id="iban-error"' in resp.text, step
        assert 'aria-invalid="true"' in resp.text and 'value="BE71 0961 2345 6760"' in resp.text
    over = {**form, **typed, "iban": PARENT_IBAN, "amount": "30,01", "step": "check"}
    resp = staff.page(form_path(emma), method="POST", data=over)
    assert resp.status_code == 400 and "Le portefeuille ne contient que 30,00" in resp.text
    # past the confirmation, finance compares with the balance under the wallet's lock
    resp = staff.page(form_path(emma), method="POST", data={**over, "step": "create"})
    assert resp.status_code == 409 and "Le portefeuille ne contient que 30,00" in resp.text
    assert 'id="amount-error"' in resp.text and 'value="30,01"' in resp.text
    for step in ("check", "create"):
        zero = {**over, "amount": "0", "step": step}
        assert staff.page(form_path(emma), method="POST", data=zero).status_code == 400
    # the API's own check, on a short balance: finance refuses, nothing is booked
    body = {"wallet_id": emma["wallet_id"], "iban": PARENT_IBAN, "holder_name": "S P", "amount_cents": 3001}
    short = staff.post("/admin/refunds", json=body, headers=key())
    assert short.status_code == 409 and short.json()["error"]["code"] == "insufficient_balance"
    assert balance(staff, emma) == 3000 and refunds_of(staff, emma) == []


def test_another_schools_wallet_and_batch_are_not_reachable(suite, school):
    staff, emma = school.staff, school.emma
    form = page_form(staff, form_path(emma), form_path(emma))
    form.update(iban=PARENT_IBAN, holder_name="Sophie Peeters", amount="30,00", step="create")
    expect(staff.page(form_path(emma), method="POST", data=form, allow_redirects=False), 303)
    expect(staff.page(f"{PAGE}/lots", method="POST", data=page_form(staff, PAGE, f"{PAGE}/lots")))
    (batch,) = expect(staff.get("/admin/refund-batches")).json()["items"]

    other = new_school(suite)
    expect(other.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    theirs = other.create_student("Noé", unique("Autre").capitalize(), "2C")
    assert other.page(form_path(emma)).status_code == 404
    assert other.page(f"{PAGE}/eleves/{emma['id']}").status_code == 404
    # their own child's path with our wallet: not theirs either
    crossed = f"{PAGE}/eleves/{theirs['id']}/portefeuilles/{emma['wallet_id']}"
    assert other.page(crossed).status_code == 404
    their_form = page_form(other, PAGE, f"{PAGE}/lots")
    stolen = {**form, "csrf_token": their_form["csrf_token"], "key": unique("k-")}
    assert other.page(form_path(emma), method="POST", data=stolen).status_code == 404
    assert other.page(crossed, method="POST", data=stolen).status_code == 404
    assert other.page(f"{PAGE}/lots/{batch['id']}/pain.001.xml").status_code == 404
    assert emma["last_name"] not in expect(other.page(PAGE)).text
    assert balance(staff, emma) == 0 and len(refunds_of(staff, emma)) == 1

    parent = new_family(suite, other, [theirs])
    for path in (PAGE, f"{PAGE}/nouveau", f"{PAGE}/lots/{batch['id']}/pain.001.xml"):
        assert parent.page(path).status_code == 403, path


def test_a_school_without_an_iban_is_sent_to_its_settings(suite):
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    lina = staff.create_student("Lina", unique("Sans").capitalize(), "4A")
    lina["wallet_id"] = funded(staff, lina, 500)
    listed = said(expect(staff.page(PAGE)))
    assert "IBAN de l'école manquant" in listed and 'href="/gestion/reglages"' in listed
    form = page_form(staff, form_path(lina), form_path(lina))
    form.update(iban=PARENT_IBAN, holder_name="Marc Sans", amount="5", step="create")
    expect(staff.page(form_path(lina), method="POST", data=form, allow_redirects=False), 303)
    assert balance(staff, lina) == 0
    resp = staff.page(f"{PAGE}/lots", method="POST", data=page_form(staff, PAGE, f"{PAGE}/lots"))
    assert resp.status_code == 409 and "n'indiquent pas son IBAN" in said(resp)
    assert expect(staff.get("/admin/refund-batches")).json()["items"] == []
    assert len(refunds_of(staff, lina)) == 1  # still waiting for a batch
