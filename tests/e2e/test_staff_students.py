"""The school's students through the whole suite (API.md "School back office"): the list (the contract's
shape, sorted by class then last name, search by any part of a name with accents ignored, one class,
active or left, pages by cursor), one student with wallets, parents and invoices, every field changed
and every bad value refused on its field, an external id another student has (409), unknown and
another school's ids (404, nothing changed), a leaver listed with status=left, a level change giving
new structured communications while the old one still credits the same wallet, a whole class moved
(the class move addition), parents refused, and the staff pages of the same."""

from __future__ import annotations

import datetime as dt

import pytest

from kit.dates import BRUSSELS
from kit.testing import wait_for
from services.finance.tests.statement_builders import Mv, build_camt053
from tests.factories import anonymous, expect, new_family, new_school, unique

CONTRACT_KEYS = {
    "id",
    "first_name",
    "last_name",
    "class_name",
    "level",
    "status",
    "external_id",
    "birth_date",
    "parent_ids",
}
STUDENT_KEYS = CONTRACT_KEYS | {"left_on", "national_number"}  # additions, as API.md's tax section says
PARENT_KEYS = {"id", "first_name", "last_name", "email", "username", "student_ids", "status"}
WALLET_KEYS = {
    "id",
    "name",
    "balance_cents",
    "structured_communication",
    "auto_top_up",
    "collection_pending_cents",
}
NATIONAL_NUMBER = "16.04.02-123.16"  # a valid one (python-stdnum be.nn), born 2 April 2016
SETTINGS = {
    "iban": "BE68 5390 0754 7034",  # the account statement_builders write statements for
    "bic": "BBRUBEBB",
    "beneficiary": "École Saint-Joseph",
    "top_up_methods": ["online", "transfer"],
    "internal_wallet_payments": True,
    "online_payment_for_orders": False,
}


def today() -> dt.date:
    """The school's today (auth's leaving dates are on Brussels' clock)."""
    return dt.datetime.now(BRUSSELS).date()


def patch(client, path: str, body):
    return client.request("PATCH", path, json=body)


def error_of(resp, status: int = 400) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


def all_pages(staff, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        body = expect(
            staff.get("/admin/students", params={**params, **({"cursor": cursor} if cursor else {})})
        ).json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


@pytest.fixture(scope="module")
def school(suite):
    """One school shared by the module's tests: each test makes its own students in its own classes."""
    staff = new_school(suite)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    return staff


def test_the_list_contract_sorted_searched_filtered_and_paged(suite, school):
    staff = school
    family = unique("Dhondt").capitalize()
    c1, c2 = unique("1A-"), unique("2B-")
    made = {
        "zoe": staff.create_student("Zoé", f"A{family}", c2),
        "eloise": staff.create_student("Éloïse", f"D'{family}-Léger", c1),
        "noah": staff.create_student("Noah", f"B{family}", c1),
    }
    body = expect(staff.get("/admin/students", params={"q": family})).json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert all(set(s) == STUDENT_KEYS for s in body["items"])
    # by class, then last name
    assert [s["id"] for s in body["items"]] == [made["noah"]["id"], made["eloise"]["id"], made["zoe"]["id"]]
    eloise = next(s for s in body["items"] if s["id"] == made["eloise"]["id"])
    assert eloise == {
        "id": made["eloise"]["id"],
        "first_name": "Éloïse",
        "last_name": f"D'{family}-Léger",
        "class_name": c1,
        "level": "primary",
        "status": "active",
        "external_id": None,
        "birth_date": None,
        "parent_ids": [],
        "left_on": None,
        "national_number": None,
    }

    # any part of the names, accents, case, apostrophes and hyphens ignored, first or last name first
    for q in (
        "eloise",
        family[3:7].upper(),
        f"d{family.lower()} leger",
        f"D'{family}-Léger Éloïse",
        f"LOÏSE D'{family}",
    ):
        found = expect(staff.get("/admin/students", params={"q": q})).json()["items"]
        assert made["eloise"]["id"] in {s["id"] for s in found}, q
    assert expect(staff.get("/admin/students", params={"q": "zzzz" + family})).json()["items"] == []
    in_c1 = expect(staff.get("/admin/students", params={"class_name": c1})).json()["items"]
    assert [s["id"] for s in in_c1] == [made["noah"]["id"], made["eloise"]["id"]]

    # pages of one by the cursor, the same students in the same order
    paged = all_pages(staff, q=family, limit=1)
    assert [s["id"] for s in paged] == [s["id"] for s in body["items"]]
    first = expect(staff.get("/admin/students", params={"q": family, "limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    # the default page is 50; the whole school by its pages
    assert {m["id"] for m in made.values()} <= {s["id"] for s in all_pages(staff, limit=200)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "gone"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_list_query_is_400_with_its_field(suite, school, params, field):
    err = error_of(school.get("/admin/students", params=params))
    assert err["code"] == "invalid_request" and field in err["fields"]


def test_one_student_with_wallets_parents_and_invoices(suite, school):
    staff = school
    student = staff.create_student("Lina", unique("Maes").capitalize(), unique("3A-"))
    family = new_family(suite, staff, [student], first_name="Sofie")
    due = (today() + dt.timedelta(days=30)).isoformat()
    invoice = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": student["id"],
                "title": "Classe verte",
                "due_on": due,
                "lines": [{"label": "Séjour", "unit_price_cents": 12000}],
            },
        ),
        201,
    ).json()

    body = expect(staff.get(f"/admin/students/{student['id']}")).json()
    assert set(body) == STUDENT_KEYS | {"wallets", "parents", "invoices"}
    assert body["parent_ids"] == [family.id]
    assert [w["id"] for w in body["wallets"]] == [w["id"] for w in student["wallets"]]
    assert all(set(w) == WALLET_KEYS for w in body["wallets"]) and body["wallets"]
    assert all(w["structured_communication"].startswith("+++") for w in body["wallets"])
    assert [set(p) for p in body["parents"]] == [PARENT_KEYS]
    assert body["parents"][0]["id"] == family.id and body["parents"][0]["student_ids"] == [student["id"]]
    assert [i["id"] for i in body["invoices"]] == [invoice["id"]]
    assert body["invoices"][0]["total_cents"] == 12000
    listed = expect(staff.get("/admin/students", params={"class_name": student["class_name"]})).json()
    assert listed["items"][0]["parent_ids"] == [family.id]


def test_every_field_changes_and_only_the_fields_given(suite, school):
    staff = school
    student = staff.create_student("Jean", unique("Piron").capitalize(), unique("4A-"))
    sid = student["id"]
    last = unique("Van der Straeten-D'Ursel ").title()
    changed = expect(
        patch(
            staff,
            f"/admin/students/{sid}",
            {
                "first_name": "  Marie   Claire ",
                "last_name": last,
                "class_name": "5B" + student["class_name"][2:],
                "level": "secondary",
                "birth_date": "2016-04-02",
                "external_id": unique("ID-"),
                "national_number": NATIONAL_NUMBER,
            },
        )
    ).json()
    assert set(changed) == STUDENT_KEYS
    assert changed["first_name"] == "Marie Claire" and changed["last_name"] == last
    assert changed["class_name"].startswith("5B") and changed["level"] == "secondary"
    assert changed["birth_date"] == "2016-04-02" and changed["external_id"].startswith("ID-")
    assert changed["national_number"] == "••••••••••16"  # masked, except on the student's own answer
    detail = expect(staff.get(f"/admin/students/{sid}")).json()
    assert detail["national_number"] == "16040212316"

    only = expect(patch(staff, f"/admin/students/{sid}", {"class_name": student["class_name"]})).json()
    assert only["class_name"] == student["class_name"] and only["first_name"] == "Marie Claire"
    assert only["level"] == "secondary" and only["birth_date"] == "2016-04-02"
    cleared = expect(
        patch(
            staff, f"/admin/students/{sid}", {"birth_date": None, "external_id": "", "national_number": None}
        )
    ).json()
    assert (cleared["birth_date"], cleared["external_id"], cleared["national_number"]) == (None, None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"birth_date": "2016-02-30"}, "birth_date"),
        ({"birth_date": "02/04/2016"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "1900-01-01"}, "birth_date"),
        ({"level": "tertiary"}, "level"),
        ({"level": "primaire"}, "level"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "R2-D2 <script>"}, "last_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"class_name": " "}, "class_name"),
        ({"class_name": "x" * 51}, "class_name"),
        ({"external_id": "x" * 65}, "external_id"),
        ({"national_number": "12345678901"}, "national_number"),
        ({"class": "4A"}, "class"),
        ({"status": "left"}, "status"),
        ({}, "body"),
        ({"level": 2}, "level"),
    ],
)
def test_a_bad_value_is_400_on_its_field_and_changes_nothing(suite, school, body, field):
    staff = school
    student = staff.create_student("Ada", unique("Lovelace").capitalize(), unique("6C-"))
    err = error_of(patch(staff, f"/admin/students/{student['id']}", body))
    assert err["code"] == "invalid_request" and field in err["fields"], err
    after = expect(staff.get(f"/admin/students/{student['id']}")).json()
    assert (after["first_name"], after["class_name"], after["level"], after["birth_date"]) == (
        "Ada",
        student["class_name"],
        "primary",
        None,
    )


def test_an_external_id_another_student_has_is_409(suite, school):
    staff = school
    klass = unique("2C-")
    a, b = staff.create_student("Amir", "Haddad", klass), staff.create_student("Bo", "Haddad", klass)
    ext = unique("EXT-")
    expect(patch(staff, f"/admin/students/{a['id']}", {"external_id": ext}))
    err = error_of(patch(staff, f"/admin/students/{b['id']}", {"external_id": ext}), 409)
    assert err["code"] == "external_id_taken"
    assert expect(staff.get(f"/admin/students/{b['id']}")).json()["external_id"] is None
    # the same id again on its own student changes nothing; freed, it can be given to another
    assert (
        expect(patch(staff, f"/admin/students/{a['id']}", {"external_id": ext})).json()["external_id"] == ext
    )
    expect(patch(staff, f"/admin/students/{a['id']}", {"external_id": None}))
    assert (
        expect(patch(staff, f"/admin/students/{b['id']}", {"external_id": ext})).json()["external_id"] == ext
    )
    # another school may use the same id
    other = new_school(suite)
    theirs = other.create_student("Cléo", "Haddad", "1A")
    assert expect(patch(other, f"/admin/students/{theirs['id']}", {"external_id": ext})).status_code == 200


def test_unknown_and_another_schools_students_are_not_found_and_unchanged(suite, school):
    staff = school
    mine = staff.create_student("Yara", unique("Nour").capitalize(), unique("3D-"))
    other = new_school(suite)
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    for client, sid in (
        (other, mine["id"]),
        (staff, "no-such-id"),
        (staff, "00000000-0000-0000-0000-000000000000"),
    ):
        for method, path, body in [
            ("get", f"/admin/students/{sid}", None),
            ("patch", f"/admin/students/{sid}", {"class_name": "9Z"}),
            ("post", f"/admin/students/{sid}/leave", {"left_on": yesterday}),
        ]:
            resp = client.request(method.upper(), path, json=body)
            assert error_of(resp, 404)["code"] == "not_found", (method, path)
    after = expect(staff.get(f"/admin/students/{mine['id']}")).json()
    assert after["class_name"] == mine["class_name"] and after["status"] == "active"
    assert mine["id"] not in {s["id"] for s in all_pages(other, limit=200)}
    # another school's move of the same class name moves none of ours
    moved = expect(
        other.post("/admin/classes/move", json={"from_class_name": mine["class_name"], "to_class_name": "9Z"})
    ).json()
    assert moved == {"moved": 0}
    assert expect(staff.get(f"/admin/students/{mine['id']}")).json()["class_name"] == mine["class_name"]


def test_a_leaver_is_listed_with_status_left(suite, school):
    staff = school
    klass = unique("6A-")
    leaver, stays = staff.create_student("Tom", "Leroy", klass), staff.create_student("Uma", "Leroy", klass)
    day = (today() - dt.timedelta(days=1)).isoformat()
    for bad in (
        "2026-13-01",
        "yesterday",
        "01/07/2026",
        (today() - dt.timedelta(days=3 * 365)).isoformat(),
        20260630,
    ):
        err = error_of(staff.post(f"/admin/students/{leaver['id']}/leave", json={"left_on": bad}))
        assert "left_on" in err["fields"], bad
    assert (
        error_of(staff.post(f"/admin/students/{leaver['id']}/leave", json=["x"]))["code"] == "invalid_request"
    )
    assert expect(staff.get(f"/admin/students/{leaver['id']}")).json()["status"] == "active"

    left = expect(staff.post(f"/admin/students/{leaver['id']}/leave", json={"left_on": day})).json()
    assert set(left) == STUDENT_KEYS and (left["status"], left["left_on"]) == ("left", day)
    active = expect(staff.get("/admin/students", params={"class_name": klass})).json()["items"]
    assert [s["id"] for s in active] == [stays["id"]]
    gone = expect(staff.get("/admin/students", params={"class_name": klass, "status": "left"})).json()[
        "items"
    ]
    assert [(s["id"], s["status"], s["left_on"]) for s in gone] == [(leaver["id"], "left", day)]
    assert expect(staff.get(f"/admin/students/{leaver['id']}")).json()["status"] == "left"
    # another day corrects the date; no body: today
    fixed = expect(staff.post(f"/admin/students/{leaver['id']}/leave")).json()
    assert (fixed["status"], fixed["left_on"]) == ("left", today().isoformat())


def test_a_new_level_gives_new_communications_and_the_old_one_still_credits_the_wallet(suite, school):
    staff = new_school(suite)  # its own settings: the statement is for its account
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    student = staff.create_student("Ines", unique("Claes").capitalize(), unique("6P-"))
    old = expect(staff.get(f"/admin/students/{student['id']}")).json()["wallets"][0]
    expect(patch(staff, f"/admin/students/{student['id']}", {"level": "secondary"}))

    def wallet() -> dict:
        found = expect(staff.get(f"/admin/students/{student['id']}")).json()["wallets"]
        return next(w for w in found if w["id"] == old["id"])

    def renewed():
        w = wallet()
        return w if w["structured_communication"] != old["structured_communication"] else None

    new = wait_for(renewed, 60, what="finance to give the wallet a new communication")
    assert new["id"] == old["id"]
    digits = [w["structured_communication"].strip("+").replace("/", "") for w in (old, new)]
    statement = build_camt053(
        [
            Mv(1000, ogm=digits[0], counterparty_name="CLAES AN", booked_on=today()),
            Mv(500, ogm=digits[1], counterparty_name="CLAES AN", booked_on=today()),
        ]
    )
    result = expect(
        staff.post("/admin/bank-statements", files={"file": ("extrait.xml", statement, "text/xml")}), 201
    ).json()
    assert (result["credited"], result["unmatched"]) == (2, 0)
    assert wallet()["balance_cents"] == 1500


def test_a_whole_class_moves_and_its_leavers_stay(suite, school):
    staff = school
    source, target = unique("5A-"), unique("6A-")
    movers = [staff.create_student(n, "Janssens", source) for n in ("Ava", "Ben")]
    leaver = staff.create_student("Cas", "Janssens", source)
    expect(staff.post(f"/admin/students/{leaver['id']}/leave", json={}))
    for body, field in [
        ({"from_class_name": source, "to_class_name": source}, "to_class_name"),
        ({"from_class_name": "", "to_class_name": target}, "from_class_name"),
        ({"from_class_name": source, "to_class_name": "x" * 51}, "to_class_name"),
        ({"from_class_name": source, "to_class_name": ""}, "to_class_name"),
        ({"from_class_name": source, "to_class_name": 6}, "to_class_name"),
    ]:
        assert field in error_of(staff.post("/admin/classes/move", json=body))["fields"], body
    assert error_of(staff.post("/admin/classes/move", json=[]))["code"] == "invalid_request"

    moved = expect(
        staff.post("/admin/classes/move", json={"from_class_name": source, "to_class_name": target})
    )
    assert moved.json() == {"moved": 2}
    listed = expect(staff.get("/admin/students", params={"class_name": target})).json()["items"]
    assert sorted(s["id"] for s in listed) == sorted(m["id"] for m in movers)
    assert expect(staff.get("/admin/students", params={"class_name": source})).json()["items"] == []
    assert expect(staff.get(f"/admin/students/{leaver['id']}")).json()["class_name"] == source
    again = expect(
        staff.post("/admin/classes/move", json={"from_class_name": source, "to_class_name": target})
    )
    assert again.json() == {"moved": 0}


def test_parents_and_strangers_cannot_use_the_students_endpoints(suite, school):
    staff = school
    student = staff.create_student("Mia", unique("Wouters").capitalize(), unique("1C-"))
    family = new_family(suite, staff, [student])
    stranger = anonymous(suite)
    for method, path, body in [
        ("GET", "/admin/students", None),
        ("GET", f"/admin/students/{student['id']}", None),
        ("PATCH", f"/admin/students/{student['id']}", {"class_name": "9Z"}),
        ("POST", f"/admin/students/{student['id']}/leave", {}),
        ("POST", "/admin/classes/move", {"from_class_name": student["class_name"], "to_class_name": "9Z"}),
    ]:
        assert family.request(method, path, json=body).status_code == 403, (method, path)
        assert stranger.request(method, path, json=body).status_code == 401, (method, path)
    after = expect(staff.get(f"/admin/students/{student['id']}")).json()
    assert after["class_name"] == student["class_name"] and after["status"] == "active"
    for path in ("/gestion/eleves", f"/gestion/eleves/{student['id']}", "/gestion/eleves/changer-de-classe"):
        assert family.page(path).status_code == 403, path


def test_the_staff_pages_find_and_show_a_student(suite, school):
    staff = school
    last = unique("Dubois-").capitalize()
    student = staff.create_student("Éloïse", last, unique("3E-"))
    page = staff.page("/gestion/eleves", params={"q": f"eloise {last.lower()}"})
    assert page.status_code == 200 and f'href="/gestion/eleves/{student["id"]}"' in page.text
    detail = staff.page(f"/gestion/eleves/{student['id']}")
    assert detail.status_code == 200 and f"<h1>Éloïse {last}</h1>" in detail.text
    assert student["wallets"][0]["structured_communication"] in detail.text
    assert staff.page("/gestion/eleves/no-such-id").status_code == 404
    moving = staff.page("/gestion/eleves/changer-de-classe")
    assert moving.status_code == 200 and student["class_name"] in moving.text


def test_the_statement_of_account_adds_up_to_finances_cents(suite, school):
    """Through the real finance: a transfer credits the wallet, a sale and an invoice paid from it
    debit it; the statement page's opening and closing balances and its invoices agree with the API."""
    staff = new_school(suite)
    expect(staff.put("/admin/settings", json={**SETTINGS, "current_password": staff.password}), 200)
    expect(staff.post("/admin/wallet-types", json={"name": "Repas"}), 201)
    student = staff.create_student("Noor", unique("Peeters").capitalize(), unique("4A-"))
    new_family(suite, staff, [student], first_name="Els")
    wallet = student["wallets"][0]
    digits = wallet["structured_communication"].strip("+").replace("/", "")
    statement = build_camt053([Mv(2500, ogm=digits, counterparty_name="PEETERS ELS", booked_on=today())])
    expect(staff.post("/admin/bank-statements", files={"file": ("extrait.xml", statement, "text/xml")}), 201)
    sale = expect(
        staff.post(
            "/admin/sales",
            json={
                "student_id": student["id"],
                "wallet_id": wallet["id"],
                "lines": [{"label": "Repas chaud", "quantity": 2, "unit_price_cents": 375}],
            },
            headers={"Idempotency-Key": unique("sale-")},
        ),
        201,
    ).json()
    assert sale["balance_cents"] == 1750
    expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": student["id"],
                "title": "Théâtre",
                "due_on": (today() + dt.timedelta(days=20)).isoformat(),
                "lines": [{"label": "Place", "quantity": 1, "unit_price_cents": 1200}],
            },
        ),
        201,
    )

    page = staff.page(f"/gestion/eleves/{student['id']}/releve-de-compte")
    assert page.status_code == 200, page.text
    text = page.text.replace("&#39;", "'")
    table = text[text.index(f'id="wallet-{wallet["id"]}"') :]
    table = table[: table.index("</table>")]
    assert "Repas chaud" in table
    assert '<td class="num opening"><span class="cell-label">Solde : </span>0,00\xa0€' in table
    assert '<td class="num closing"><span class="cell-label">Solde : </span>17,50\xa0€' in table
    assert "+25,00\xa0€ / −7,50\xa0€" in table
    assert "Théâtre" in text and 'id="remaining-total">12,00\xa0€' in text
    # the statement for yesterday: nothing had happened yet
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    before = staff.page(
        f"/gestion/eleves/{student['id']}/releve-de-compte", params={"from": yesterday, "to": yesterday}
    ).text
    assert '<td class="num closing"><span class="cell-label">Solde : </span>0,00\xa0€' in before
    assert "Repas chaud" not in before
