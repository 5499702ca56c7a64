"""Finance through the gateway: the school's payment settings and wallet types, students' wallets,
invoices, paying from a wallet (once per Idempotency-Key), credit notes, sales, operations and the
sales journal, and what another family may not see."""

from __future__ import annotations

import uuid

from kit.testing import wait_for
from tests.factories import anonymous, expect, new_family, new_school

SETTINGS = {
    "iban": "BE68 5390 0754 7034",
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def finance_school(suite, wallet_payments: bool = True):
    staff = new_school(suite)
    body = expect(
        staff.put(
            "/admin/settings",
            # a first IBAN asks for the manager's password again
            json={
                **SETTINGS,
                "internal_wallet_payments": wallet_payments,
                "current_password": staff.password,
            },
        ),
        200,
    ).json()
    assert body["iban"] == "BE68539007547034"
    for name in ("Repas", "Activités"):
        expect(staff.post("/admin/wallet-types", json={"name": name}), 201)
    return staff


def wallets_by_name(client, path="/wallets") -> dict[str, dict]:
    return {w["name"]: w for w in expect(client.get(path)).json()["items"]}


def top_up(staff, wallet_id: str, cents: int) -> dict:
    return expect(
        staff.post(
            f"/admin/wallets/{wallet_id}/top-ups",
            json={"amount_cents": cents, "method": "cash"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    ).json()


def invoice(staff, student_id: str, cents: int, title="Visite à Bruges") -> dict:
    return expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": student_id,
                "title": title,
                "due_on": "2099-06-30",
                "lines": [{"label": "Car", "quantity": 1, "unit_price_cents": cents}],
            },
        ),
        201,
    ).json()


def test_wallets_open_for_new_students_and_for_a_new_wallet_type(suite):
    staff = finance_school(suite)
    student = staff.create_student("Emma", "Peeters", "3A")
    assert sorted(w["name"] for w in student["wallets"]) == ["Activités", "Repas"]
    parent = new_family(suite, staff, [student])
    wallets = expect(parent.get("/wallets")).json()
    assert wallets["next_cursor"] is None
    assert [w["name"] for w in wallets["items"]] == ["Repas", "Activités"]
    for w in wallets["items"]:
        assert set(w) >= {"id", "name", "balance_cents", "structured_communication"}
        assert w["balance_cents"] == 0 and w["structured_communication"].startswith("+++")
    expect(staff.post("/admin/wallet-types", json={"name": "Garderie"}), 201)
    assert "Garderie" in wallets_by_name(parent)
    types = expect(staff.get("/admin/wallet-types")).json()["items"]
    assert [t["name"] for t in types] == ["Repas", "Activités", "Garderie"]


def test_paying_an_invoice_from_the_wallet_once_per_key(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "3A"}])
    child = parent.active_child_id
    meals = wallets_by_name(parent)["Repas"]
    assert top_up(staff, meals["id"], 3710)["balance_cents"] == 3710
    inv = invoice(staff, child, 1250)
    assert inv["status"] == "unpaid" and inv["total_cents"] == 1250 and inv["paid_cents"] == 0
    assert inv["structured_communication"] != meals["structured_communication"]
    listed = expect(parent.get("/invoices")).json()["items"]
    assert [i["id"] for i in listed] == [inv["id"]]
    assert set(listed[0]) >= {
        "id",
        "number",
        "title",
        "issued_on",
        "due_on",
        "total_cents",
        "paid_cents",
        "status",
        "structured_communication",
    }

    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"method": "wallet", "wallet_id": meals["id"]}
    paid = expect(parent.post(f"/invoices/{inv['id']}/payments", json=body, headers=key), 200).json()
    assert paid["invoice"]["status"] == "paid" and paid["invoice"]["paid_cents"] == 1250
    again = expect(parent.post(f"/invoices/{inv['id']}/payments", json=body, headers=key), 200).json()
    assert again == paid
    assert wallets_by_name(parent)["Repas"]["balance_cents"] == 2460
    reused = parent.post(
        f"/invoices/{inv['id']}/payments",
        json={"method": "wallet", "wallet_id": wallets_by_name(parent)["Activités"]["id"]},
        headers=key,
    )
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    second = parent.post(f"/invoices/{inv['id']}/payments", json=body, headers={"Idempotency-Key": "other"})
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_paid"
    assert [i["id"] for i in expect(parent.get("/invoices?status=paid")).json()["items"]] == [inv["id"]]
    assert expect(parent.get("/invoices?status=unpaid")).json()["items"] == []
    bad = parent.get("/invoices?status=late")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]

    operations = expect(parent.get("/operations?period=today")).json()["items"]
    assert [(o["type"], o["amount_cents"], o["payment_method"]) for o in operations] == [
        ("invoice_payment", -1250, "wallet"),
        ("top_up", 3710, "cash"),
    ]
    assert set(operations[0]) >= {"id", "at", "type", "label", "amount_cents", "payment_method", "wallet_id"}


def test_payments_the_school_or_the_balance_do_not_allow_are_refused(suite):
    staff = finance_school(suite, wallet_payments=False)
    parent = new_family(suite, staff, [{"first_name": "Noah"}])
    child = parent.active_child_id
    meals = wallets_by_name(parent)["Repas"]
    top_up(staff, meals["id"], 1000)
    inv = invoice(staff, child, 1500)
    pay = {"method": "wallet", "wallet_id": meals["id"]}
    r = parent.post(f"/invoices/{inv['id']}/payments", json=pay)
    assert r.status_code == 409 and r.json()["error"]["code"] == "method_disabled"
    expect(staff.put("/admin/settings", json=SETTINGS), 200)
    r = parent.post(f"/invoices/{inv['id']}/payments", json=pay)
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_balance"
    r = parent.post(f"/invoices/{inv['id']}/payments", json={"method": "online"})
    assert r.status_code == 201 and r.json()["checkout_url"]  # online: a checkout, nothing booked (payments)
    r = parent.post(f"/invoices/{inv['id']}/payments", json={"method": "wallet"})
    assert r.status_code == 400 and "wallet_id" in r.json()["error"]["fields"]
    r = parent.post(f"/invoices/{inv['id']}/payments", json={"method": "cheque", "wallet_id": meals["id"]})
    assert r.status_code == 400

    note = expect(
        staff.post(f"/admin/invoices/{inv['id']}/credit-note", json={"reason": "Sortie annulée"}), 201
    ).json()
    assert note["credited_cents"] == 1500 and note["invoice"]["status"] == "cancelled"
    r = parent.post(f"/invoices/{inv['id']}/payments", json=pay)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice_cancelled"
    r = staff.post(f"/admin/invoices/{inv['id']}/credit-note", json={"reason": "encore"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice_cancelled"
    assert wallets_by_name(parent)["Repas"]["balance_cents"] == 1000


def test_another_familys_invoice_and_wallet_answer_404_and_parents_cannot_use_staff_endpoints(suite):
    staff = finance_school(suite)
    ours = new_family(suite, staff, [{"first_name": "Emma"}])
    theirs = new_family(suite, staff, [{"first_name": "Lucas"}])
    their_wallet = wallets_by_name(theirs)["Repas"]
    our_wallet = wallets_by_name(ours)["Repas"]
    top_up(staff, their_wallet["id"], 5000)
    top_up(staff, our_wallet["id"], 5000)
    their_invoice = invoice(staff, theirs.active_child_id, 100)
    our_invoice = invoice(staff, ours.active_child_id, 100)
    r = ours.post(
        f"/invoices/{their_invoice['id']}/payments", json={"method": "wallet", "wallet_id": our_wallet["id"]}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = ours.post(
        f"/invoices/{our_invoice['id']}/payments", json={"method": "wallet", "wallet_id": their_wallet["id"]}
    )
    assert r.status_code == 404
    assert ours.get(f"/invoices/{their_invoice['id']}").status_code == 404
    assert wallets_by_name(theirs)["Repas"]["balance_cents"] == 5000
    for method, path, body in (
        ("put", "/admin/settings", SETTINGS),
        ("post", "/admin/wallet-types", {"name": "x"}),
        ("post", "/admin/invoices", {}),
        ("post", "/admin/sales", {}),
        ("post", f"/admin/invoices/{our_invoice['id']}/credit-note", {"reason": "x"}),
    ):
        assert getattr(ours, method)(path, json=body).status_code == 403


def test_sales_debit_the_wallet_and_fill_the_sales_journal(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Zoé"}])
    child = parent.active_child_id
    meals = wallets_by_name(parent)["Repas"]
    top_up(staff, meals["id"], 1000)
    sale = {
        "student_id": child,
        "wallet_id": meals["id"],
        "lines": [
            {"label": "Repas chaud", "quantity": 2, "unit_price_cents": 395},
            {"label": "Photocopies", "quantity": 4, "unit_price_cents": 5},
        ],
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    made = expect(staff.post("/admin/sales", json=sale, headers=key), 201).json()
    assert made["balance_cents"] == 190
    assert expect(staff.post("/admin/sales", json=sale, headers=key), 201).json() == made
    r = staff.post("/admin/sales", json=sale)
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_balance"
    journal = expect(parent.get("/sales?period=this_month")).json()
    assert [
        (ln["label"], ln["quantity"], ln["unit_price_cents"], ln["amount_cents"]) for ln in journal["items"]
    ] == [("Repas chaud", 2, 395, 790), ("Photocopies", 4, 5, 20)]
    assert all(
        set(ln) >= {"id", "at", "label", "quantity", "unit_price_cents", "amount_cents", "wallet_id"}
        for ln in journal["items"]
    )
    purchases = expect(parent.get("/operations?type=purchase&payment_method=wallet")).json()["items"]
    assert [o["amount_cents"] for o in purchases] == [-810]
    assert expect(parent.get("/operations?type=top_up&payment_method=online")).json()["items"] == []
    page = expect(parent.get("/sales?limit=1")).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = expect(parent.get(f"/sales?limit=1&cursor={page['next_cursor']}")).json()
    assert [ln["label"] for ln in rest["items"]] == ["Photocopies"] and rest["next_cursor"] is None
    # the school's journal, paged by finance: the same two lines, one per page
    first = expect(staff.get("/admin/sales", params={"student_id": child, "limit": 1})).json()
    assert [ln["label"] for ln in first["items"]] == ["Repas chaud"] and first["next_cursor"]
    assert first["items"][0]["childcare"] is False
    second = expect(
        staff.get("/admin/sales", params={"student_id": child, "limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert [ln["label"] for ln in second["items"]] == ["Photocopies"] and second["next_cursor"] is None
    bad = staff.get("/admin/sales", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["fields"]
    custom = expect(parent.get("/sales?period=custom&from=2020-01-01&to=2020-01-31")).json()["items"]
    assert custom == []
    for query in (
        "period=someday",
        "period=custom",
        "period=custom&from=2026-02-01&to=2026-01-01",
        "type=gift",
        "payment_method=bitcoin",
        "period=custom&from=01/01/2026&to=2026-01-02",
    ):
        r = parent.get(f"/operations?{query}")
        assert r.status_code == 400, query
        assert r.json()["error"]["code"] == "invalid_request" and r.json()["error"]["fields"]


def test_bad_input_gets_a_clear_400_and_writes_nothing(suite):
    staff = finance_school(suite)
    student = staff.create_student("Emma", "Peeters", "3A")
    r = staff.put("/admin/settings", json={**SETTINGS, "iban": "BE68 5390 0754 7035"})
    assert r.status_code == 400 and "iban" in r.json()["error"]["fields"]
    assert expect(staff.get("/admin/settings")).json()["iban"] == "BE68539007547034"
    r = staff.put("/admin/settings", json={**SETTINGS, "internal_wallet_payments": "yes"})
    assert r.status_code == 400 and "internal_wallet_payments" in r.json()["error"]["fields"]
    for body, field in (
        (
            {
                "student_id": student["id"],
                "title": "T",
                "lines": [{"label": "a", "quantity": 1, "unit_price_cents": "5"}],
            },
            "lines[0].unit_price_cents",
        ),
        ({"student_id": student["id"], "title": "T", "lines": []}, "lines"),
        (
            {"student_id": student["id"], "title": "", "lines": [{"label": "a", "unit_price_cents": 5}]},
            "title",
        ),
        (
            {
                "student_id": student["id"],
                "title": "T",
                "due_on": "31/12/2026",
                "lines": [{"label": "a", "unit_price_cents": 5}],
            },
            "due_on",
        ),
    ):
        r = staff.post("/admin/invoices", json=body)
        assert r.status_code == 400, body
        assert field in r.json()["error"]["fields"], r.json()
    assert expect(staff.get(f"/admin/students/{student['id']}/invoices")).json()["items"] == []
    assert (
        staff.post(
            "/admin/invoices", data="not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_an_issued_invoice_becomes_a_pdf_in_the_childs_documents(suite):
    staff = finance_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma"}])
    invoice(staff, parent.active_child_id, 1850, title="Classe verte")
    titles: list[str] = []

    def titles_now() -> list[str]:
        titles[:] = [d["title"] for d in expect(parent.get("/documents")).json()["items"]]
        return titles

    wait_for(
        lambda: any("Classe verte" in t for t in titles_now()),
        timeout=60,
        interval=0.3,
        what="the invoice's PDF in the documents",
        describe=lambda: titles,
    )
    assert any("Classe verte" in t for t in titles), titles


def test_the_finance_paths_are_in_the_openapi_document(suite):
    spec = expect(anonymous(suite).get("/openapi.json")).json()
    for path in (
        "/api/v1/wallets",
        "/api/v1/invoices",
        "/api/v1/invoices/{id}/payments",
        "/api/v1/operations",
        "/api/v1/sales",
        "/api/v1/admin/settings",
        "/api/v1/admin/wallet-types",
        "/api/v1/admin/invoices",
        "/api/v1/admin/invoices/{id}/credit-note",
        "/api/v1/admin/sales",
    ):
        assert path in spec["paths"], path
