"""The back office's textbook orders in-process against fake services: the JSON rows (names and
classes from auth, leavers included; paid or not from finance, unknown when finance fails), the CSV
(sorted by class, student, subject; euros from cents; formula-safe), the PATCH body's checks, and the
pages /gestion/commandes (list, a period, the forms, the withdrawal's confirmation) in fr/nl/en."""

from __future__ import annotations

import csv
import io
import re

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2
from cartable.orders.v1 import orders_pb2 as pb
from kit.errors import InvalidRequest, NotFound

PERIOD = pb.OrderPeriod(
    id="per-1",
    title="Manuels 2027",
    notes="Avant le 15 août",
    opens_at="2026-08-01T08:00:00+00:00",
    closes_at="2026-08-15T20:00:00+00:00",
    class_names=["1A", "2B"],
    orders_count=2,
)
ORDERS = pb.ListPeriodOrdersResponse(
    orders=[
        pb.PeriodOrder(
            id="o-1",
            student_id="zoe",
            placed_at="2026-08-02T10:00:00+00:00",
            grand_total_cents=3255,
            invoice_id="inv-1",
            lines=[
                pb.PeriodOrderLine(
                    item_id="it-3", subject="Mathématiques", title="Actimath 1", type="loan", price_cents=1250
                ),
                pb.PeriodOrderLine(
                    item_id="it-1", subject="Français", title="=Grammaire", type="purchase", price_cents=2005
                ),
            ],
        ),
        pb.PeriodOrder(
            id="o-2",
            student_id="adam",
            placed_at="2026-08-03T10:00:00+00:00",
            grand_total_cents=890,
            invoice_id="inv-2",
            lines=[
                pb.PeriodOrderLine(
                    item_id="it-2", subject="Mathématiques", title="Cahier", type="purchase", price_cents=890
                )
            ],
        ),
    ]
)
TOTALS = pb.GetPeriodTotalsResponse(
    items=[
        pb.ItemTotal(
            item_id="it-1",
            subject="Français",
            title="=Grammaire",
            type="purchase",
            price_cents=2005,
            ordered=1,
        ),
        pb.ItemTotal(
            item_id="it-3",
            subject="Mathématiques",
            title="Actimath 1",
            type="loan",
            price_cents=1250,
            ordered=1,
            withdrawn=True,
        ),
        pb.ItemTotal(
            item_id="it-2",
            subject="Mathématiques",
            title="Cahier",
            type="purchase",
            price_cents=890,
            ordered=1,
        ),
    ]
)


def _students(req):
    people = {
        "zoe": auth_pb2.Student(
            id="zoe", first_name="Zoé", last_name="Wouters", class_name="2B", status="active"
        ),
        "adam": auth_pb2.Student(
            id="adam", first_name="Adam", last_name="Peeters", class_name="1A", status="left"
        ),
    }
    wanted = [people[i] for i in req.student_ids if i in people]
    if req.status == "left":
        return auth_pb2.ListStudentsResponse(students=[s for s in wanted if s.status == "left"])
    return auth_pb2.ListStudentsResponse(students=[s for s in wanted if s.status == "active"])


def _invoice(req):
    if req.invoice_id == "inv-2":
        raise NotFound("finance down for this one")
    return finance_pb2.GetInvoiceResponse(invoice=finance_pb2.Invoice(id=req.invoice_id, status="paid"))


@pytest.fixture
def staff(client, fakes):
    fakes.on("orders", "ListPeriods", pb.ListPeriodsResponse(periods=[PERIOD]))
    fakes.on("orders", "ListPeriodOrders", ORDERS)
    fakes.on("orders", "GetPeriodTotals", TOTALS)
    fakes.on("auth", "ListStudents", _students)
    fakes.on("finance", "GetInvoice", _invoice)
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


def auth(signed):
    return {"Authorization": f"Bearer {signed.token}"}


def test_the_orders_row_names_the_students_and_says_paid_or_not(client, fakes, staff):
    body = client.get("/api/v1/admin/order-periods/per-1/orders", headers=auth(staff)).get_json()
    zoe, adam = body["items"]
    assert (zoe["student_name"], zoe["class_name"], zoe["invoice_status"]) == ("Zoé Wouters", "2B", "paid")
    assert (adam["student_name"], adam["class_name"], adam["invoice_status"]) == (
        "Adam Peeters",
        "1A",
        "unknown",
    )
    assert set(zoe["lines"][0]) == {"item_id", "title", "type", "price_cents"}
    assert body["next_cursor"] is None
    (asked,) = fakes.requests("orders", "ListPeriodOrders")
    assert (asked.period_id, asked.limit) == ("per-1", 50)
    lookups = fakes.requests("auth", "ListStudents")
    assert [sorted(r.student_ids) for r in lookups] == [["adam", "zoe"], ["adam"]]  # the leaver asked again


def test_the_csv_is_sorted_by_class_student_subject_with_euros_from_cents(client, staff):
    r = client.get("/api/v1/admin/order-periods/per-1/orders.csv", headers=auth(staff))
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["class_name", "student_name", "student_id"]
    assert [(x[0], x[1], x[3], x[4], x[6]) for x in rows[1:]] == [
        ("1A", "Adam Peeters", "Mathématiques", "Cahier", "8.90"),
        ("2B", "Zoé Wouters", "Français", "'=Grammaire", "20.05"),
        ("2B", "Zoé Wouters", "Mathématiques", "Actimath 1", "12.50"),
    ]


def test_the_periods_and_totals_rows_keep_the_contracts_names(client, staff):
    (row,) = client.get("/api/v1/admin/order-periods", headers=auth(staff)).get_json()["items"]
    assert row == {
        "id": "per-1",
        "title": "Manuels 2027",
        "opens_at": PERIOD.opens_at,
        "closes_at": PERIOD.closes_at,
        "class_names": ["1A", "2B"],
        "orders_count": 2,
    }
    totals = client.get("/api/v1/admin/order-periods/per-1/totals", headers=auth(staff)).get_json()["items"]
    assert set(totals[0]) == {"item_id", "subject", "title", "type", "price_cents", "ordered"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"colour": "red"}, "colour"),
        ({"title": 3}, "title"),
        ({"class_names": "1A"}, "class_names"),
    ],
)
def test_a_bad_patch_is_refused_before_orders_is_asked(client, fakes, staff, body, field):
    r = client.patch("/api/v1/admin/order-periods/per-1", json=body, headers=auth(staff))
    assert r.status_code == 400 and field in r.get_json()["error"]["fields"]
    assert fakes.requests("orders", "UpdatePeriod") == []


def test_a_patch_sends_only_the_fields_given(client, fakes, staff):
    fakes.on("orders", "UpdatePeriod", pb.UpdatePeriodResponse(period=PERIOD))
    r = client.patch(
        "/api/v1/admin/order-periods/per-1", json={"notes": None, "class_names": []}, headers=auth(staff)
    )
    assert r.status_code == 200
    (req,) = fakes.requests("orders", "UpdatePeriod")
    assert (req.HasField("notes"), req.notes, req.HasField("title"), req.set_class_names) == (
        True,
        "",
        False,
        True,
    )


def test_the_period_page_shows_totals_orders_and_the_csv_link(client, staff):
    html = client.get("/gestion/commandes/per-1").get_data(as_text=True)
    assert "Zoé Wouters" in html and "Payée" in html and "Inconnu pour l" in html
    assert 'href="/api/v1/admin/order-periods/per-1/orders.csv"' in html
    assert "/gestion/commandes/per-1/livres/it-2/retirer" in html
    assert "/gestion/commandes/per-1/livres/it-3/retirer" not in html  # already withdrawn
    assert 'href="/gestion/commandes" aria-current="page"' in html or 'href="/gestion/commandes"' in html


@pytest.mark.parametrize(
    ("lang", "said"), [("fr", "Commandes de livres"), ("nl", "Boekenbestellingen"), ("en", "Book orders")]
)
def test_the_list_page_in_each_language(client, staff, lang, said):
    html = client.get(f"/gestion/commandes?lang={lang}").get_data(as_text=True)
    assert f"<h1>{said}</h1>" in html and "Manuels 2027" in html


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def test_the_new_period_form_ties_errors_to_their_fields(client, fakes, staff):
    def refuse(req):
        raise InvalidRequest("bad", fields={"closes_at": "must be after opens_at"})

    fakes.on("orders", "CreatePeriod", refuse)
    token = _csrf(client.get("/gestion/commandes/nouvelle").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "title": "X",
        "opens_at": "2026-09-01T08:00",
        "closes_at": "2026-08-01T08:00",
        "classes": "1A, 1B",
        "notes": "",
    }
    r = client.post("/gestion/commandes/nouvelle", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="closes_at-error"' in html and 'aria-invalid="true"' in html
    (req,) = fakes.requests("orders", "CreatePeriod")
    assert list(req.class_names) == ["1A", "1B"] and req.opens_at == "2026-09-01T08:00:00+02:00"


def test_an_item_is_withdrawn_after_its_confirmation(client, fakes, staff):
    fakes.on("orders", "WithdrawItem", pb.WithdrawItemResponse(withdrawn_now=True))
    html = client.get("/gestion/commandes/per-1/livres/it-2/retirer").get_data(as_text=True)
    assert fakes.requests("orders", "WithdrawItem") == []
    r = client.post("/gestion/commandes/per-1/livres/it-2/retirer", data={"csrf_token": _csrf(html)})
    assert r.status_code == 303
    (req,) = fakes.requests("orders", "WithdrawItem")
    assert (req.period_id, req.item_id) == ("per-1", "it-2")
    assert client.get("/gestion/commandes/per-1/livres/nope/retirer").status_code == 404


def test_an_item_is_added_with_its_price_in_euros(client, fakes, staff):
    fakes.on("orders", "AddItem", pb.AddItemResponse(id="it-9"))
    token = _csrf(client.get("/gestion/commandes/per-1/livres/nouveau").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "subject": "Sciences",
        "title": "Bio 1",
        "type": "loan",
        "price": "12,50",
        "comment": "",
    }
    assert client.post("/gestion/commandes/per-1/livres/nouveau", data=form).status_code == 303
    (req,) = fakes.requests("orders", "AddItem")
    assert (req.price_cents, req.type, req.period_id) == (1250, "loan", "per-1")
    bad = client.post("/gestion/commandes/per-1/livres/nouveau", data={**form, "price": "douze"})
    assert bad.status_code == 400 and 'id="price-error"' in bad.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_orders_pages_is_translated(lang):
    from pathlib import Path

    from babel.messages.extract import extract_from_file

    from gateway.tests.test_account_translations import KEYWORDS, _translated

    gateway = Path(__file__).resolve().parents[1]
    sources = [
        gateway / "pages" / "orders_staff.py",
        *sorted((gateway / "templates" / "orders_staff").glob("*.html")),
    ]
    found = set()
    for path in sources:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 80
    translated = _translated(lang)
    assert sorted(m for m in found if m not in translated) == []
