"""The till (issue #17), /gestion/caisse: the canteen's or the school shop's counter on a tablet. Find
a child by name or class, see their wallets, tap the items of the price list into a cart, "Encaisser"
books the sale from the chosen wallet once per cart (its Idempotency key is drawn when the child is
chosen and travels with the cart), then the next child.

Without JavaScript everything is a plain form: the cart travels in the URL (``panier=<item>:<qty>,…``),
each item's button carries the cart it makes, so a tap is one GET and a reload changes nothing.
gateway/static/till.js keeps the same cart in the page (no request per tap), asks the same routes for
parts of the page (``X-Till-Fragment: 1``: the till without its frame; /gestion/caisse/eleves: the
search results) and posts the same sale form. The price list is managed in ``pages/till_items.py``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls import till
from gateway.i18n import eur
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import Conflict, NotFound

bp = Blueprint("till", __name__)

MAX_QUANTITY = 99
MAX_CART_LINES = 50
FRAGMENT_HEADER = "X-Till-Fragment"


# -- the cart: ``<item id>:<quantity>`` pairs, in the order first tapped ------------------------------


def parse_cart(text: str) -> dict[str, int]:
    """A cart from its text; a part that is not ``<id>:<1-99>`` is left out, an id met twice adds up."""
    cart: dict[str, int] = {}
    for part in (text or "").split(",")[: MAX_CART_LINES * 2]:
        item_id, _sep, qty = part.strip().partition(":")
        if not item_id or len(item_id) > 36 or not qty.isdigit():
            continue
        total = cart.get(item_id, 0) + int(qty)
        if total >= 1 and (item_id in cart or len(cart) < MAX_CART_LINES):
            cart[item_id] = min(total, MAX_QUANTITY)
    return cart


def cart_text(cart: dict[str, int]) -> str:
    return ",".join(f"{i}:{q}" for i, q in cart.items() if q > 0)


def cart_with(cart: dict[str, int], item_id: str, delta: int) -> str:
    """The cart's text once ``item_id`` has ``delta`` more (fewer), between 0 and MAX_QUANTITY."""
    changed = dict(cart)
    changed[item_id] = max(0, min(MAX_QUANTITY, changed.get(item_id, 0) + delta))
    return cart_text(changed)


# -- what the page shows ----------------------------------------------------------------------------


def _name(s) -> str:
    return " ".join(p for p in (s.first_name, s.last_name) if p)


def _result_view(s) -> dict[str, str]:
    return {
        "id": s.id,
        "name": _name(s),
        "class_name": s.class_name,
        "href": url_for("till.index", eleve=s.id),
    }


@dataclass
class Counter:
    """The till for one child (or none yet): the view the templates render."""

    q: str = ""
    results: list[dict] | None = None
    student: dict | None = None
    wallets: list[dict] = field(default_factory=list)
    wallet: dict | None = None
    items: list[dict] = field(default_factory=list)
    in_cart: list[dict] = field(default_factory=list)  # the cart's lines, in the order tapped
    cart: str = ""
    total_cents: int = 0
    key: str = ""
    error: str = ""
    notice: str = ""
    focus_search: bool = True

    @property
    def short(self) -> bool:
        """The cart costs more than the chosen wallet holds (finance refuses it: said beforehand)."""
        return self.wallet is not None and self.total_cents > self.wallet["balance_cents"]


def _link(student_id: str, wallet_id: str, cart: str, key: str) -> str:
    params = {"eleve": student_id, "portefeuille": wallet_id, "panier": cart, "cle": key}
    return url_for("till.index") + "?" + urlencode({k: v for k, v in params.items() if v})


def counter_for(
    student_id: str, wallet_id: str, cart: dict[str, int], key: str, *, loaded: tuple | None = None
) -> Counter:
    """The till for ``student_id``: their wallets (``wallet_id``, else the first, chosen), the items
    sold from that wallet's type (or from any), the cart kept to those items."""
    student, wallets, items = loaded or till.counter(student_id)
    key = key or str(uuid.uuid4())
    chosen = next((w for w in wallets if w.id == wallet_id), wallets[0] if wallets else None)
    offered = [
        i
        for i in items
        if i.active
        and not i.archived
        and chosen is not None
        and i.wallet_type_id in ("", chosen.wallet_type_id)
    ]
    cart = {i: q for i, q in cart.items() if any(item.id == i for item in offered)}
    text = cart_text(cart)
    wallet_id = chosen.id if chosen else ""
    view = Counter(
        student={
            "id": student.id,
            "name": _name(student),
            "class_name": student.class_name,
            "left": student.status == "left",
        },
        wallets=[
            {
                "id": w.id,
                "name": w.name,
                "balance_cents": w.balance_cents,
                "balance": eur(w.balance_cents),
                "current": chosen is not None and w.id == chosen.id,
                "href": _link(student.id, w.id, text, key),
            }
            for w in wallets
        ],
        cart=text,
        key=key,
        focus_search=False,
    )
    view.wallet = next((w for w in view.wallets if w["current"]), None)
    for i in offered:
        qty = cart.get(i.id, 0)
        view.total_cents += qty * i.price_cents
        view.items.append(
            {
                "id": i.id,
                "label": i.label,
                "price_cents": i.price_cents,
                "price": eur(i.price_cents),
                "childcare": i.childcare,
                "qty": qty,
                "amount": eur(qty * i.price_cents),
                "plus": cart_with(cart, i.id, 1),
                "minus": cart_with(cart, i.id, -1),
                "none": cart_with(cart, i.id, -MAX_QUANTITY),
            }
        )
    by_id = {it["id"]: it for it in view.items}
    view.in_cart = [by_id[i] for i in cart]
    return view


def _render(view: Counter, status: int = 200):
    """The till page, or the till alone when till.js asks for it (``X-Till-Fragment: 1``; the answer
    says it is one, so the script never swaps an error page or the sign-in form into the till)."""
    if request.headers.get(FRAGMENT_HEADER) == "1":
        return render_template("till/_till.html", till=view), status, {FRAGMENT_HEADER: "1"}
    return render_template("till/index.html", till=view), status


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/gestion/caisse")
@login_required
def index():
    require_staff()
    args = request.args
    student_id = (args.get("eleve") or "").strip()[:36]
    if not student_id:
        q = " ".join((args.get("q") or "").split())[:100]
        results = [_result_view(s) for s in till.search_students(q)] if q else None
        return _render(Counter(q=q, results=results))
    try:
        view = counter_for(
            student_id,
            (args.get("portefeuille") or "").strip()[:36],
            parse_cart(args.get("panier", "")),
            (args.get("cle") or "").strip()[:100],
        )
    except NotFound:
        return _render(Counter(error=_("Cet élève n'est pas (ou plus) un élève de votre école.")), 404)
    return _render(view)


@bp.get("/gestion/caisse/eleves")
@login_required
def results():
    """The search's results alone (till.js asks them as the name or class is typed)."""
    require_staff()
    q = " ".join((request.args.get("q") or "").split())[:100]
    found = [_result_view(s) for s in till.search_students(q)] if q else None
    return (
        render_template("till/_results.html", till=Counter(q=q, results=found)),
        200,
        {FRAGMENT_HEADER: "1"},
    )


@bp.post("/gestion/caisse/encaisser")
@login_required
def sell():
    """Book the cart from the chosen wallet, once per key. A short balance books nothing and says
    so; success shows the new balance and the search for the next child."""
    require_staff()
    form = request.form
    student_id = (form.get("eleve") or "").strip()[:36]
    wallet_id = (form.get("portefeuille") or "").strip()[:36]
    key = (form.get("cle") or "").strip()[:100]
    cart = parse_cart(form.get("panier", ""))
    if not student_id:
        return redirect(url_for("till.index"), code=303)
    try:
        loaded = till.counter(student_id)
    except NotFound:
        return _render(Counter(error=_("Cet élève n'est pas (ou plus) un élève de votre école.")), 404)
    view = counter_for(student_id, wallet_id, cart, key, loaded=loaded)
    items = {i.id: i for i in loaded[2]}
    if not view.cart:
        view.error = _("Le panier est vide : touchez un article pour l'ajouter.")
        return _render(view, 400)
    if view.cart != cart_text(cart) or not key or view.wallet is None or view.wallet["id"] != wallet_id:
        # an item left the price list (or the wallet is not the one the cart was made for)
        view.error = _("Le panier a changé : vérifiez-le avant d'encaisser.")
        return _render(view, 409)
    try:
        sold = till.sell(student_id, wallet_id, list(cart.items()), items, key)
    except Conflict as err:
        said = _refusal(err, view)
        if err.code == "idempotency_key_reused":  # a new cart, a new key
            view = counter_for(student_id, wallet_id, cart, str(uuid.uuid4()), loaded=loaded)
        view.error = said
        return _render(view, 409)
    except NotFound:
        view.error = _(
            "Cet élève, ce portefeuille ou un article n'est plus disponible. Rien n'a été encaissé."
        )
        return _render(view, 404)
    assert view.student is not None and view.wallet is not None
    notice = _(
        "Vendu à %(name)s : %(amount)s du portefeuille %(wallet)s. Nouveau solde : %(balance)s.",
        name=view.student["name"],
        amount=eur(sold.amount_cents),
        wallet=view.wallet["name"],
        balance=eur(sold.balance_cents),
    )
    if request.headers.get(FRAGMENT_HEADER) == "1":
        return _render(Counter(notice=notice))
    flash(notice, "success")
    return redirect(url_for("till.index"), code=303)


def _refusal(err: Conflict, view: Counter) -> str:
    assert view.wallet is not None and view.student is not None
    if err.code == "insufficient_balance":
        return _(
            "Solde insuffisant : le portefeuille %(wallet)s de %(name)s contient %(balance)s, le panier "
            "coûte %(total)s. Rien n'a été encaissé.",
            wallet=view.wallet["name"],
            name=view.student["name"],
            balance=view.wallet["balance"],
            total=eur(view.total_cents),
        )
    if err.code == "student_left":
        return _(
            "%(name)s a quitté l'école : plus de vente possible. Rien n'a été encaissé.",
            name=view.student["name"],
        )
    if err.code == "idempotency_key_reused":
        return _("Ce panier a déjà été encaissé avec un autre contenu. Vérifiez-le et encaissez à nouveau.")
    return _("La vente est refusée. Rien n'a été encaissé.")
