"""Bank statements through the gateway: the manager uploads the bank's file (API and page), transfers
with the family's structured communications reach the parent's balances and invoices once, the rest
waits in the unmatched list until assigned; a corrupted file books nothing."""

from __future__ import annotations

import re

import pytest

from services.finance.tests.statement_builders import Mv, build_camt053, build_coda, make_ogm
from tests.factories import expect, new_family, new_school

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


@pytest.fixture
def school(suite):
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    family = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    return staff, family


def upload(staff, content: bytes, name: str = "extrait.cod"):
    return staff.post("/admin/bank-statements", files={"file": (name, content, "application/octet-stream")})


def balance(family) -> int:
    return expect(family.get("/wallets"), 200).json()["items"][0]["balance_cents"]


def movements(family) -> tuple[list, dict]:
    (w,) = expect(family.get("/wallets"), 200).json()["items"]
    return [
        Mv(
            2500,
            ogm=digits(w["structured_communication"]),
            counterparty_name="DUPONT MARIE",
            counterparty_iban="BE71096123456769",
        ),
        Mv(700, free_text=f"cantine {w['structured_communication']}", counterparty_name="DUPONT MARIE"),
        Mv(
            1800,
            ogm=digits(w["structured_communication"]),
            counterparty_name="SMITH JOHN",
            counterparty_iban="GB29NWBK60161331926819",
        ),  # a foreign payer
        Mv(990, direction="debit", free_text="Traiteur", counterparty_name="TRAITEUR SA"),
        Mv(300, free_text="pour Emma de mamie", counterparty_name="GRAND-MERE"),
        Mv(400, ogm=make_ogm(4242424242), counterparty_name="INCONNU"),
    ], w


@pytest.mark.parametrize("fmt", ["coda", "camt053"])
def test_a_statement_credits_the_family_once_and_lists_the_rest(suite, school, fmt):
    staff, family = school
    items, _w = movements(family)
    content = build_coda(items) if fmt == "coda" else build_camt053(items)
    result = expect(upload(staff, content), 201).json()
    assert {
        k: result[k] for k in ("format", "movements", "credited", "unmatched", "duplicates", "debits")
    } == {"format": fmt, "movements": 6, "credited": 3, "unmatched": 2, "duplicates": 0, "debits": 1}
    assert balance(family) == 2500 + 700 + 1800
    ops = expect(family.get("/operations?payment_method=transfer"), 200).json()["items"]
    assert sorted(o["amount_cents"] for o in ops) == [700, 1800, 2500]
    again = expect(upload(staff, content), 201).json()
    assert (again["movements"], again["duplicates"], again["credited"], again["unmatched"]) == (6, 6, 0, 0)
    assert balance(family) == 5000
    listed = expect(staff.get("/admin/unmatched-transfers"), 200).json()
    assert listed["next_cursor"] is None
    by_amount = {t["amount_cents"]: t for t in listed["items"]}
    assert set(by_amount) == {300, 400}
    assert set(by_amount[300]) >= {
        "id",
        "amount_cents",
        "communication",
        "counterparty_name",
        "counterparty_iban",
        "booked_on",
    }
    assert (
        by_amount[300]["communication"] == "pour Emma de mamie"
        and by_amount[300]["counterparty_name"] == "GRAND-MERE"
    )
    # the manager gives grandmother's transfer to Emma's wallet, once
    assigned = expect(
        staff.post(f"/admin/unmatched-transfers/{by_amount[300]['id']}/assign", json={"wallet_id": _w["id"]}),
        200,
    ).json()
    assert assigned["status"] == "assigned" and assigned["wallet_balance_cents"] == 5300
    twice = staff.post(
        f"/admin/unmatched-transfers/{by_amount[300]['id']}/assign", json={"wallet_id": _w["id"]}
    )
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_assigned"
    assert balance(family) == 5300
    assert [
        t["amount_cents"] for t in expect(staff.get("/admin/unmatched-transfers"), 200).json()["items"]
    ] == [400]


def test_a_transfer_pays_an_invoice_and_the_excess_waits_for_the_manager(suite, school):
    staff, family = school
    inv = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": family.active_child_id,
                "title": "Piscine",
                "lines": [{"label": "Séances", "unit_price_cents": 3000}],
            },
        ),
        201,
    ).json()
    expect(
        upload(
            staff, build_coda([Mv(1000, ogm=digits(inv["structured_communication"]))], statement_number=7)
        ),
        201,
    )
    (got,) = expect(family.get("/invoices"), 200).json()["items"]
    assert (got["status"], got["paid_cents"]) == ("partially_paid", 1000)
    details = expect(family.get(f"/invoices/{inv['id']}/transfer"), 200).json()
    assert details["amount_cents"] == 2000 and details["epc_qr_svg"].startswith("<svg")
    assert "\nEUR20\n" in details["epc_payload"] and inv["structured_communication"] in details["epc_payload"]
    result = expect(
        upload(
            staff, build_coda([Mv(2600, ogm=digits(inv["structured_communication"]))], statement_number=8)
        ),
        201,
    ).json()
    assert (result["credited"], result["unmatched"]) == (1, 1)
    (got,) = expect(family.get("/invoices"), 200).json()["items"]
    assert (got["status"], got["paid_cents"]) == ("paid", 3000)
    (excess,) = expect(staff.get("/admin/unmatched-transfers"), 200).json()["items"]
    assert excess["amount_cents"] == 600 and excess["communication"] == inv["structured_communication"]


def test_a_corrupted_file_is_refused_with_its_line_and_books_nothing(suite, school):
    staff, family = school
    items, _w = movements(family)
    lines = build_coda(items).split(b"\r\n")
    n = next(i for i, rec in enumerate(lines) if rec.startswith(b"21"))
    lines[n] = lines[n][:40] + b"7" + lines[n][41:]
    refused = upload(staff, b"\r\n".join(lines))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_statement" and isinstance(error["line"], int) and error["reason"]
    assert error["fields"]["line"] == str(error["line"])
    assert balance(family) == 0
    assert expect(staff.get("/admin/unmatched-transfers"), 200).json()["items"] == []
    assert expect(staff.get("/admin/bank-statements"), 200).json()["items"] == []
    for content in (b"", b"not a statement", b"<Document></Document>"):
        assert upload(staff, content).status_code == 400
    assert staff.post("/admin/bank-statements", data={}).status_code == 400


def test_statements_are_for_staff_only(suite, school):
    _staff, family = school
    assert upload(family, build_coda([Mv(100)])).status_code == 403
    assert family.get("/admin/unmatched-transfers").status_code == 403
    assert family.post("/admin/unmatched-transfers/x/assign", json={"wallet_id": "y"}).status_code == 403
    other_school = new_school(suite)
    result = expect(upload(other_school, build_coda(movements(family)[0])), 201).json()
    assert result["credited"] == 0 and balance(family) == 0  # another school's communications name nothing


def test_the_staff_page_uploads_a_file_and_assigns_a_transfer(suite, school):
    staff, family = school
    items, w = movements(family)
    page = expect(staff.page("/gestion/extraits"), 200).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    sent = staff.page(
        "/gestion/extraits",
        method="POST",
        data={"csrf_token": token, "idempotency_key": key},
        files={"file": ("extrait.xml", build_camt053(items), "text/xml")},
    )
    assert sent.status_code == 200 and "Fichier importé" in sent.text and "Virements à attribuer" in sent.text
    assert balance(family) == 5000
    bad = staff.page(
        "/gestion/extraits",
        method="POST",
        data={"csrf_token": token},
        files={"file": ("x.cod", b"0" + b" " * 127 + b"\r\n", "text/plain")},
    )
    assert bad.status_code == 400 and "Rien n&#39;a été comptabilisé" in bad.text
    (grandma,) = [
        t
        for t in expect(staff.get("/admin/unmatched-transfers"), 200).json()["items"]
        if t["amount_cents"] == 300
    ]
    choose = expect(
        staff.page(f"/gestion/virements-non-attribues/{grandma['id']}?student_id={family.active_child_id}"),
        200,
    ).text
    assert f'value="wallet:{w["id"]}"' in choose
    token = re.search(r'name="csrf_token" value="([^"]+)"', choose).group(1)
    done = staff.page(
        f"/gestion/virements-non-attribues/{grandma['id']}",
        method="POST",
        allow_redirects=False,
        data={"csrf_token": token, "target": f"wallet:{w['id']}", "student_id": family.active_child_id},
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/gestion/extraits#non-attribues")
    assert balance(family) == 5300
    parent_page = family.page("/gestion/extraits")
    assert parent_page.status_code in (403, 302, 303)
