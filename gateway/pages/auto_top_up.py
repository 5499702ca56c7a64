"""A wallet's automatic top-up (issue #18), /soldes/portefeuilles/<id>/recharge-automatique: "when the
balance falls under X €, collect Y € by direct debit", switched on or off. The amounts are typed in
euros (kit.money reads them); finance owns their ranges and needs an active mandate covering the child
to switch it on (``no_mandate``: the page explains it and links to the "Domiciliation" page). Linked
from each wallet's card on /soldes (``mandates/_wallet_auto_top_up.html``) and from the Domiciliation
page. The same ``calls.mandates`` function as ``PUT /api/v1/wallets/{id}/auto-top-up``."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls import finance, mandates
from gateway.i18n import current_lang, eur, form_cents
from gateway.pages.account import current_child, parent_page
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.money import cents_to_decimal_str

bp = Blueprint("auto_top_up", __name__)

# finance's field names -> the form's
FORM_NAMES = {"threshold_cents": "threshold", "amount_cents": "amount"}


def typed(cents: int) -> str:
    """An amount as the reader types it in the form (``5,00``; ``5.00`` in English)."""
    text = cents_to_decimal_str(cents)
    return text if current_lang() == "en" else text.replace(".", ",")


def state_text(enabled: bool, threshold_cents: int, amount_cents: int) -> str:
    """ "Recharge automatique : 20,00 € quand le solde passe sous 5,00 €" (or switched off)."""
    if not enabled:
        return _("Recharge automatique : désactivée")
    return _(
        "Recharge automatique : %(amount)s quand le solde passe sous %(threshold)s",
        amount=eur(amount_cents),
        threshold=eur(threshold_cents),
    )


def _range_error(name: str, bounds: str) -> str:
    """Finance's range of a field (``"100 to 50000"``, in cents) said in euros."""
    found = re.fullmatch(r"(\d+) to (\d+)", bounds)
    low, high = (eur(int(found.group(1))), eur(int(found.group(2)))) if found else ("", "")
    if name == "threshold":
        if found:
            return _("Indiquez un seuil entre %(min)s et %(max)s.", min=low, max=high)
        return _("Indiquez le seuil en euros, par exemple 5 ou 7,50.")
    if found:
        return _("Indiquez un montant entre %(min)s et %(max)s.", min=low, max=high)
    return _("Indiquez le montant en euros, par exemple 20 ou 12,50.")


def _amounts(form: dict) -> tuple[int | None, int | None]:
    """The form's two amounts in cents (None: left empty while switching off); every bad one named."""
    fields: dict[str, str] = {}
    values: dict[str, int | None] = {}
    for name in ("threshold", "amount"):
        if not form[name] and not form["enabled"]:
            values[name] = None
            continue
        try:
            values[name] = form_cents(form[name], message="not an amount")
        except InvalidRequest:
            fields[name] = _range_error(name, "")
    if fields:
        raise InvalidRequest("bad amounts", fields=fields)
    return values["threshold"], values["amount"]


@bp.route("/soldes/portefeuilles/<wallet_id>/recharge-automatique", methods=["GET", "POST"])
@parent_page
def edit(wallet_id: str):
    child = current_child()
    try:
        wallet = mandates.child_wallet(wallet_id[:36], child.id)
    except NotFound:
        raise NotFound(_("Ce portefeuille n'existe pas.")) from None
    settings = finance.get_settings()
    current = mandates.get_auto_top_up(wallet.id)
    has_mandate = any(m.status == "active" for m in mandates.list_mandates(child.id))
    errors: dict[str, str] = {}
    status, refusal = 200, ""
    if request.method == "POST":
        form = {
            "enabled": request.form.get("enabled") == "yes",
            "threshold": (request.form.get("threshold") or "").strip()[:40],
            "amount": (request.form.get("amount") or "").strip()[:40],
        }
        try:
            if not settings.creditor_id:
                raise Conflict("direct debit is not offered", code="method_disabled")
            threshold, amount = _amounts(form)
            saved = mandates.set_auto_top_up(wallet.id, child.id, form["enabled"] is True, threshold, amount)
        except InvalidRequest as err:
            status = 400
            for name, detail in err.fields.items():
                if name in ("threshold", "amount"):  # the form's own check: already in words
                    errors[name] = detail
                elif name in FORM_NAMES:  # finance's range, in cents
                    errors[FORM_NAMES[name]] = _range_error(FORM_NAMES[name], detail)
            errors = errors or {"form": err.message}
        except Conflict as err:
            refusal, status = err.code, 409
            refusals = {
                "no_mandate": _(
                    "Aucun mandat de domiciliation actif ne couvre %(name)s : la recharge automatique "
                    "n'a pas été activée.",
                    name=child.first_name,
                ),
                "method_disabled": _(
                    "Votre école ne propose pas la domiciliation : la recharge automatique n'est pas possible."
                ),
            }
            errors = {"form": refusals.get(err.code, err.message)}
        else:
            state = state_text(saved.enabled, saved.threshold_cents, saved.amount_cents)
            flash(_("%(wallet)s · %(state)s.", wallet=wallet.name, state=state), "success")
            return redirect(url_for("finance.balances") + f"#wallet-{wallet.id}", code=303)
    else:
        form = {
            "enabled": current.enabled or not current.amount_cents,
            "threshold": typed(current.threshold_cents) if current.amount_cents else "",
            "amount": typed(current.amount_cents) if current.amount_cents else "",
        }
    return render_template(
        "mandates/auto_top_up.html",
        wallet=wallet,
        current=current,
        state=state_text(current.enabled, current.threshold_cents, current.amount_cents),
        pending_cents=wallet.collection_pending_cents or current.pending_cents,
        offered=bool(settings.creditor_id),
        has_mandate=has_mandate,
        form=form,
        errors=errors,
        refusal=refusal,
        nav_active="balances",
    ), status
