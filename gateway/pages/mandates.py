"""The parents' "Domiciliation" page (issue #18), /recharger/domiciliation: the family's SEPA
e-mandates (reference, masked IBAN, holder, signed date, active or revoked; "Révoquer" after a
confirmation page), the form that signs one (IBAN, account holder, the mandate's text naming the school
and its creditor id, an explicit "J'accepte"; errors on their fields under a focused summary), the
signed mandate with the text accepted, and each wallet's automatic top-up (its form:
``gateway.pages.auto_top_up``). Reached from the "Recharger" menu of /soldes. Plain forms with CSRF;
they reach the same ``calls.mandates`` functions as the API (``api/mandates.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls import finance, mandates
from gateway.i18n import current_lang
from gateway.pages.account import current_child, parent_page
from kit.dates import BRUSSELS, format_date
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound

bp = Blueprint("mandates", __name__)

FIELDS = ("iban", "holder_name", "accept")


def field_errors(err: InvalidRequest) -> dict[str, str]:
    """What the parent reads for each refused field (the gateway's shape check or finance's rule)."""
    fields = err.fields
    messages = {
        "iban": _("Indiquez l'IBAN du compte à débiter, par exemple BE68 5390 0754 7034.")
        if fields.get("iban") == "required"
        else _("Cet IBAN n'est pas valide : vérifiez-le sur votre carte ou votre extrait de compte."),
        "holder_name": _("Indiquez le nom du titulaire du compte, en 70 caractères au plus."),
        "accept": _("Cochez « J'accepte » pour signer le mandat."),
    }
    errors = {name: messages[name] for name in FIELDS if name in fields}
    return errors or {"form": _("Le mandat n'a pas pu être signé. Vérifiez les champs.")}


def school_of(settings) -> str:
    return settings.school_name or settings.beneficiary


def mandate_text(school: str, creditor_id: str) -> list[str]:
    """The SEPA Core mandate's wording before signing, in the reader's language, as finance writes
    the text it stores at the signature (its reference is given then, with the account's IBAN)."""
    return [
        _(
            "Mandat de domiciliation européenne SEPA (Core). Créancier : %(school)s, identifiant du "
            "créancier : %(creditor_id)s. La référence du mandat vous est donnée à la signature.",
            school=school,
            creditor_id=creditor_id,
        ),
        _(
            "En signant ce mandat, vous autorisez %(school)s à envoyer des instructions à votre banque "
            "pour débiter le compte indiqué ci-dessus, et votre banque à débiter votre compte "
            "conformément aux instructions de %(school)s, pour les factures scolaires et les "
            "rechargements des portefeuilles de vos enfants.",
            school=school,
        ),
        _(
            "Vous bénéficiez du droit d'être remboursé par votre banque selon les conditions décrites "
            "dans la convention que vous avez passée avec elle ; une demande de remboursement doit être "
            "présentée dans les 8 semaines suivant la date de débit de votre compte. Vous êtes informé "
            "par courriel du montant et de la date de chaque encaissement au moins un jour avant "
            "celui-ci : c'est le délai de préavis convenu par ce mandat. Vous pouvez révoquer ce "
            "mandat à tout moment dans Cartable."
        ),
    ]


def local_date(at: str) -> str:
    """An RFC 3339 instant from finance as the day the reader writes it (Brussels)."""
    if not at:
        return ""
    return format_date(datetime.fromisoformat(at).astimezone(BRUSSELS).date(), current_lang())


def mandate_view(m) -> dict:
    """What a page shows of a mandate; ``mine``: the signed-in parent signed it (only the signer, or
    the school, may revoke it)."""
    me = g.session.account.id
    return {
        "id": m.id,
        "reference": m.reference,
        "iban": m.iban_masked or f"**** {m.iban_last4}",
        "holder_name": m.holder_name,
        "signed_on": local_date(m.signed_at),
        "revoked_on": local_date(m.revoked_at),
        "active": m.status == "active",
        "mine": not m.parent_account_id or m.parent_account_id == me,
        "school": m.school_name,
        "creditor_id": m.creditor_id,
        "text": m.mandate_text,
        "children": len(m.student_ids),
    }


def _family_mandate(mandate_id: str):
    try:
        return mandates.family_mandate(mandate_id[:36], current_child().id)
    except NotFound:
        raise NotFound(_("Ce mandat n'existe pas.")) from None


def _index(form: dict, errors: dict[str, str], status: int = 200):
    child = current_child()
    settings = finance.get_settings()
    found = [mandate_view(m) for m in mandates.list_mandates(child.id)]
    school = school_of(settings)
    return render_template(
        "mandates/index.html",
        mandates=found,
        has_active=any(m["active"] for m in found),
        wallets=finance.list_wallets(child.id),
        creditor_id=settings.creditor_id,
        school=school,
        text=mandate_text(school, settings.creditor_id) if settings.creditor_id else [],
        form=form,
        errors=errors,
        nav_active="balances",
    ), status


# -- routes -------------------------------------------------------------------------------------------


@bp.route("/recharger/domiciliation", methods=["GET", "POST"])
@parent_page
def index():
    if request.method == "GET":
        return _index({"iban": "", "holder_name": "", "accept": False, "key": str(uuid.uuid4())}, {})
    f = request.form
    form = {
        "iban": (f.get("iban") or "").strip()[:100],
        "holder_name": (f.get("holder_name") or "").strip()[:200],
        "accept": f.get("accept") == "yes",
        "key": (f.get("idempotency_key") or "")[:200] or str(uuid.uuid4()),
    }
    try:
        iban, holder = mandates.signature(form["iban"], form["holder_name"], form["accept"])
        signed = mandates.sign_mandate(iban, holder, True, form["key"])
    except InvalidRequest as err:
        errors, status = field_errors(err), 400
    except Conflict as err:
        messages = {
            "method_disabled": _("Votre école ne propose pas la domiciliation : aucun mandat n'a été signé."),
            "idempotency_key_reused": _("Ce formulaire a déjà servi : rechargez la page et réessayez."),
        }
        errors, status = {"form": messages.get(err.code, err.message)}, 409
    else:
        return redirect(url_for("mandates.show", mandate_id=signed.mandate.id, signe=1), code=303)
    form["key"] = str(uuid.uuid4())  # a fresh form: the next try is a new request
    return _index(form, errors, status)


@bp.get("/recharger/domiciliation/<mandate_id>")
@parent_page
def show(mandate_id: str):
    """One of the family's mandates with the text accepted; just signed (``?signe=1``): where its
    PDF copy will be."""
    m = mandate_view(_family_mandate(mandate_id))
    return render_template(
        "mandates/show.html",
        m=m,
        just_signed=request.args.get("signe") == "1" and m["active"],
        nav_active="balances",
    )


@bp.route("/recharger/domiciliation/<mandate_id>/revoquer", methods=["GET", "POST"])
@parent_page
def revoke(mandate_id: str):
    """A confirmation page first; its form revokes the mandate (nothing more is collected on it)."""
    m = mandate_view(_family_mandate(mandate_id))
    if not m["active"]:
        flash(_("Le mandat %(reference)s est déjà révoqué.", reference=m["reference"]), "info")
        return redirect(url_for("mandates.index") + "#mandates-title", code=303)
    if not m["mine"]:
        raise Forbidden(_("Seul le parent qui a signé ce mandat, ou l'école, peut le révoquer."))
    if request.method == "GET":
        return render_template("mandates/revoke.html", m=m, nav_active="balances")
    mandates.revoke_mandate(m["id"])
    flash(
        _(
            "Le mandat %(reference)s est révoqué : plus rien ne sera prélevé sur ce compte.",
            reference=m["reference"],
        ),
        "success",
    )
    return redirect(url_for("mandates.index") + "#mandates-title", code=303)
