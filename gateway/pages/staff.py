"""Web pages: the school staff's home (/gestion), the mails that could not be sent, and the school's
sign-in security (a second factor required of every staff account)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls.account import get_security_settings, update_security_settings
from gateway.calls.notifications import list_failed_mails, retry_failed_mail
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import AppError

bp = Blueprint("staff", __name__)


@bp.app_context_processor
def _staff_routes() -> dict[str, frozenset[str]]:
    """The pages the staff navigation may link to (staff_base.html): those this gateway serves."""
    routes = current_app.extensions.get("cartable_staff_routes")
    if routes is None:
        routes = frozenset(r.rule for r in current_app.url_map.iter_rules() if r.rule.startswith("/gestion"))
        current_app.extensions["cartable_staff_routes"] = routes
    return {"staff_routes": routes}


@bp.get("/gestion")
@login_required
def index():
    sess = require_staff()
    return render_template("staff/index.html", account=sess.account)


@bp.get("/gestion/courriels-en-echec")
@login_required
def failed_mails():
    require_staff()
    mails = list_failed_mails(limit=200).mails
    return render_template("staff/failed_mails.html", mails=mails)


@bp.post("/gestion/courriels-en-echec/<mail_id>/renvoyer")
@login_required
def retry_mail(mail_id: str):
    require_staff()
    try:
        retry_failed_mail(mail_id)
    except AppError as err:
        flash(err.message, "error")
    else:
        flash(_("Le courriel sera renvoyé."), "success")
    return redirect(url_for("staff.failed_mails"))


@bp.route("/gestion/securite", methods=["GET", "POST"])
@login_required
def security():
    """Whether every staff account of the school must have a second factor (off by default)."""
    sess = require_staff()
    if request.method == "POST":
        required = request.form.get("require_second_factor") == "yes"
        update_security_settings(required)
        if required:
            flash(_("La validation en deux étapes est désormais exigée pour tout le personnel."), "success")
        else:
            flash(_("La validation en deux étapes n'est plus exigée."), "success")
        return redirect(url_for("staff.security"), code=303)
    settings = get_security_settings()
    return render_template(
        "staff/security.html", settings=settings, own_enabled=sess.account.second_factor_enabled
    )
