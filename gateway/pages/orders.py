"""Web pages: the order form of an open period, "Récapitulatif", "Je confirme" / "Commander"."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _

from gateway.calls.orders import catalog, place, summarize
from gateway.pages.account import current_child, parent_page
from gateway.shapes import catalog_json
from kit.errors import Conflict, InvalidRequest

bp = Blueprint("orders", __name__)


def _closed(period_id: str):
    return render_template("orders/closed.html", nav_active="orders"), 409


@bp.get("/commandes/<period_id>")
@parent_page
def form(period_id: str):
    try:
        data = catalog_json(catalog(period_id, current_child().id))
    except Conflict:
        return _closed(period_id)
    chosen = set(request.args.getlist("item_ids"))
    return render_template("orders/form.html", c=data, chosen=chosen, error=None, nav_active="orders")


@bp.post("/commandes/<period_id>/recapitulatif")
@parent_page
def summary(period_id: str):
    child = current_child()
    ids = request.form.getlist("item_ids")
    try:
        data = catalog_json(catalog(period_id, child.id))
        if not ids:
            raise InvalidRequest(_("Cochez au moins un article."))
        s = summarize(period_id, child.id, ids)
    except Conflict:
        return _closed(period_id)
    except InvalidRequest as err:
        return render_template(
            "orders/form.html", c=data, chosen=set(ids), error=err.message, nav_active="orders"
        ), 400
    return render_template(
        "orders/summary.html",
        c=data,
        s=s,
        item_ids=ids,
        key=str(uuid.uuid4()),
        error=None,
        nav_active="orders",
    )


@bp.post("/commandes/<period_id>/commander")
@parent_page
def order(period_id: str):
    child = current_child()
    ids = request.form.getlist("item_ids")
    key = request.form.get("idempotency_key", "")[:200]
    if request.form.get("confirm") != "yes":
        data = catalog_json(catalog(period_id, child.id))
        s = summarize(period_id, child.id, ids)
        return render_template(
            "orders/summary.html",
            c=data,
            s=s,
            item_ids=ids,
            key=key or str(uuid.uuid4()),
            error=_("Cochez « Je confirme » pour passer la commande."),
            nav_active="orders",
        ), 400
    try:
        placed = place(period_id, child.id, ids, key)
    except Conflict as err:
        if err.code == "period_closed":
            return _closed(period_id)
        raise
    if placed.checkout_url:
        return redirect(placed.checkout_url, code=303)
    return render_template("orders/done.html", placed=placed, nav_active="orders")
