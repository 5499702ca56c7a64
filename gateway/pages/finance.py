"""Web pages: "Soldes" (balances on top, invoices below, "Payer" from a wallet), "Opérations
financières" and "Journal des ventes" with the period picker and filters (parent guide 5° to 7°)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cartable.finance.v1 import finance_pb2 as pb
from gateway.calls import finance
from gateway.pages.account import current_child, parent_page
from kit.errors import Conflict, InvalidRequest

bp = Blueprint("finance", __name__)

BRUSSELS = ZoneInfo("Europe/Brussels")

PERIOD_LABELS = {
    "today": lazy_gettext("Aujourd'hui"),
    "yesterday": lazy_gettext("Hier"),
    "last_7_days": lazy_gettext("7 derniers jours"),
    "last_30_days": lazy_gettext("30 derniers jours"),
    "this_month": lazy_gettext("Ce mois-ci"),
    "last_month": lazy_gettext("Mois dernier"),
    "custom": lazy_gettext("Période personnalisée"),
}
TYPE_LABELS = {
    "top_up": lazy_gettext("Rechargement"),
    "purchase": lazy_gettext("Achat"),
    "invoice_payment": lazy_gettext("Paiement de facture"),
    "refund": lazy_gettext("Remboursement"),
    "adjustment": lazy_gettext("Correction"),
}
METHOD_LABELS = {
    "online": lazy_gettext("En ligne"),
    "transfer": lazy_gettext("Virement bancaire"),
    "wallet": lazy_gettext("Portefeuille interne"),
    "cash": lazy_gettext("Espèces"),
}
STATUS_LABELS = {
    "paid": lazy_gettext("Payée"),
    "unpaid": lazy_gettext("À payer"),
    "partially_paid": lazy_gettext("Partiellement payée"),
    "cancelled": lazy_gettext("Annulée par une note de crédit"),
}
PAY_ERRORS = {
    "insufficient_balance": lazy_gettext(
        "Le solde de ce portefeuille ne couvre pas le montant de la facture."
    ),
    "already_paid": lazy_gettext("Cette facture est déjà payée."),
    "invoice_cancelled": lazy_gettext("Cette facture a été annulée par une note de crédit."),
    "method_disabled": lazy_gettext("L'école n'a pas activé le paiement avec le portefeuille interne."),
    "idempotency_key_reused": lazy_gettext("Ce formulaire a déjà servi : rechargez la page et réessayez."),
}


def local_time(at: str) -> datetime:
    """An RFC 3339 instant from finance, in Brussels time for display."""
    return datetime.fromisoformat(at).astimezone(BRUSSELS)


def shown_range(resp) -> tuple[str, str]:
    """The first and last day a resolved period covers, as a parent reads them (the end is exclusive)."""
    first = local_time(resp.starts_at).date()
    last = local_time(resp.ends_at).date() - timedelta(days=1)
    return first.strftime("%d/%m/%Y"), last.strftime("%d/%m/%Y")


def _page_context() -> dict:
    return {
        "period_labels": PERIOD_LABELS,
        "type_labels": TYPE_LABELS,
        "method_labels": METHOD_LABELS,
        "status_labels": STATUS_LABELS,
        "local_time": local_time,
        "shown_range": shown_range,
    }


def _period_from_args(args) -> tuple[dict, pb.PeriodFilter, str | None]:
    """The picker's state from the query string: a preset (default: last 30 days) or custom from/to,
    and what is wrong with it for a person (None when it is fine)."""
    period = args.get("period", "") or "last_30_days"
    if period not in PERIOD_LABELS:
        period = "last_30_days"
    first, last = args.get("from", "")[:10], args.get("to", "")[:10]
    form = {"period": period, "from": first, "to": last}
    if period != "custom":
        return form, pb.PeriodFilter(period=period), None
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return (
            form,
            pb.PeriodFilter(),
            _("Choisissez une date de début et une date de fin, puis cliquez sur Appliquer."),
        )
    if start > end:
        return form, pb.PeriodFilter(), _("La date de début doit précéder la date de fin.")
    if (end - start).days >= 366:
        return form, pb.PeriodFilter(), _("Une période personnalisée couvre au plus 366 jours.")
    return form, pb.PeriodFilter(period="custom", from_date=first, to_date=last), None


# -- Soldes -------------------------------------------------------------------------------------------


@bp.get("/soldes")
@parent_page
def balances():
    child = current_child()
    wallets = finance.list_wallets(child.id)
    invoices = finance.list_invoices(child.id)
    settings = finance.get_settings()
    # One key per "Payer" form: submitting the same form twice pays once.
    pay_keys = {i.id: str(uuid.uuid4()) for i in invoices if i.status in ("unpaid", "partially_paid")}
    return render_template(
        "finance/balances.html",
        wallets=wallets,
        invoices=invoices,
        settings=settings,
        pay_keys=pay_keys,
        nav_active="balances",
        **_page_context(),
    )


def invoice_of_child(invoice_id: str):
    """One of the active child's invoices (the "Payer" pages); another's is not found."""
    return finance.child_invoice(invoice_id, current_child().id, missing=_("Cette facture n'existe pas."))


@bp.route("/soldes/factures/<invoice_id>/payer", methods=["GET", "POST"])
@parent_page
def pay(invoice_id: str):
    child = current_child()
    inv = invoice_of_child(invoice_id)
    error, status = None, 200
    key = request.form.get("idempotency_key", "")[:200] or str(uuid.uuid4())
    if request.method == "POST":
        wallet_id = request.form.get("wallet_id", "")[:36]
        if not wallet_id:
            error, status = _("Choisissez le portefeuille avec lequel payer."), 400
        else:
            try:
                finance.pay_invoice_from_wallet(invoice_id, wallet_id, child.id, key)
            except Conflict as err:
                error, status = str(PAY_ERRORS.get(err.code, err.message)), 409
            except InvalidRequest as err:
                error, status = err.message, 400
            else:
                flash(_("La facture %(number)s est payée.", number=inv.number), "success")
                return redirect(url_for("finance.balances") + "#factures", code=303)
        inv = invoice_of_child(invoice_id)
        key = str(uuid.uuid4())  # a fresh form: the next try is a new request
    settings = finance.get_settings()
    return render_template(
        "finance/pay.html",
        invoice=inv,
        wallets=finance.list_wallets(child.id),
        settings=settings,
        key=key,
        error=error,
        open_cents=inv.total_cents - inv.paid_cents if inv.status in ("unpaid", "partially_paid") else 0,
        nav_active="balances",
        **_page_context(),
    ), status


# -- Opérations financières, Journal des ventes ----------------------------------------------------------


@bp.get("/operations")
@parent_page
def operations():
    child = current_child()
    form, period, error = _period_from_args(request.args)
    kind, method = request.args.get("type", ""), request.args.get("payment_method", "")
    form.update(
        type=kind if kind in TYPE_LABELS else "",
        payment_method=method if method in METHOD_LABELS else "",
        wallet_id=request.args.get("wallet_id", "")[:36],
    )
    wallets = finance.list_wallets(child.id)
    if form["wallet_id"] not in {w.id for w in wallets}:
        form["wallet_id"] = ""
    resp = pb.ListOperationsResponse()
    if error is None:
        resp = finance.list_operations(
            child.id,
            period,
            type=form["type"],
            payment_method=form["payment_method"],
            wallet_id=form["wallet_id"],
        )
    return render_template(
        "finance/operations.html",
        operations=resp.operations,
        resp=resp,
        form=form,
        wallets=wallets,
        error=error,
        nav_active="operations",
        **_page_context(),
    ), (400 if error else 200)


@bp.get("/journal-des-ventes")
@parent_page
def sales():
    child = current_child()
    form, period, error = _period_from_args(request.args)
    wallets = finance.list_wallets(child.id)
    wallet_id = request.args.get("wallet_id", "")[:36]
    form["wallet_id"] = wallet_id if wallet_id in {w.id for w in wallets} else ""
    resp = pb.ListSalesResponse()
    if error is None:
        resp = finance.list_sales(child.id, period, form["wallet_id"])
    return render_template(
        "finance/sales.html",
        lines=resp.lines,
        resp=resp,
        form=form,
        wallets=wallets,
        error=error,
        total_cents=sum(ln.amount_cents for ln in resp.lines),
        nav_active="sales",
        **_page_context(),
    ), (400 if error else 200)
