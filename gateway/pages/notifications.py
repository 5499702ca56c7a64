"""Web pages: "Mon compte › Courriels" (which mails a parent receives), failed mails for staff."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls.notifications import get_preferences, update_preferences
from gateway.i18n import form_cents
from gateway.pages.account import login_required
from gateway.shapes import mail_switches
from gateway.web import load_session
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("notifications", __name__)


def threshold_cents(text: str) -> int:
    """The low-balance threshold as typed, in cents; left empty, 0 (no alert)."""
    if not (text or "").strip():
        return 0
    return form_cents(
        text,
        message=_("Montant invalide."),
        fields={"threshold": _("Un montant en euros, par exemple 5,00.")},
    )


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
            values["low_balance_threshold_cents"] = threshold_cents(request.form.get("threshold", ""))
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
