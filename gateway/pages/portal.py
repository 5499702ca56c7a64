"""Web pages: the parent portal's dashboard ("Tableau de bord"), and the module menu's order tabs."""

from __future__ import annotations

import logging

import grpc
from flask import Blueprint, g, render_template

from gateway.calls.dashboard import assemble
from gateway.calls.orders import list_open_periods
from gateway.pages.account import current_child, parent_page
from kit.errors import AppError

log = logging.getLogger("gateway.portal")

bp = Blueprint("portal", __name__)


@bp.app_context_processor
def _order_tabs():
    """The menu shows a tab per ordering period open for the active child (guide, chapter 8)."""
    if "nav_order_periods" not in g:
        periods = []
        sess = g.get("session")
        child = current_child() if sess is not None else None
        if child is not None and sess.account.role == "parent":
            try:
                periods = list_open_periods(child.id, timeout=0.5)
            except (AppError, grpc.RpcError):
                log.info("order tabs unavailable")
        g.nav_order_periods = periods
    return {"nav_order_periods": g.nav_order_periods}


@bp.get("/tableau-de-bord")
@parent_page
def dashboard():
    child = current_child()
    data = assemble(child.id)
    g.nav_order_periods = (
        [p for p in data["order_periods"]] if "order_periods" not in data["unavailable"] else []
    )
    return render_template("portal/dashboard.html", d=data, nav_active="dashboard")
