"""Staff pages of the Flemish maximum bill (issue #19): the caps per school year and level under the
settings (/gestion/reglages/maximumfactuur), a student's counters (``counters_of``, shown on the
student's account page), and the words of a 409 ``max_bill_exceeded`` for the invoice form
(``exceeded_message``). Same calls as ``gateway.api.max_bill``; finance owns every rule."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from gateway.calls import max_bill
from gateway.calls.notifications import school_today
from gateway.i18n import eur, form_cents
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import AppError, InvalidRequest

bp = Blueprint("max_bill", __name__)

LEVEL_LABELS = {"kleuter": _l("Maternelle (kleuter)"), "lager": _l("Primaire (lager)")}
CAP_LABELS = {
    "strict": _l("Maximum à facturer strict (scherpe maximumfactuur)"),
    "less_strict": _l("Maximum à facturer moins strict (minder scherpe maximumfactuur)"),
}
FIELDS = ("school_year", "level", "strict", "less_strict")  # the caps form's fields, in order


def school_year_of(day: date) -> str:
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def current_school_year() -> str:
    return school_year_of(date.fromisoformat(school_today()))


def counters_of(student_id: str):
    """The student's counters of this school year, None when finance cannot say now."""
    try:
        return max_bill.get_max_bill(student_id)
    except AppError:
        return None


def exceeded_message(err: AppError) -> str | None:
    """A 409 max_bill_exceeded in words: which cap, of which year, what is left; None otherwise."""
    d = max_bill.exceeded_details(err)
    if d is None:
        return None
    return _(
        "Cette facture dépasserait le %(cap)s de l'année scolaire %(year)s : il reste %(left)s sur %(max)s"
        " (la facture y ajoute %(adding)s).",
        cap=CAP_LABELS.get(d["cap"], d["cap"]),
        year=d["school_year"],
        left=eur(d["left_cents"] or 0),
        max=eur(d["cap_cents"] or 0),
        adding=eur(d["adding_cents"] or 0),
    )


def _page(form: dict, errors: dict[str, str], status: int = 200):
    return (
        render_template(
            "max_bill/caps.html",
            caps=max_bill.list_caps(),
            form=form,
            errors=errors,
            # the first field refused takes the focus: its error is read at once, it is typed again
            first_error=next((n for n in FIELDS if n in errors), None),
            level_labels=LEVEL_LABELS,
        ),
        status,
    )


@bp.get("/gestion/reglages/maximumfactuur")
@login_required
def caps_page():
    require_staff()
    return _page(
        {"school_year": current_school_year(), "level": "lager", "strict": "", "less_strict": ""}, {}
    )


@bp.post("/gestion/reglages/maximumfactuur")
@login_required
def caps_save():
    require_staff()
    form = {name: (request.form.get(name) or "").strip()[:20] for name in FIELDS}
    errors: dict[str, str] = {}
    parts = form["school_year"].split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() and len(p) == 4 for p in parts)
        or int(parts[1]) != int(parts[0]) + 1
    ):
        errors["school_year"] = _("Une année scolaire comme 2026-2027.")
    if form["level"] not in LEVEL_LABELS:
        errors["level"] = _("Choisissez maternelle ou primaire.")
    cents: dict[str, int] = {}
    for name in ("strict", "less_strict"):
        try:
            cents[name] = form_cents(form[name], message="")
            if cents[name] < 0:
                raise InvalidRequest("")
        except InvalidRequest:
            errors[name] = _("Un montant en euros, par exemple 105,00.")
    if errors:
        errors["form"] = _("Les plafonds n'ont pas été enregistrés : corrigez les champs signalés.")
        return _page(form, errors, 400)
    max_bill.set_caps(form["school_year"], form["level"], cents["strict"], cents["less_strict"])
    flash(
        _(
            "Plafonds de %(year)s enregistrés pour %(level)s.",
            year=form["school_year"],
            level=LEVEL_LABELS[form["level"]],
        ),
        "success",
    )
    return redirect(url_for("max_bill.caps_page"), code=303)
