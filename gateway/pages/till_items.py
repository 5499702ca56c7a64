"""The till's price list, /gestion/caisse/articles (issue #17): the items (price, the wallet they are
sold from, childcare and its days of care per unit, on the till or not, their order), one added (once per form: its Idempotency
key is drawn when the form is shown), one changed, one archived after a confirmation page. Plain forms;
they reach the same ``calls.till`` functions as the API (``api/till.py``)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cartable.finance.v1 import till_pb2
from gateway.calls import finance, till
from gateway.i18n import current_lang, eur, form_cents
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import InvalidRequest, NotFound
from kit.money import cents_to_decimal_str

bp = Blueprint("till_items", __name__)

FIELDS = ("label", "price", "wallet_type", "position", "days")
ERRORS = {
    "label": lambda: _("Indiquez le nom de l'article, en 120 caractères au plus."),
    "price": lambda: _("Indiquez un prix en euros supérieur à zéro, par exemple 1,20."),
    "wallet_type": lambda: _("Choisissez un portefeuille de l'école."),
    "position": lambda: _("Indiquez un rang entre 0 et 100000, ou laissez vide."),
    "days": lambda: _(
        "Indiquez un nombre de jours de garde entre 0 et 366, pour un article de garderie uniquement."
    ),
}
# finance's field names -> the form's
FORM_NAMES = {"price_cents": "price", "wallet_type_id": "wallet_type"}


def _form(item: till_pb2.TillItem | None = None) -> dict:
    if request.method == "POST":
        f = request.form
        return {
            "label": (f.get("label") or "").strip(),
            "price": (f.get("price") or "").strip(),
            "wallet_type": (f.get("wallet_type") or "").strip()[:36],
            "position": (f.get("position") or "").strip(),
            "days": (f.get("days") or "").strip()[:10],
            "childcare": f.get("childcare") == "yes",
            "active": f.get("active") == "yes",
            "key": (f.get("key") or "").strip()[:100],
        }
    if item is None:
        return {**dict.fromkeys(FIELDS, ""), "childcare": False, "active": True, "key": str(uuid.uuid4())}
    return {
        "label": item.label,
        "price": _typed(item.price_cents),
        "wallet_type": item.wallet_type_id,
        "position": str(item.position),
        "days": str(item.days) if item.childcare else "",
        "childcare": item.childcare,
        "active": item.active,
        "key": "",
    }


def _typed(cents: int) -> str:
    """An amount as the reader types it in the form (``1,20``; ``1.20`` in English)."""
    text = cents_to_decimal_str(cents)
    return text if current_lang() == "en" else text.replace(".", ",")


def _values(form: dict) -> dict:
    """The form as SaveTillItem's fields (InvalidRequest naming the form's bad fields)."""
    fields = {}
    if not form["label"] or len(form["label"]) > 120:
        fields["label"] = "required"
    try:
        cents = form_cents(form["price"], message="bad price")
    except InvalidRequest:
        cents = 0
    if cents < 1:
        fields["price"] = "euros"
    values: dict = {
        "label": form["label"],
        "price_cents": cents,
        "wallet_type_id": form["wallet_type"],
        "childcare": form["childcare"],
        "active": form["active"],
    }
    if form["position"]:
        if not form["position"].isdigit() or int(form["position"]) > 100_000:
            fields["position"] = "0 to 100000"
        else:
            values["position"] = int(form["position"])
    if form["days"]:
        # days of care per unit: only on a childcare item; empty, finance's default (1, or kept)
        if not form["days"].isdigit() or int(form["days"]) > 366 or not form["childcare"]:
            fields["days"] = "0 to 366, childcare only"
        else:
            values["days"] = int(form["days"])
    if fields:
        raise InvalidRequest("some fields are not valid", fields=fields)
    return values


def _errors(err: InvalidRequest) -> dict[str, str]:
    names = {FORM_NAMES.get(n, n) for n in err.fields}
    return {n: ERRORS[n]() for n in names if n in ERRORS} or {
        "form": _("L'article n'a pas pu être enregistré. Vérifiez les champs.")
    }


def _item_view(i: till_pb2.TillItem) -> dict:
    return {
        "id": i.id,
        "label": i.label,
        "price": eur(i.price_cents),
        "wallet": i.wallet_type_name or _("Tout portefeuille"),
        "childcare": i.childcare,
        "days": i.days,
        "active": i.active,
        "position": i.position,
    }


def _save(form: dict, item_id: str = "") -> till_pb2.SaveTillItemResponse:
    try:
        return till.save_item(item_id, key=form["key"] if not item_id else "", **_values(form))
    except NotFound as err:
        if item_id and err.message == "no such till item":
            raise
        raise InvalidRequest("no such wallet type", fields={"wallet_type": "unknown"}) from None


def _render_list(form: dict, errors: dict, status: int = 200):
    items = till.list_items()
    return render_template(
        "till/items.html",
        items=[_item_view(i) for i in items],
        wallet_types=finance.list_wallet_types(),
        form=form,
        errors=errors,
    ), status


# -- routes -------------------------------------------------------------------------------------------


@bp.route("/gestion/caisse/articles", methods=["GET", "POST"])
@login_required
def index():
    require_staff()
    form = _form()
    if request.method == "GET":
        return _render_list(form, {})
    try:
        made = _save(form)
    except InvalidRequest as err:
        return _render_list(form, _errors(err), 400)
    flash(_("« %(label)s » ajouté à la caisse.", label=made.item.label), "success")
    return redirect(url_for("till_items.index") + "#items-title", code=303)


@bp.route("/gestion/caisse/articles/<item_id>", methods=["GET", "POST"])
@login_required
def edit(item_id: str):
    require_staff()
    item = _item(item_id)
    form = _form(item)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            saved = _save(form, item.id)
        except InvalidRequest as err:
            errors = _errors(err)
        else:
            flash(_("« %(label)s » modifié.", label=saved.item.label), "success")
            return redirect(url_for("till_items.index") + "#items-title", code=303)
    return render_template(
        "till/item_form.html", item=item, form=form, errors=errors, wallet_types=finance.list_wallet_types()
    ), (400 if errors else 200)


@bp.route("/gestion/caisse/articles/<item_id>/archiver", methods=["GET", "POST"])
@login_required
def archive(item_id: str):
    """A confirmation page first; its form archives the item (past sales keep their lines)."""
    require_staff()
    item = _item(item_id)
    if request.method == "GET":
        return render_template("till/item_archive.html", item=item, price=eur(item.price_cents))
    till.remove_item(item.id)
    flash(
        _("« %(label)s » archivé : il n'est plus en vente, les ventes passées le gardent.", label=item.label),
        "success",
    )
    return redirect(url_for("till_items.index") + "#items-title", code=303)


def _item(item_id: str) -> till_pb2.TillItem:
    try:
        item = till.find_item(item_id[:36])
    except NotFound:
        item = None
    if item is None or item.archived:
        raise NotFound(_("Cet article n'est pas à la caisse de votre école."))
    return item
