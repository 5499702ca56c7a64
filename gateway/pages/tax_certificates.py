"""The school's childcare tax certificates (attestations 281.86, issue #19), under
/gestion/attestations-fiscales: the year chosen, the year's certificates made (once per form: its
Idempotency key is drawn when the page is shown, so a double click or a reload makes nothing twice),
each certificate with its PDF, and the year's Belcotax-on-web export (a CSV). A school without an
enterprise number is told so in words, with a link to its settings. The same calls as
``gateway.api.tax_certificates``; finance owns every rule."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.api.tax_certificates import csv_response
from gateway.calls import tax_certificates
from gateway.calls.documents import open_document
from gateway.i18n import current_lang, eur
from gateway.pages.account import login_required
from gateway.pages.tax_certificates_cap import daily_cap_context, parse_euros
from gateway.web import require_staff
from kit.dates import BRUSSELS
from kit.errors import Conflict, InvalidRequest

bp = Blueprint("tax_certificates", __name__)

FIRST_YEAR = 2022  # the official model is mandatory from income year 2022


def _years() -> list[int]:
    this = datetime.now(BRUSSELS).year
    return list(range(this, FIRST_YEAR - 1, -1))


def _year(text: str | None) -> int:
    years = _years()
    if text and text.isdigit() and int(text) in years:
        return int(text)
    return years[1] if len(years) > 1 else years[0]  # certificates are made for the year just ended


def _name(p) -> str:
    return " ".join(x for x in (p.first_name, p.last_name) if x) or "–"


def _index(
    year: int, *, missing_enterprise: bool = False, error: str = "", status: int = 200, cap_error: str = ""
):
    listing = tax_certificates.certificates(year)
    rows = [
        {
            "child": _name(c.child),
            "parent": _name(c.parent),
            "number": c.number,
            "version": c.version,
            "days": c.days,
            "amount": eur(c.amount_cents),
            "capped": eur(c.capped_amount_cents),
            "document_id": c.document_id,
        }
        for c in listing.certificates
    ]
    return render_template(
        "tax_certificates/index.html",
        year=year,
        years=_years(),
        rows=rows,
        total=eur(sum(c.amount_cents for c in listing.certificates)),
        missing_enterprise=missing_enterprise or not listing.enterprise_number,
        refused=status == 409 and missing_enterprise,  # the refusal focused, read at once
        error=error,
        key=str(uuid.uuid4()),
        **daily_cap_context(listing, cap_error),
    ), status


@bp.get("/gestion/attestations-fiscales")
@login_required
def index():
    require_staff()
    return _index(_year(request.args.get("annee")))


@bp.post("/gestion/attestations-fiscales")
@login_required
def generate():
    require_staff()
    year = _year(request.form.get("annee"))
    key = (request.form.get("key") or "")[:100]
    try:
        made = tax_certificates.generate(year, key, current_lang())
    except Conflict as err:
        if err.code == "enterprise_number_missing":
            return _index(year, missing_enterprise=True, status=409)
        if err.code == "idempotency_key_reused":
            return _index(year, error=_("Ce formulaire a déjà servi : voici la liste à jour."), status=409)
        raise
    except InvalidRequest as err:
        if "year" not in err.fields:
            raise
        message = _(
            "Le montant maximal légal par jour de %(year)s n'est pas encore connu de Cartable : "
            "indiquez-le ci-dessous, tel que le SPF Finances le publie, puis établissez les attestations.",
            year=year,
        )
        return _index(year, error=message, status=400)
    flash(
        _(
            "Attestations %(year)s à jour : %(count)s attestation(s), %(total)s au total.",
            year=year,
            count=made.count,
            total=eur(made.total_cents),
        ),
        "success",
    )
    return redirect(url_for("tax_certificates.index", annee=year), code=303)


@bp.get("/gestion/attestations-fiscales/<int:year>/belcotax.csv")
@login_required
def belcotax(year: int):
    require_staff()
    return csv_response(year)


@bp.get("/gestion/attestations-fiscales/document/<document_id>")
@login_required
def document(document_id: str):
    require_staff()
    return open_document(document_id[:64])


@bp.post("/gestion/attestations-fiscales/maximum-journalier")
@login_required
def daily_cap():
    """The year's legal maximum per day, entered by the manager for a year Cartable does not know."""
    require_staff()
    year = _year(request.form.get("annee"))
    cents = parse_euros(request.form.get("maximum", ""))
    message = _("Indiquez le montant par jour en euros, entre 1,00 et 50,00 (par exemple 16,90).")
    if cents is None:
        return _index(year, cap_error=message, status=400)
    try:
        tax_certificates.set_daily_cap(year, cents)
    except InvalidRequest:
        return _index(year, cap_error=message, status=400)
    except Conflict as err:
        if err.code != "daily_cap_known":
            raise
        return _index(year, status=409)  # the page shows the code's figure
    flash(
        _("Maximum légal par jour de %(year)s enregistré : %(amount)s.", year=year, amount=eur(cents)),
        "success",
    )
    return redirect(url_for("tax_certificates.index", annee=year), code=303)
