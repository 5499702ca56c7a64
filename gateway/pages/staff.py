"""Web pages: the school staff's home (/gestion) and the mails that could not be sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from gateway.calls.notifications import list_failed_mails, retry_failed_mail
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import AppError

bp = Blueprint("staff", __name__)


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
