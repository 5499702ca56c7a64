"""The periodic statements (décomptes périodiques, Fédération Wallonie-Bruxelles; issue #19), under
/gestion/decomptes:

- choose a class or the whole school and a period: a preset (this month, last month, this term) or two
  dates, at most four months (finance checks it: the page says its refusal on the fields);
- preview one student's statement as its PDF, as it will be filed;
- send every family of the class (or the school) its statement: one form, once per key (the key is
  drawn when the form is shown, a double click or a reload sends once), CSRF-protected; documents files
  each statement once per (period, student), so sending the same period again makes nothing twice;
- see what was sent (the statements filed in the students' documents, newest first).

The same calls as ``gateway.api.statements``; finance owns the rules, documents the PDF."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from gateway.api.statements import pdf_response
from gateway.calls import finance, statements
from gateway.calls.account import list_students, search_students
from gateway.i18n import reader_day as _day
from gateway.i18n import reader_instant as _instant
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.dates import BRUSSELS
from kit.errors import AppError, InvalidRequest

bp = Blueprint("statements", __name__)

SCHOOL = "__school__"
PRESETS = {
    "this_month": lazy_gettext("Ce mois-ci"),
    "last_month": lazy_gettext("Le mois passé"),
    "this_term": lazy_gettext("Ce trimestre"),
    "custom": lazy_gettext("D'autres dates"),
}
ERRORS = {
    "from": lazy_gettext("Indiquez le premier jour de la période."),
    "to": lazy_gettext(
        "Indiquez le dernier jour : le même jour que le premier ou plus tard, au plus quatre mois après."
    ),
    "scope": lazy_gettext("Choisissez une classe ou toute l'école."),
}
# The school year's terms as the statements' presets take them (each at most four months).
TERMS = ((9, 12), (1, 3), (4, 6), (7, 8))


def _today() -> date:
    return datetime.now(BRUSSELS).date()


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def preset_period(preset: str, today: date) -> tuple[date, date] | None:
    """The preset's days (both included), or None for ``custom`` / an unknown one."""
    if preset == "this_month":
        return today.replace(day=1), _month_end(today)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "this_term":
        first_month, last_month = next((a, b) for a, b in TERMS if a <= today.month <= b)
        return date(today.year, first_month, 1), _month_end(date(today.year, last_month, 1))
    return None


def read_choice(args) -> tuple[dict, dict[str, str]]:
    """The scope and period as chosen (to show again) and the errors the page sees before finance."""
    preset = args.get("preset") or "this_month"
    preset = preset if preset in PRESETS else "custom"
    data = {
        "scope": (args.get("scope") or "").strip()[:60],
        "preset": preset,
        "from": (args.get("from") or "").strip()[:10],
        "to": (args.get("to") or "").strip()[:10],
        "key": (args.get("key") or "").strip()[:100] or str(uuid.uuid4()),
    }
    errors: dict[str, str] = {}
    period = preset_period(preset, _today())
    if period is not None:
        data["from"], data["to"] = period[0].isoformat(), period[1].isoformat()
    for name in ("from", "to"):
        try:
            date.fromisoformat(data[name])
        except ValueError:
            errors[name] = str(ERRORS[name])
    return data, errors


def refused(err: InvalidRequest) -> dict[str, str]:
    """Finance's refusal of the period or scope, on the page's fields."""
    errors: dict[str, str] = {f: str(ERRORS[f]) for f in ("from", "to") if f in err.fields}
    if "class_name" in err.fields:
        errors["scope"] = str(ERRORS["scope"])
    return errors or {"form": err.message}


def _classes() -> list[str]:
    return [c.class_name for c in finance.finance_summary().classes if c.students and c.class_name]


def _students(scope: str) -> list:
    if scope == SCHOOL:
        return search_students("", limit=200)
    return list_students(class_names=[scope]) if scope else []


def _sent(cursor: str = "") -> tuple[list[dict], str]:
    page = statements.sent(limit=50, cursor=cursor)
    return [
        {
            "title": d.title,
            "period": _("du %(first)s au %(last)s", first=_day(d.from_date), last=_day(d.to_date)),
            "deposited_at": _instant(d.deposited_at),
            "student_id": d.student_id,
        }
        for d in page.documents
    ], page.next_cursor


def _period_refused(student_id: str, data: dict) -> dict[str, str]:
    """Finance's word on the chosen period (one to four months) before a preview or a sending is
    offered, said on the fields; nothing when finance cannot answer now (the sending asks again)."""
    try:
        statements.statement(student_id, data["from"], data["to"])
    except InvalidRequest as err:
        return refused(err)
    except AppError:
        pass
    return {}


def _page(data: dict, errors: dict[str, str], status: int = 200):
    classes = _classes()
    chosen = bool(data["scope"]) and (data["scope"] == SCHOOL or data["scope"] in classes)
    if data["scope"] and not chosen:
        errors = {**errors, "scope": str(ERRORS["scope"])}
        status = 400
    students = _students(data["scope"]) if chosen and not errors else []
    if students:
        errors = _period_refused(students[0].id, data)
        status = 400 if errors else status
    sent, next_cursor = _sent(request.args.get("cursor", ""))
    return (
        render_template(
            "statements/index.html",
            data=data,
            errors=errors,
            classes=classes,
            school=SCHOOL,
            presets=PRESETS,
            chosen=chosen and not errors,
            students=students if not errors else [],
            period=_("du %(first)s au %(last)s", first=_day(data["from"]), last=_day(data["to"])),
            sent=sent,
            next_cursor=next_cursor,
        ),
        status,
    )


@bp.get("/gestion/decomptes")
@login_required
def index():
    require_staff()
    data, errors = read_choice(request.args)
    if not request.args.get("scope"):
        errors = {}
    return _page(data, errors, 400 if errors else 200)


@bp.get("/gestion/decomptes/apercu")
@login_required
def preview():
    """One student's statement as its PDF, shown in the browser."""
    require_staff()
    data, errors = read_choice(request.args)
    student_id = (request.args.get("student_id") or "").strip()[:36]
    if errors or not student_id:
        return _page(data, errors or {"student_id": _("Choisissez un élève.")}, 400)
    try:
        pdf = statements.statement_pdf(student_id, data["from"], data["to"])
    except InvalidRequest as err:
        return _page(data, refused(err), 400)
    return pdf_response(pdf, "decompte.pdf", inline=True)


@bp.post("/gestion/decomptes/envoyer")
@login_required
def send():
    require_staff()
    data, errors = read_choice(request.form)
    scope = data["scope"]
    if not scope:
        errors["scope"] = str(ERRORS["scope"])
    if errors:
        return _page(data, errors, 400)
    if scope != SCHOOL and scope not in _classes():
        abort(404)
    try:
        out = statements.send(
            "" if scope == SCHOOL else scope, scope == SCHOOL, data["from"], data["to"], data["key"]
        )
    except InvalidRequest as err:
        return _page(data, refused(err), 400)
    period = _("du %(first)s au %(last)s", first=_day(data["from"]), last=_day(data["to"]))
    if out.sent:
        flash(
            _(
                "%(n)d décompte(s) envoyé(s) pour la période %(period)s. Chaque famille le trouve dans ses "
                "documents et reçoit un courriel.",
                n=out.sent,
                period=period,
            ),
            "success",
        )
    else:
        flash(
            _("Aucune facture pendant la période %(period)s : aucun décompte à envoyer.", period=period),
            "success",
        )
    return redirect(url_for("statements.index") + "#sent-title", code=303)
