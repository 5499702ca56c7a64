"""Web pages: "Mon compte › Courriels" (which mails a parent receives), failed mails for staff."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.api.shapes import mail_switches
from gateway.calls.notifications import get_preferences, update_preferences
from gateway.pages.account import login_required
from gateway.web import load_session
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("notifications", __name__)


def euros_to_cents(text: str) -> int:
    text = (text or "0").strip().replace("€", "").replace(" ", "").replace(",", ".") or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(
            _("Montant invalide."), fields={"threshold": _("Un montant en euros, par exemple 5,00.")}
        ) from None
    cents = value * 100
    if value < 0 or cents != cents.to_integral_value():
        raise InvalidRequest(
            _("Montant invalide."), fields={"threshold": _("Un montant en euros, par exemple 5,00.")}
        )
    return int(cents)


@bp.route("/compte/courriels", methods=["GET", "POST"])
@login_required
def preferences():
    if load_session().account.role != "parent":
        raise Forbidden(_("Cette page est réservée aux parents."))
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name) == "on" for name in mail_switches()}
        values["language"] = request.form.get("language", "fr")
        try:
            values["low_balance_threshold_cents"] = euros_to_cents(request.form.get("threshold", ""))
            update_preferences(values)
        except InvalidRequest as err:
            errors = dict(err.fields) or {"form": err.message}
        else:
            flash(_("Vos préférences sont enregistrées."), "success")
            return redirect(url_for("notifications.preferences"))
    prefs = get_preferences()
    return render_template(
        "notifications/preferences.html", p=prefs, switches=mail_switches(), errors=errors
    ), (400 if errors else 200)
