"""Staff pages for the accountant (issue #17): /gestion/exports (a date range, chosen or a preset: this
month, last month, this school year, the last one; each export's row count and total with its CSV
download) and /gestion/extraits/<id> (the bank reconciliation of one imported statement: every
movement and what it became). They reach the same ``calls.exports`` functions as the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from gateway.api.exports import file_name
from gateway.calls import exports
from gateway.i18n import current_lang
from gateway.pages.account import login_required
from gateway.pages.payments import REASONS
from gateway.web import require_staff
from kit.dates import BRUSSELS, format_date, format_instant
from kit.errors import InvalidRequest

bp = Blueprint("exports", __name__)

# Belgian school years start at the end of August (Wallonia-Brussels) or on 1 September (Flanders)
# and end in early July or on 30 June: 1 August to 31 July holds either community's whole year.
SCHOOL_YEAR_MONTH = 8
EXPORTS = {
    "invoices": (
        lazy_gettext("Factures"),
        lazy_gettext("Les factures émises pendant la période, avec leur statut, le payé et le solde."),
    ),
    "payments": (
        lazy_gettext("Paiements reçus"),
        lazy_gettext("Rechargements et factures payés pendant la période, par tout moyen de paiement."),
    ),
    "operations": (
        lazy_gettext("Opérations des portefeuilles"),
        lazy_gettext("Chaque mouvement des portefeuilles des élèves : + entrée, − sortie."),
    ),
    "sales": (
        lazy_gettext("Ventes"),
        lazy_gettext("Chaque ligne de vente payée depuis un portefeuille (cantine, magasin, photocopies…)."),
    ),
}
RANGE_ERRORS = {
    "from": lazy_gettext("Indiquez une date de début valide."),
    "to": lazy_gettext("Indiquez une date de fin valide, au plus tard un an après le début."),
}


@dataclass(frozen=True)
class Preset:
    label: str
    first: date
    last: date


def _month(day: date, back: int = 0) -> tuple[date, date]:
    index = day.year * 12 + day.month - 1 - back
    first = date(index // 12, index % 12 + 1, 1)
    nxt = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _school_year(day: date, back: int = 0) -> tuple[date, date]:
    start_year = (day.year if day.month >= SCHOOL_YEAR_MONTH else day.year - 1) - back
    return date(start_year, SCHOOL_YEAR_MONTH, 1), date(start_year + 1, SCHOOL_YEAR_MONTH, 1) - timedelta(
        days=1
    )


def presets(today: date) -> list[Preset]:
    """The ranges offered in one click, the first being the page's default."""
    this_year, last_year = _school_year(today), _school_year(today, 1)
    this_years, last_years = (f"{y[0].year}-{y[1].year}" for y in (this_year, last_year))
    return [
        Preset(_("Ce mois-ci"), *_month(today)),
        Preset(_("Le mois passé"), *_month(today, 1)),
        Preset(_("Cette année scolaire (%(years)s)", years=this_years), *this_year),
        Preset(_("L'année scolaire passée (%(years)s)", years=last_years), *last_year),
    ]


def _today() -> date:
    return datetime.now(BRUSSELS).date()


def _day(text: str) -> str:
    try:
        return format_date(date.fromisoformat(text), current_lang())
    except ValueError:
        return text


@bp.get("/gestion/exports")
@login_required
def index():
    """The range (``?from=&to=``, default this month), each export's rows and total, the downloads."""
    require_staff()
    offered = presets(_today())
    first = (request.args.get("from") or offered[0].first.isoformat()).strip()[:32]
    last = (request.args.get("to") or offered[0].last.isoformat()).strip()[:32]
    errors: dict[str, str] = {}
    rows = []
    try:
        got = exports.export_totals(first, last)
    except InvalidRequest as err:
        errors = {f: str(RANGE_ERRORS[f]) for f in ("from", "to") if f in err.fields} or {
            "from": str(RANGE_ERRORS["from"])
        }
    else:
        for t in got.totals:
            label, hint = EXPORTS[t.name]
            rows.append(
                {
                    "name": t.name,
                    "label": str(label),
                    "hint": str(hint),
                    "rows": t.rows,
                    "total_cents": t.total_cents,
                    "file": file_name(t.name, first, last),
                }
            )
    return render_template(
        "exports/index.html",
        first=first,
        last=last,
        first_text=_day(first),
        last_text=_day(last),
        presets=offered,
        rows=rows,
        errors=errors,
    ), (400 if errors else 200)


OUTCOMES = {
    "wallet": lazy_gettext("Crédité sur un portefeuille"),
    "invoice": lazy_gettext("Payé sur une facture"),
    "unmatched": lazy_gettext("À attribuer"),
    "debit": lazy_gettext("Débit (non comptabilisé)"),
    # a direct-debit batch's credit (several items at once) and a debit the family's bank returned
    # (finance's use_cases/direct_debit_returns.py)
    "direct_debit": lazy_gettext("Lot de prélèvements encaissé"),
    "direct_debit_return": lazy_gettext("Prélèvement rejeté par la banque"),
}


@bp.get("/gestion/extraits/<import_id>")
@login_required
def reconciliation(import_id: str):
    """One statement import: its counts and every movement it recorded with its outcome, by pages."""
    require_staff()
    cursor = request.args.get("cursor", "")[:500]
    got = exports.statement_import(import_id, cursor)
    imp = got.statement_import
    lang = current_lang()
    return render_template(
        "exports/reconciliation.html",
        imp=imp,
        imported_at=format_instant(datetime.fromisoformat(imp.created_at), lang),
        movements=got.movements,
        day=_day,
        instant=lambda text: format_instant(datetime.fromisoformat(text), lang) if text else "",
        outcomes=OUTCOMES,
        reasons=REASONS,
        next_cursor=got.next_cursor,
        later=bool(cursor),
    )
