"""The till in-process against fake services (issue #17): the price list's JSON routes (shapes, the
fields passed on and only those, finance's refusals), POST /admin/sales with childcare lines, and the
pages /gestion/caisse (the search by name or class, a child's wallets and the items sold from the
chosen one, the cart carried in the URL, a sale booked once per cart key, a short balance refused with
nothing booked, the parts till.js asks for) and /gestion/caisse/articles, in fr/nl/en.

The gateway reaches TillService on finance's channel: conftest's fake server carries a fake of it
beside the fake FinanceService (``fakes.on("till", ...)``)."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, till_pb2
from gateway.calls.till import sale_lines
from gateway.pages.till import cart_with, parse_cart
from gateway.tests.conftest import form_fields
from kit.errors import Conflict, InvalidRequest

REPAS, ACTIVITES = "wt-repas", "wt-activites"
SOUP = till_pb2.TillItem(id="it-soup", label="Soupe", price_cents=120, position=0, active=True)
CARE = till_pb2.TillItem(
    id="it-care", label="Garderie du soir", price_cents=250, childcare=True, days=2, position=1, active=True
)
MEAL = till_pb2.TillItem(
    id="it-meal",
    label="Repas chaud",
    price_cents=395,
    wallet_type_id=REPAS,
    wallet_type_name="Repas",
    position=2,
    active=True,
)
TRIP = till_pb2.TillItem(
    id="it-trip", label="Piscine", price_cents=300, wallet_type_id=ACTIVITES, active=True
)
OFF = till_pb2.TillItem(id="it-off", label="Glace", price_cents=150, active=False)
ITEMS = [SOUP, CARE, MEAL, TRIP, OFF]
EMMA = auth_pb2.Student(id="s-emma", first_name="Emma", last_name="Peeters", class_name="3A", status="active")
LEO = auth_pb2.Student(id="s-leo", first_name="Léo", last_name="Dubois", class_name="3A", status="active")
ZOE = auth_pb2.Student(id="s-zoe", first_name="Zoé", last_name="Lambert3A", class_name="5B", status="active")
WALLETS = [
    finance_pb2.Wallet(
        id="w-repas", student_id="s-emma", name="Repas", balance_cents=500, wallet_type_id=REPAS
    ),
    finance_pb2.Wallet(
        id="w-act", student_id="s-emma", name="Activités", balance_cents=1000, wallet_type_id=ACTIVITES
    ),
]


def item_json(**over):
    return {
        "id": "it-soup",
        "label": "Soupe",
        "price_cents": 120,
        "wallet_type_id": None,
        "wallet_type_name": None,
        "childcare": False,
        "days": 0,
        "position": 0,
        "active": True,
        "archived": False,
        "updated_at": "",
        **over,
    }


def saved(req: till_pb2.SaveTillItemRequest) -> till_pb2.SaveTillItemResponse:
    item = till_pb2.TillItem(id=req.item_id or "it-new", label=req.label, price_cents=req.price_cents)
    return till_pb2.SaveTillItemResponse(item=item, created=not req.item_id)


def set_fields(req) -> set[str]:
    return {f.name for f, _v in req.ListFields()}


@pytest.fixture
def counter(fakes):
    """Emma's wallets, the school's students and the price list, as the services answer them."""

    def students(req: auth_pb2.ListStudentsRequest) -> auth_pb2.ListStudentsResponse:
        everyone = [EMMA, LEO, ZOE]
        if req.student_ids:
            return auth_pb2.ListStudentsResponse(students=[s for s in everyone if s.id in req.student_ids])
        if req.class_name:
            return auth_pb2.ListStudentsResponse(
                students=[s for s in everyone if s.class_name == req.class_name]
            )
        return auth_pb2.ListStudentsResponse(
            students=[s for s in everyone if req.q.lower() in f"{s.first_name} {s.last_name}".lower()]
        )

    fakes.on("auth", "ListStudents", students)
    fakes.on("finance", "ListWallets", finance_pb2.ListWalletsResponse(wallets=WALLETS))
    fakes.on("till", "ListTillItems", till_pb2.ListTillItemsResponse(items=ITEMS))
    return fakes


# -- the cart's text ----------------------------------------------------------------------------------


def test_the_cart_reads_its_text_and_each_button_carries_the_cart_it_makes():
    assert parse_cart("a:2,b:1,a:1,bad,c:x,:3,d:0") == {"a": 3, "b": 1}
    assert parse_cart("a:150") == {"a": 99}
    assert cart_with({"a": 2, "b": 1}, "a", -1) == "a:1,b:1"
    assert cart_with({"a": 1}, "a", -1) == ""
    assert cart_with({"a": 1}, "c", 1) == "a:1,c:1"


# -- the till page ------------------------------------------------------------------------------------


def login(client, who) -> None:
    client.set_cookie("cartable_session", who.token)


def said(resp) -> str:
    """The answer's text as read: entities decoded, no-break spaces as spaces."""
    return htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")


def test_the_till_opens_on_the_search_focused(client, counter):
    login(client, counter.staff())
    resp = client.get("/gestion/caisse")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert re.search(r'<input id="till-q"[^>]*autofocus', html)
    assert 'href="/gestion/caisse" aria-current="page"' in html
    assert 'id="till-announce"' in html and "till.js" in html


def test_a_search_finds_a_class_first_then_names_once_each(client, counter):
    login(client, counter.staff())
    html = client.get("/gestion/caisse?q=3a").get_data(as_text=True)
    asked = counter.requests("auth", "ListStudents")
    assert {(r.class_name, r.q) for r in asked} == {("3a", ""), ("3A", ""), ("", "3a")}
    assert all(r.status == "active" for r in asked)
    names = re.findall(r'class="till-result-name">([^<]+)<', html)
    assert names == ["Emma Peeters", "Léo Dubois", "Zoé Lambert3A"]  # the class, then the name match
    assert "3 élèves trouvés" in html
    assert 'href="/gestion/caisse?eleve=s-emma"' in html


def test_the_results_alone_answer_the_script(client, counter):
    login(client, counter.staff())
    resp = client.get("/gestion/caisse/eleves?q=zo")
    assert resp.headers["X-Till-Fragment"] == "1"
    html = resp.get_data(as_text=True)
    assert "<html" not in html and "1 élève trouvé" in html and "Zoé Lambert3A" in html
    none = said(client.get("/gestion/caisse/eleves?q=xyz"))
    assert "Aucun élève de l'école ne correspond à « xyz »." in none


def test_a_child_shows_their_wallets_and_the_items_sold_from_the_chosen_one(client, counter):
    login(client, counter.staff())
    html = client.get("/gestion/caisse?eleve=s-emma").get_data(as_text=True)
    assert "Emma Peeters" in html and "5,00" in html and "10,00" in html
    assert re.search(r'href="[^"]*portefeuille=w-repas[^"]*" data-till-nav aria-current="true"', html)
    key = form_fields(html, "/gestion/caisse/encaisser")["cle"]
    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    labels = re.findall(r'class="till-item-label">([^<]+)<', html)
    assert labels == [
        "Soupe",
        "Garderie du soir",
        "Repas chaud",
    ]  # not the trip (Activités), nor the ice cream
    assert 'value="it-soup:1"' in html
    html = client.get("/gestion/caisse?eleve=s-emma&portefeuille=w-act").get_data(as_text=True)
    assert re.findall(r'class="till-item-label">([^<]+)<', html) == ["Soupe", "Garderie du soir", "Piscine"]


def test_the_cart_in_the_url_gives_its_lines_total_and_short_balance(client, counter):
    login(client, counter.staff())
    url = "/gestion/caisse?eleve=s-emma&portefeuille=w-repas&cle=k-1&panier=it-meal:1,it-soup:2,it-trip:1"
    html = client.get(url).get_data(as_text=True)
    fields = form_fields(html, "/gestion/caisse/encaisser")
    assert fields["panier"] == "it-meal:1,it-soup:2"  # the trip is not sold from Repas
    assert fields["cle"] == "k-1" and fields["eleve"] == "s-emma" and fields["portefeuille"] == "w-repas"
    assert "6,35" in html  # 3,95 + 2 × 1,20
    assert 'value="it-meal:1,it-soup:1"' in html  # the soup's minus button
    assert re.search(r'class="flash flash-error till-short" data-short>', html)  # 6,35 > 5,00
    short = client.get(url.replace("it-meal:1,", "")).get_data(as_text=True)
    assert re.search(r'till-short" data-short hidden', short)


def test_the_till_alone_answers_the_script(client, counter):
    login(client, counter.staff())
    resp = client.get("/gestion/caisse?eleve=s-emma", headers={"X-Till-Fragment": "1"})
    html = resp.get_data(as_text=True)
    assert resp.headers["X-Till-Fragment"] == "1" and "<html" not in html and "Emma Peeters" in html


def test_another_schools_child_is_not_found_on_the_till(client, counter):
    login(client, counter.staff())
    resp = client.get("/gestion/caisse?eleve=someone-else")
    assert resp.status_code == 404
    assert "Cet élève n'est pas (ou plus) un élève de votre école." in said(resp)


def sell_form(client, url="/gestion/caisse?eleve=s-emma&cle=k-cart&panier=it-care:1,it-soup:2") -> dict:
    return form_fields(client.get(url).get_data(as_text=True), "/gestion/caisse/encaisser")


def test_a_sale_is_booked_from_the_cart_once_per_key_and_says_the_new_balance(client, counter):
    login(client, counter.staff())
    counter.on(
        "finance",
        "RecordSale",
        finance_pb2.RecordSaleResponse(id="sale-1", balance_cents=10, amount_cents=490),
    )
    form = sell_form(client)
    resp = client.post("/gestion/caisse/encaisser", data=form)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/caisse")
    (req,) = counter.requests("finance", "RecordSale")
    assert (req.student_id, req.wallet_id, req.idempotency_key) == ("s-emma", "w-repas", "k-cart")
    assert [(ln.label, ln.quantity, ln.unit_price_cents, ln.childcare, ln.days) for ln in req.lines] == [
        ("Garderie du soir", 1, 250, True, 2),  # the item's 2 days of care per unit
        ("Soupe", 2, 120, False, 0),
    ]
    html = said(client.get("/gestion/caisse"))
    assert "Vendu à Emma Peeters : 4,90 € du portefeuille Repas. Nouveau solde : 0,10 €." in html
    assert re.search(r'<input id="till-q"[^>]*autofocus', html)
    client.post("/gestion/caisse/encaisser", data=form)  # the double tap: the same key again
    assert [r.idempotency_key for r in counter.requests("finance", "RecordSale")] == ["k-cart", "k-cart"]


def test_a_sale_asked_by_the_script_answers_the_fresh_till(client, counter):
    login(client, counter.staff())
    counter.on(
        "finance",
        "RecordSale",
        finance_pb2.RecordSaleResponse(id="sale-1", balance_cents=10, amount_cents=490),
    )
    resp = client.post("/gestion/caisse/encaisser", data=sell_form(client), headers={"X-Till-Fragment": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["X-Till-Fragment"] == "1"
    assert "<html" not in html and "Nouveau solde" in html and "data-announce" in html
    assert 'id="till-child-title"' not in html  # the next child


def test_a_short_balance_is_refused_clearly_and_the_cart_stays(client, counter):
    login(client, counter.staff())

    def short(_req):
        raise Conflict("the wallet holds 500 cents, the sale costs 635", code="insufficient_balance")

    counter.on("finance", "RecordSale", short)
    form = sell_form(client, "/gestion/caisse?eleve=s-emma&cle=k-2&panier=it-meal:1,it-soup:2")
    resp = client.post("/gestion/caisse/encaisser", data=form)
    assert resp.status_code == 409
    html = said(resp)
    assert re.search(
        r'role="alert"[^>]*>Solde insuffisant : le portefeuille Repas de Emma Peeters contient 5,00 €', html
    )
    assert "le panier coûte 6,35 €. Rien n'a été encaissé." in html
    kept = form_fields(resp.get_data(as_text=True), "/gestion/caisse/encaisser")
    assert (kept["panier"], kept["cle"]) == ("it-meal:1,it-soup:2", "k-2")


def test_a_cart_whose_item_left_the_price_list_is_not_booked(client, counter):
    login(client, counter.staff())
    form = sell_form(client)
    counter.on(
        "till", "ListTillItems", till_pb2.ListTillItemsResponse(items=[SOUP, MEAL])
    )  # the care is gone
    resp = client.post("/gestion/caisse/encaisser", data=form)
    assert resp.status_code == 409 and "Le panier a changé" in said(resp)
    assert counter.requests("finance", "RecordSale") == []


def test_a_sale_without_the_forms_csrf_token_is_refused(client, counter):
    login(client, counter.staff())
    form = sell_form(client)
    del form["csrf_token"]
    assert client.post("/gestion/caisse/encaisser", data=form).status_code == 400
    assert counter.requests("finance", "RecordSale") == []


@pytest.mark.parametrize(
    ("lang", "title", "sell"),
    [("fr", "Caisse", "Encaisser"), ("nl", "Kassa", "Afrekenen"), ("en", "Till", "Charge")],
)
def test_the_till_speaks_the_readers_language(client, counter, lang, title, sell):
    login(client, counter.staff())
    html = client.get(f"/gestion/caisse?eleve=s-emma&panier=it-soup:1&lang={lang}").get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html and f">{sell} <span data-total>" in html


# -- the price list's pages -----------------------------------------------------------------------------


@pytest.fixture
def wallet_types(fakes):
    fakes.on(
        "finance",
        "ListWalletTypes",
        finance_pb2.ListWalletTypesResponse(
            wallet_types=[
                finance_pb2.WalletType(id=REPAS, name="Repas"),
                finance_pb2.WalletType(id=ACTIVITES, name="Activités"),
            ]
        ),
    )
    return fakes


def test_the_price_list_page_lists_the_items_and_adds_one(client, counter, wallet_types):
    login(client, counter.staff())
    counter.on("till", "SaveTillItem", saved)
    html = client.get("/gestion/caisse/articles").get_data(as_text=True)
    assert "Garderie du soir" in html and "Tout portefeuille" in html and "garderie" in html
    assert "2 j. de garde par unité" in html and '<label for="days">Jours de garde par unité</label>' in html
    assert re.search(r'<input id="days" name="days" type="number"[^>]* value=""', html)
    form = form_fields(html, "/gestion/caisse/articles")
    form.update(label="Croissant", price="1,30", wallet_type=REPAS, childcare="yes", active="yes")
    resp = client.post("/gestion/caisse/articles", data=form)
    assert resp.status_code == 303
    (req,) = counter.requests("till", "SaveTillItem")
    assert (req.label, req.price_cents, req.wallet_type_id, req.childcare, req.active) == (
        "Croissant",
        130,
        REPAS,
        True,
        True,
    )
    assert not req.HasField("position") and req.idempotency_key == form["key"] and req.item_id == ""
    assert not req.HasField("days")  # empty: finance's default, 1 day per unit
    assert "« Croissant » ajouté à la caisse." in said(client.get("/gestion/caisse/articles"))


def test_a_bad_price_is_said_on_its_field_and_nothing_is_saved(client, counter, wallet_types):
    login(client, counter.staff())
    form = form_fields(
        client.get("/gestion/caisse/articles").get_data(as_text=True), "/gestion/caisse/articles"
    )
    form.update(label="Croissant", price="zéro")
    resp = client.post("/gestion/caisse/articles", data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="price-error"' in html and 'aria-invalid="true"' in html
    assert counter.requests("till", "SaveTillItem") == []


@pytest.mark.parametrize(("childcare", "days"), [("yes", "367"), ("yes", "-1"), ("yes", "deux"), (None, "2")])
def test_bad_days_of_care_are_said_on_their_field_and_nothing_is_saved(
    client, counter, wallet_types, childcare, days
):
    login(client, counter.staff())
    form = form_fields(
        client.get("/gestion/caisse/articles").get_data(as_text=True), "/gestion/caisse/articles"
    )
    form.update(label="Garderie", price="1,50", days=days)
    form.pop("childcare", None)
    if childcare:
        form["childcare"] = childcare
    resp = client.post("/gestion/caisse/articles", data=form)
    assert resp.status_code == 400
    html = htmllib.unescape(resp.get_data(as_text=True))
    assert 'id="days-error"' in html and "entre 0 et 366, pour un article de garderie uniquement" in html
    assert counter.requests("till", "SaveTillItem") == []


def test_finance_refusing_the_days_is_said_on_their_field(client, counter, wallet_types):
    login(client, counter.staff())

    def refused(_req):
        raise InvalidRequest("some fields are not valid", fields={"days": "0 to 366"})

    counter.on("till", "SaveTillItem", refused)
    form = form_fields(
        client.get("/gestion/caisse/articles").get_data(as_text=True), "/gestion/caisse/articles"
    )
    form.update(label="Garderie", price="1,50", childcare="yes", days="3")
    resp = client.post("/gestion/caisse/articles", data=form)
    assert resp.status_code == 400 and 'id="days-error"' in resp.get_data(as_text=True)
    assert counter.requests("till", "SaveTillItem")[0].days == 3


def test_an_item_is_changed_from_its_form_then_archived_after_a_confirmation(client, counter, wallet_types):
    login(client, counter.staff())
    counter.on("till", "SaveTillItem", saved)
    counter.on("till", "RemoveTillItem", till_pb2.RemoveTillItemResponse(item=CARE, archived_now=True))
    html = client.get("/gestion/caisse/articles/it-care").get_data(as_text=True)
    assert 'value="2,50"' in html and re.search(r'name="childcare" value="yes" checked', html)
    assert re.search(r'<input id="days" name="days" type="number"[^>]* value="2"', html)
    form = form_fields(html, "/gestion/caisse/articles/it-care")
    form.update(label="Garderie du soir", price="2,75", position="4", childcare="yes", days="3")
    del form["active"]  # unticked: off the till
    assert client.post("/gestion/caisse/articles/it-care", data=form).status_code == 303
    (req,) = counter.requests("till", "SaveTillItem")
    assert (req.item_id, req.price_cents, req.position, req.childcare, req.active, req.days) == (
        "it-care",
        275,
        4,
        True,
        False,
        3,
    )
    confirm = client.get("/gestion/caisse/articles/it-care/archiver").get_data(as_text=True)
    assert "Archiver « Garderie du soir » ?" in htmllib.unescape(confirm)
    fields = form_fields(confirm, "/gestion/caisse/articles/it-care/archiver")
    assert client.post("/gestion/caisse/articles/it-care/archiver", data=fields).status_code == 303
    assert counter.requests("till", "RemoveTillItem")[0].item_id == "it-care"
    assert client.get("/gestion/caisse/articles/unknown").status_code == 404


def test_a_till_sale_line_pays_for_the_items_days_times_the_quantity_at_most_a_year():
    lines = sale_lines([("it-care", 3), ("it-soup", 2)], {i.id: i for i in ITEMS})
    assert [(ln.childcare, ln.days) for ln in lines] == [(True, 6), (False, 0)]
    big = till_pb2.TillItem(id="it-big", label="Stage", price_cents=10, childcare=True, days=5, active=True)
    assert sale_lines([("it-big", 100)], {"it-big": big})[0].days == 366
    odd = till_pb2.TillItem(id="it-odd", label="Soupe", price_cents=10, days=4, active=True)
    assert sale_lines([("it-odd", 2)], {"it-odd": odd})[0].days == 0  # not childcare: no days


# -- every French string translated ---------------------------------------------------------------------

GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    GATEWAY / "pages" / "till.py",
    GATEWAY / "pages" / "till_items.py",
    *sorted((GATEWAY / "templates" / "till").glob("*.html")),
]


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_till_is_translated(lang):
    with (GATEWAY / "translations" / "till" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string}
    assert len(_msgids()) > 60
    assert sorted(_msgids() - translated) == []
