"""Web pages of paying for real (parent guide 5°, "Comment recharger son portefeuille ?" and "Payer"):

- the "Recharger" menu of each wallet on /soldes ("En ligne": an amount, then the provider's Bancontact
  checkout; "Par virement bancaire": IBAN, BIC, beneficiary, the wallet's structured communication and
  the EPC QR code), the invoices' online payment and transfer details;
- the page the provider sends the parent back to, ``/paiements/<id>/retour``: it shows what the finance
  service knows (open: being confirmed, refreshing; paid; failed, canceled, expired) and books nothing;
- staff: bank statement upload and the unmatched transfers to assign.

The menus on /soldes are template includes (``payments/_wallet_menu.html``,
``payments/_invoice_options.html``) placed in the finance pages' templates."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from gateway.calls import finance
from gateway.calls.account import list_students
from gateway.i18n import eur, form_cents
from gateway.pages.account import current_child, login_required, parent_page
from gateway.pages.finance import invoice_of_child
from gateway.web import require_staff
from kit.errors import AppError, Conflict, InvalidRequest, NotFound, TooLarge, Unavailable

bp = Blueprint("payments", __name__)

REFRESH_SECONDS = 4
MAX_REFRESHES = 30  # about two minutes of "being confirmed", then the parent is told to come back later

START_ERRORS = {
    "method_disabled": lazy_gettext("Votre école n'a pas activé le paiement en ligne."),
    "already_paid": lazy_gettext("Cette facture est déjà payée."),
    "invoice_cancelled": lazy_gettext("Cette facture a été annulée par une note de crédit."),
    "idempotency_key_reused": lazy_gettext("Ce formulaire a déjà servi : rechargez la page et réessayez."),
}
REASONS = {
    "no_communication": lazy_gettext("Sans communication structurée"),
    "unknown_communication": lazy_gettext("Communication structurée inconnue"),
    "expired_communication": lazy_gettext("Ancienne communication expirée"),
    "invoice_settled": lazy_gettext("Facture déjà payée"),
    "invoice_cancelled": lazy_gettext("Facture annulée"),
    "overpayment": lazy_gettext("Excédent du montant de la facture"),
    "reversal": lazy_gettext("Extourne"),
}


@bp.app_context_processor
def _helpers() -> dict:
    # a fresh idempotency key for each money form the balances page shows
    return {"payment_form_key": lambda: str(uuid.uuid4())}


def top_up_refusal(err: InvalidRequest) -> str:
    """Finance's refusal of a top-up, for the parent. Finance owns the amount's range and names it on
    ``amount_cents`` ("100 to 500000", in cents): the page says it in euros, in the reader's language."""
    bounds = re.fullmatch(r"(\d+) to (\d+)", err.fields.get("amount_cents", ""))
    if bounds is None:
        return err.message
    return _(
        "Le montant doit être compris entre %(min)s et %(max)s.",
        min=eur(int(bounds.group(1))),
        max=eur(int(bounds.group(2))),
    )


def _wallet(child_id: str, wallet_id: str):
    found = next((w for w in finance.list_wallets(child_id) if w.id == wallet_id), None)
    if found is None:
        raise NotFound(_("Ce portefeuille n'existe pas."))
    return found


# -- "Recharger" ---------------------------------------------------------------------------------------


@bp.route("/soldes/portefeuilles/<wallet_id>/recharger", methods=["GET", "POST"])
@parent_page
def top_up(wallet_id: str):
    """ "En ligne": the amount, then off to the provider's checkout."""
    child = current_child()
    wallet = _wallet(child.id, wallet_id[:36])
    settings = finance.get_settings()
    enabled = "online" in settings.top_up_methods
    error, status, amount_text = None, 200, request.form.get("amount", "")
    key = request.form.get("idempotency_key", "")[:200] or str(uuid.uuid4())
    if request.method == "POST" and enabled:
        try:
            cents = form_cents(
                amount_text, message=_("Indiquez un montant en euros, par exemple 10 ou 12,50.")
            )
            started = finance.start_top_up(wallet.id, child.id, cents, key)
        except InvalidRequest as err:
            error, status = top_up_refusal(err), 400
        except Conflict as err:
            error, status = str(START_ERRORS.get(err.code, err.message)), 409
        except Unavailable:
            error, status = (
                _("Le paiement en ligne est momentanément indisponible. Réessayez dans un instant."),
                503,
            )
        else:
            if started.checkout_url:
                return redirect(started.checkout_url, code=303)
            return redirect(url_for("payments.back", payment_id=started.payment.id), code=303)
        key = str(uuid.uuid4())
    elif request.method == "POST":
        error, status = str(START_ERRORS["method_disabled"]), 409
    return render_template(
        "payments/top_up.html",
        wallet=wallet,
        enabled=enabled,
        error=error,
        amount=amount_text,
        key=key,
        nav_active="balances",
    ), status


@bp.get("/soldes/portefeuilles/<wallet_id>/virement")
@parent_page
def wallet_transfer_page(wallet_id: str):
    """ "Par virement bancaire": what to write on the transfer, and the QR code for banking apps."""
    child = current_child()
    wallet = _wallet(child.id, wallet_id[:36])
    try:
        got = finance.wallet_transfer(wallet.id, child.id)
    except Conflict:
        return render_template(
            "payments/transfer.html", wallet=wallet, invoice=None, transfer=None, nav_active="balances"
        ), 409
    return render_template(
        "payments/transfer.html", wallet=wallet, invoice=None, transfer=got.transfer, nav_active="balances"
    )


# -- "Payer" an invoice --------------------------------------------------------------------------------


@bp.get("/soldes/factures/<invoice_id>/virement")
@parent_page
def invoice_transfer_page(invoice_id: str):
    child = current_child()
    inv = invoice_of_child(invoice_id[:36])
    try:
        got = finance.invoice_transfer(inv.id, child.id)
    except Conflict:
        return render_template(
            "payments/transfer.html", wallet=None, invoice=inv, transfer=None, nav_active="balances"
        ), 409
    return render_template(
        "payments/transfer.html", wallet=None, invoice=inv, transfer=got.transfer, nav_active="balances"
    )


@bp.post("/soldes/factures/<invoice_id>/payer-en-ligne")
@parent_page
def pay_invoice_online(invoice_id: str):
    """ "Payer" > "En ligne": off to the provider's checkout for the invoice's open amount."""
    child = current_child()
    key = request.form.get("idempotency_key", "")[:200] or str(uuid.uuid4())
    try:
        started = finance.start_invoice_payment(invoice_id[:36], child.id, key)
    except Conflict as err:
        flash(str(START_ERRORS.get(err.code, err.message)), "error")
        return redirect(url_for("finance.balances") + "#factures", code=303)
    except Unavailable:
        flash(_("Le paiement en ligne est momentanément indisponible. Réessayez dans un instant."), "error")
        return redirect(url_for("finance.balances") + "#factures", code=303)
    if started.checkout_url:
        return redirect(started.checkout_url, code=303)
    return redirect(url_for("payments.back", payment_id=started.payment.id), code=303)


# -- back from the provider ------------------------------------------------------------------------------


@bp.get("/paiements/<payment_id>/retour")
@login_required
def back(payment_id: str):
    """Where the provider sends the parent back. Shows the payment as the finance service knows it
    (the webhook books it); refreshes itself while it is being confirmed. Books nothing."""
    payment = finance.get_payment(payment_id)
    try:
        tries = max(int(request.args.get("n", "0")), 0)
    except ValueError:
        tries = 0
    refresh = payment.status == "open" and tries < MAX_REFRESHES
    resp = render_template(
        "payments/return.html",
        payment=payment,
        refresh=refresh,
        refresh_seconds=REFRESH_SECONDS,
        next_url=url_for("payments.back", payment_id=payment.id, n=tries + 1),
        nav_active="balances",
    )
    headers = {"Cache-Control": "no-store"}
    if refresh:
        headers["Refresh"] = (
            f"{REFRESH_SECONDS}; url={url_for('payments.back', payment_id=payment.id, n=tries + 1)}"
        )
    return resp, 200, headers


# -- staff: statements and unmatched transfers --------------------------------------------------------------


@bp.route("/gestion/extraits", methods=["GET", "POST"])
@login_required
def statements():
    """Upload a bank statement file; see the last imports and what waits to be assigned."""
    require_staff()
    result, error, status = None, None, 200
    if request.method == "POST":
        upload = request.files.get("file")
        key = request.form.get("idempotency_key", "")[:200]
        if upload is None or not upload.filename:
            error, status = _("Choisissez le fichier d'extraits de compte (CODA ou camt.053)."), 400
        else:
            try:
                result = finance.import_statement(upload.read(), upload.filename, key)
            except InvalidRequest as err:
                if err.code == "invalid_statement":
                    line = err.fields.get("line", "")
                    reason = err.fields.get("reason", err.message)
                    error = (
                        _(
                            "Fichier refusé, ligne %(line)s : %(reason)s. Rien n'a été comptabilisé.",
                            line=line,
                            reason=reason,
                        )
                        if line
                        else _("Fichier refusé : %(reason)s. Rien n'a été comptabilisé.", reason=reason)
                    )
                else:
                    error = err.message
                status = 400
            except TooLarge:
                error, status = _("Le fichier est trop volumineux."), 413
    imports = finance.list_statement_imports(limit=10)
    return render_template(
        "payments/staff_statements.html",
        result=result,
        error=error,
        imports=imports,
        unmatched=finance.list_unmatched("open"),
        reasons=REASONS,
        key=str(uuid.uuid4()),
    ), status


@bp.route("/gestion/virements-non-attribues/<transfer_id>", methods=["GET", "POST"])
@login_required
def assign_transfer(transfer_id: str):
    """Say whose an unmatched transfer is: choose the student, then one of its wallets or unpaid invoices."""
    require_staff()
    transfer = next((t for t in finance.list_unmatched("all") if t.id == transfer_id), None)
    if transfer is None:
        raise NotFound(_("Ce virement n'existe pas."))
    error, status = None, 200
    student_id = (request.values.get("student_id") or "")[:36]
    if request.method == "POST":
        target = request.form.get("target", "")
        kind, _sep, target_id = target.partition(":")
        try:
            if kind not in ("wallet", "invoice") or not target_id:
                raise InvalidRequest(_("Choisissez un portefeuille ou une facture."))
            done = finance.assign(
                transfer.id,
                wallet_id=target_id if kind == "wallet" else "",
                invoice_id=target_id if kind == "invoice" else "",
                key=request.form.get("idempotency_key", "")[:200],
            )
        except InvalidRequest as err:
            error, status = err.message, 400
        except Conflict as err:
            messages = {
                "already_assigned": _("Ce virement a déjà été attribué."),
                "already_paid": _("Cette facture est déjà payée."),
                "invoice_cancelled": _("Cette facture a été annulée par une note de crédit."),
            }
            error, status = messages.get(err.code, err.message), 409
        else:
            flash(_("Virement attribué."), "success")
            if done.unmatched_rest_cents:
                flash(
                    _("Le solde non utilisé par la facture reste dans la liste des virements à attribuer."),
                    "info",
                )
            return redirect(url_for("payments.statements") + "#non-attribues", code=303)
    students = sorted(
        list_students(),
        key=lambda s: (s.class_name, s.last_name, s.first_name),
    )
    wallets, invoices = [], []
    if student_id:
        try:
            wallets = finance.list_wallets(student_id)
            invoices = [
                i for i in finance.list_invoices(student_id) if i.status in ("unpaid", "partially_paid")
            ]
        except AppError:
            wallets, invoices = [], []
    return render_template(
        "payments/staff_assign.html",
        transfer=transfer,
        students=students,
        student_id=student_id,
        wallets=wallets,
        invoices=invoices,
        error=error,
        reasons=REASONS,
        key=str(uuid.uuid4()),
    ), status
