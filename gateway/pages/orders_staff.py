"""Staff pages of textbook orders (issue #17), under /gestion/commandes: the periods with their order
counts, a new period, a period's page (its orders: who, class, which books, paid or not; the totals
per book to hand out; the distribution CSV), its change, an item added, an item withdrawn after a
confirmation page (no script needed). They reach the same ``calls.orders`` functions as the API."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls import orders
from gateway.i18n import current_lang, form_cents
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.dates import BRUSSELS, format_instant
from kit.errors import InvalidRequest, NotFound

bp = Blueprint("orders_staff", __name__)

PERIOD_FIELDS = ("title", "notes", "opens_at", "closes_at", "classes")
ITEM_FIELDS = ("subject", "title", "comment", "type", "price")
PAGE_SIZE = 50

PERIOD_ERRORS = {
    "title": lambda: _("Indiquez un titre de 200 caractères au plus."),
    "notes": lambda: _("Les remarques comptent 5000 caractères au plus."),
    "opens_at": lambda: _("Indiquez la date et l'heure d'ouverture."),
    "closes_at": lambda: _("Indiquez une date et une heure de clôture après l'ouverture."),
    "class_names": lambda: _("Chaque classe compte 50 caractères au plus, séparées par des virgules."),
}
ITEM_ERRORS = {
    "subject": lambda: _("Indiquez la matière."),
    "title": lambda: _("Indiquez le titre du livre."),
    "comment": lambda: _("Le commentaire compte 2000 caractères au plus."),
    "type": lambda: _("Choisissez achat ou location."),
    "price_cents": lambda: _("Indiquez un prix en euros, par exemple 12,50."),
}


def _local(instant: str) -> datetime:
    return datetime.fromisoformat(instant).astimezone(BRUSSELS)


def _period_view(p) -> dict:
    lang = current_lang()
    return {
        "id": p.id,
        "title": p.title,
        "notes": p.notes,
        "opens_at": p.opens_at,
        "closes_at": p.closes_at,
        "opens": format_instant(_local(p.opens_at), lang),
        "closes": format_instant(_local(p.closes_at), lang),
        "classes": ", ".join(p.class_names) or _("Toutes les classes"),
        "orders_count": p.orders_count,
    }


def _wall_clock(value: str) -> str:
    """A ``datetime-local`` field (the school's clock) as an RFC 3339 instant; as typed if odd (the
    service then names the field)."""
    value = (value or "").strip()
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (dt if dt.tzinfo else dt.replace(tzinfo=BRUSSELS)).isoformat()


def _period_form(p=None) -> dict[str, str]:
    if p is None:
        return {k: request.form.get(k, "") for k in PERIOD_FIELDS}
    return {
        "title": p.title,
        "notes": p.notes,
        "opens_at": _local(p.opens_at).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": _local(p.closes_at).strftime("%Y-%m-%dT%H:%M"),
        "classes": ", ".join(p.class_names),
    }


def _period_values(form: dict[str, str]) -> dict:
    classes = [c.strip() for c in re.split(r"[,;]", form["classes"]) if c.strip()]
    if any(len(c) > 50 for c in classes) or len(classes) > 200:
        raise InvalidRequest("bad classes", fields={"class_names": "at most 50 characters each"})
    if len(form["title"]) > 200 or len(form["notes"]) > 5000:
        raise InvalidRequest(
            "too long",
            fields={n: "too long" for n, m in (("title", 200), ("notes", 5000)) if len(form[n]) > m},
        )
    return {
        "title": form["title"],
        "notes": form["notes"],
        "opens_at": _wall_clock(form["opens_at"]),
        "closes_at": _wall_clock(form["closes_at"]),
        "class_names": classes,
    }


def _errors(err: InvalidRequest, said: dict) -> dict[str, str]:
    out = {
        ("classes" if n == "class_names" else "price" if n == "price_cents" else n): said[n]()
        for n in err.fields
        if n in said
    }
    return out or {"form": _("Le formulaire n'a pas pu être enregistré. Vérifiez les champs.")}


def _period(period_id: str):
    p = orders.find_period(period_id)
    if p is None:
        raise NotFound(_("Cette période de commande n'existe pas, ou n'est pas de votre école."))
    return p


def _render_period_form(form: dict, errors: dict, period=None):
    return render_template("orders_staff/period_form.html", form=form, errors=errors, period=period), (
        400 if errors else 200
    )


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/gestion/commandes")
@login_required
def periods():
    require_staff()
    return render_template(
        "orders_staff/periods.html", periods=[_period_view(p) for p in orders.list_periods()]
    )


@bp.route("/gestion/commandes/nouvelle", methods=["GET", "POST"])
@login_required
def new_period():
    require_staff()
    if request.method == "GET":
        return _render_period_form(dict.fromkeys(PERIOD_FIELDS, ""), {})
    form = _period_form()
    try:
        period_id = orders.create_period(**_period_values(form))
    except InvalidRequest as err:
        return _render_period_form(form, _errors(err, PERIOD_ERRORS))
    flash(_("Période « %(title)s » créée : ajoutez-y les livres.", title=form["title"].strip()), "success")
    return redirect(url_for("orders_staff.new_item", period_id=period_id), code=303)


@bp.get("/gestion/commandes/<period_id>")
@login_required
def period(period_id: str):
    require_staff()
    p = _period(period_id)
    cursor = (request.args.get("cursor") or "").strip()[:500]
    try:
        items, next_cursor = orders.period_orders(p.id, PAGE_SIZE, cursor)
    except InvalidRequest:
        return redirect(url_for("orders_staff.period", period_id=p.id), code=303)
    totals = orders.period_totals(p.id)
    lang = current_lang()
    for o in items:
        o["placed_label"] = format_instant(_local(o["placed_at"]), lang)
    return render_template(
        "orders_staff/period.html",
        period=_period_view(p),
        orders=items,
        next_cursor=next_cursor,
        paged=bool(cursor),
        totals=totals,
        to_hand_out=sum(t.ordered for t in totals),
    )


@bp.route("/gestion/commandes/<period_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_period(period_id: str):
    require_staff()
    p = _period(period_id)
    if request.method == "GET":
        return _render_period_form(_period_form(p), {}, _period_view(p))
    form = _period_form()
    try:
        saved = orders.update_period(p.id, _period_values(form))
    except InvalidRequest as err:
        return _render_period_form(form, _errors(err, PERIOD_ERRORS), _period_view(p))
    flash(_("Période « %(title)s » modifiée.", title=saved.title), "success")
    return redirect(url_for("orders_staff.period", period_id=p.id), code=303)


@bp.route("/gestion/commandes/<period_id>/livres/nouveau", methods=["GET", "POST"])
@login_required
def new_item(period_id: str):
    require_staff()
    p = _period(period_id)
    form = (
        {k: request.form.get(k, "") for k in ITEM_FIELDS}
        if request.method == "POST"
        else {
            **dict.fromkeys(ITEM_FIELDS, ""),
            "type": "purchase",
        }
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if len(form["subject"]) > 120 or len(form["title"]) > 300 or len(form["comment"]) > 2000:
                raise InvalidRequest("too long", fields={"title": "too long"})
            if form["type"] not in ("purchase", "loan"):
                raise InvalidRequest("bad type", fields={"type": "purchase | loan"})
            cents = form_cents(form["price"], message="bad price", fields={"price_cents": "euros"})
            orders.add_item(
                p.id,
                subject=form["subject"],
                title=form["title"],
                comment=form["comment"],
                type=form["type"],
                price_cents=cents,
                key="",
                reference="",
            )
        except InvalidRequest as err:
            errors = _errors(err, ITEM_ERRORS)
        else:
            flash(_("« %(title)s » ajouté au catalogue.", title=form["title"].strip()), "success")
            if request.form.get("next") == "another":
                return redirect(url_for("orders_staff.new_item", period_id=p.id), code=303)
            return redirect(url_for("orders_staff.period", period_id=p.id) + "#totals-title", code=303)
    return render_template("orders_staff/item_form.html", period=_period_view(p), form=form, errors=errors), (
        400 if errors else 200
    )


@bp.route("/gestion/commandes/<period_id>/livres/<item_id>/retirer", methods=["GET", "POST"])
@login_required
def withdraw_item(period_id: str, item_id: str):
    """A confirmation page first; its form withdraws the item (placed orders keep it)."""
    require_staff()
    p = _period(period_id)
    item = next((t for t in orders.period_totals(p.id) if t.item_id == item_id), None)
    if item is None:
        raise NotFound(_("Ce livre n'est pas au catalogue de cette période."))
    if request.method == "GET":
        return render_template("orders_staff/item_withdraw.html", period=_period_view(p), item=item)
    orders.withdraw_item(p.id, item.item_id)
    flash(
        _("« %(title)s » retiré du catalogue : les commandes déjà passées le gardent.", title=item.title),
        "success",
    )
    return redirect(url_for("orders_staff.period", period_id=p.id) + "#totals-title", code=303)
