"""The start page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from gateway.web import load_session

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    sess = load_session()
    if sess is not None and "portal.dashboard" in _endpoints():
        return redirect(url_for("portal.dashboard"))
    return render_template("index.html")


def _endpoints() -> set[str]:
    from flask import current_app

    return set(current_app.view_functions)
