"""The till through the whole suite (issue #17): the price list's routes (created once per key, changed
field by field, archived; checks on their field; another school's items not found; parents refused)
and sales from it: the same Idempotency-Key submitted twice at the same moment books once (through the
API and through the till page's form, childcare lines among them), and a short balance is 409
insufficient_balance with nothing booked (by the API and by the page)."""

from __future__ import annotations

import re
import threading

import pytest

from tests.factories import expect, new_family, new_school, unique


@pytest.fixture(scope="module")
def school(suite):
    """A school with a Repas wallet type, two students (Emma with 10,00 €), a price list."""
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    staff.klass = unique("C-")
    staff.emma = staff.create_student("Emma", unique("Till"), staff.klass)
    staff.leo = staff.create_student("Léo", unique("Till"), staff.klass)
    staff.wallet = staff.emma["wallets"][0]["id"]
    expect(
        staff.post(f"/admin/wallets/{staff.wallet}/top-ups", json={"amount_cents": 1000, "method": "cash"}),
        201,
    )
    staff.soup = expect(
        staff.post("/admin/till/items", json={"label": "Soupe", "price_cents": 120}), 201
    ).json()
    staff.care = expect(
        staff.post("/admin/till/items", json={"label": "Garderie", "price_cents": 250, "childcare": True}),
        201,
    ).json()
    return staff


def balance(staff, student: dict) -> int:
    wallets = expect(staff.get(f"/admin/students/{student['id']}/wallets")).json()["items"]
    return wallets[0]["balance_cents"]


def sales_of(staff, student: dict) -> list[dict]:
    return expect(staff.get("/admin/sales", params={"student_id": student["id"], "period": "today"})).json()[
        "items"
    ]


def sale_body(staff, *lines) -> dict:
    return {"student_id": staff.emma["id"], "wallet_id": staff.wallet, "lines": list(lines)}


def test_the_price_list_is_kept_by_finance_item_by_item(school):
    made = school.post(
        "/admin/till/items",
        json={"label": "Gaufre", "price_cents": 200},
        headers={"Idempotency-Key": "k-gaufre"},
    )
    again = school.post(
        "/admin/till/items",
        json={"label": "Gaufre", "price_cents": 200},
        headers={"Idempotency-Key": "k-gaufre"},
    )
    assert expect(made, 201).json() == expect(again, 201).json()
    item = made.json()
    assert item["position"] == 2 and item["active"] and item["wallet_type_id"] is None
    changed = expect(school.request("PATCH", f"/admin/till/items/{item['id']}", json={"price_cents": 220}))
    assert changed.json()["price_cents"] == 220 and changed.json()["label"] == "Gaufre"
    bad = school.request("PATCH", f"/admin/till/items/{item['id']}", json={"label": ""})
    assert bad.status_code == 400 and "label" in bad.json()["error"]["fields"]
    listed = [i["label"] for i in expect(school.get("/admin/till/items")).json()["items"]]
    assert listed == ["Soupe", "Garderie", "Gaufre"]
    assert expect(school.delete(f"/admin/till/items/{item['id']}"), 204).content == b""
    assert "Gaufre" not in [i["label"] for i in expect(school.get("/admin/till/items")).json()["items"]]
    archived = expect(school.get("/admin/till/items", params={"include_archived": "true"})).json()["items"]
    assert archived[-1]["label"] == "Gaufre" and archived[-1]["archived"]
    gone = school.request("PATCH", f"/admin/till/items/{item['id']}", json={"price_cents": 1})
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "item_archived"


def test_another_school_and_parents_cannot_touch_the_price_list(suite, school):
    other = new_school(suite)
    assert other.get("/admin/till/items").json()["items"] == []
    resp = other.request("PATCH", f"/admin/till/items/{school.soup['id']}", json={"price_cents": 1})
    assert resp.status_code == 404
    assert other.delete(f"/admin/till/items/{school.soup['id']}").status_code == 404
    parent = new_family(suite, school, children=[school.leo])
    assert parent.get("/admin/till/items").status_code == 403
    assert expect(school.get("/admin/till/items")).json()["items"][0]["price_cents"] == 120


def test_the_same_key_submitted_twice_at_once_books_one_sale(school):
    before, sold_before = balance(school, school.emma), len(sales_of(school, school.emma))
    body = sale_body(
        school,
        {"label": "Soupe", "quantity": 2, "unit_price_cents": 120},
        {"label": "Garderie", "quantity": 1, "unit_price_cents": 250, "childcare": True},
    )
    key, answers = f"till-{unique()}", [None, None]
    start = threading.Barrier(2)

    def submit(i: int) -> None:
        start.wait()
        answers[i] = school.post("/admin/sales", json=body, headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["amount_cents"] == 490 and answers[0].json()["balance_cents"] == before - 490
    assert balance(school, school.emma) == before - 490
    lines = sales_of(school, school.emma)
    assert len(lines) == sold_before + 2 and len({ln["id"] for ln in lines}) == len(lines)


def test_a_short_balance_is_refused_and_books_nothing(school):
    before, sold_before = balance(school, school.emma), len(sales_of(school, school.emma))
    body = sale_body(school, {"label": "Soupe", "quantity": 1, "unit_price_cents": before + 1})
    resp = school.post("/admin/sales", json=body, headers={"Idempotency-Key": f"till-{unique()}"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "insufficient_balance"
    assert balance(school, school.emma) == before
    assert len(sales_of(school, school.emma)) == sold_before


def page_form(staff, path: str, action: str) -> dict[str, str]:
    html = expect(staff.page(path)).text
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, html[:2000]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))


def test_the_till_pages_form_books_a_cart_once_even_when_sent_twice_at_once(school):
    before, sold_before = balance(school, school.emma), len(sales_of(school, school.emma))
    cart = f"{school.soup['id']}:1,{school.care['id']}:1"
    form = page_form(
        school, f"/gestion/caisse?eleve={school.emma['id']}&panier={cart}", "/gestion/caisse/encaisser"
    )
    assert form["panier"] == cart and form["cle"]
    answers = [None, None]
    start = threading.Barrier(2)

    def submit(i: int) -> None:
        start.wait()
        answers[i] = school.page("/gestion/caisse/encaisser", method="POST", data=form, allow_redirects=False)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [303, 303], [r.text[:500] for r in answers]
    assert balance(school, school.emma) == before - 370
    assert len(sales_of(school, school.emma)) == sold_before + 2  # one sale of two lines


def test_the_till_page_refuses_a_short_balance_and_books_nothing(school):
    leo = school.leo  # nothing in his wallet
    cart = f"{school.soup['id']}:1"
    form = page_form(school, f"/gestion/caisse?eleve={leo['id']}&panier={cart}", "/gestion/caisse/encaisser")
    resp = school.page("/gestion/caisse/encaisser", method="POST", data=form, allow_redirects=False)
    assert resp.status_code == 409 and "Solde insuffisant" in resp.text
    assert balance(school, leo) == 0 and sales_of(school, leo) == []
