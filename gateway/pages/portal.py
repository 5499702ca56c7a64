"""Web pages: the parent portal's entry (the dashboard). The dashboard's own page replaces the body of
``dashboard()``; the route and its name ``portal.dashboard`` stay."""

from __future__ import annotations

from flask import Blueprint, render_template

from gateway.pages.account import parent_page

bp = Blueprint("portal", __name__)


@bp.get("/tableau-de-bord")
@parent_page
def dashboard():
    return render_template("account/dashboard.html", nav_active="dashboard")
