"""Web pages of the school's students (API.md "School back office"), under /gestion/eleves: the list
(search by name, a class, present or left, a page at a time), a student's page (class, level, birth
date, the school's id, wallets with balances and structured communications, parents, invoices; a
form to change names, class, level, birth date, ids; the leaving date, confirmed), and the year's
turn (a whole class moved to its next one, after a confirmation saying how many students move).
The same calls as ``gateway.api.students``.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from gateway.calls.notifications import school_today
from gateway.calls.students import (
    EDITABLE,
    active_classes,
    find_students,
    get_student,
    leave_student,
    move_class,
    student_finance,
    update_student,
)
from gateway.i18n import current_lang
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.dates import format_date
from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable

bp = Blueprint("students", __name__)

PER_PAGE = 50
MAX_QUERY_CHARS = 200
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,1000}")
LEVEL_LABELS = {"nursery": _l("Maternelle"), "primary": _l("Primaire"), "secondary": _l("Secondaire")}
INVOICE_STATUS_LABELS = {
    "paid": _l("Payée"),
    "unpaid": _l("À payer"),
    "partially_paid": _l("Partiellement payée"),
    "cancelled": _l("Annulée par une note de crédit"),
}
FIELD_ERRORS = {
    "first_name": _l(
        "Indiquez le prénom : des lettres (accents, traits d'union et apostrophes permis), 100 caractères au plus."
    ),
    "last_name": _l(
        "Indiquez le nom : des lettres (accents, traits d'union et apostrophes permis), 100 caractères au plus."
    ),
    "class_name": _l("Indiquez la classe, 50 caractères au plus."),
    "level": _l("Choisissez maternelle, primaire ou secondaire."),
    "birth_date": _l("Indiquez une date de naissance valable : ni dans le futur, ni il y a plus de 60 ans."),
    "external_id": _l("L'identifiant de l'école compte 64 caractères au plus."),
    "national_number": _l(
        "Ce numéro de registre national n'est pas valable : vérifiez ses 11 chiffres (AA.MM.JJ-XXX.XX)."
    ),
}


def long_date(iso: str) -> str:
    """``2015-03-12`` as the reader writes it (``12 mars 2015``); "" for none."""
    if not iso:
        return ""
    try:
        return format_date(date.fromisoformat(iso[:10]), current_lang())
    except ValueError:
        return iso


def _render(template: str, **context):
    """A page of this area, with its labels and the reader's dates."""
    return render_template(
        template,
        level_labels=LEVEL_LABELS,
        invoice_status_labels=INVOICE_STATUS_LABELS,
        long_date=long_date,
        **context,
    )


def _student_or_404(student_id: str):
    try:
        return get_student(student_id)
    except NotFound:
        raise NotFound(_("Cet élève n'existe pas, ou n'est pas de votre école.")) from None


# -- the list ----------------------------------------------------------------------------------------


@bp.get("/gestion/eleves")
@login_required
def students():
    require_staff()
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    class_name = (request.args.get("class_name") or "").strip()[:MAX_QUERY_CHARS]
    status = "left" if request.args.get("status") == "left" else "active"
    cursor = request.args.get("cursor", "")
    cursor = cursor if CURSOR.fullmatch(cursor) else ""
    try:
        number = max(1, int(request.args.get("page", "1"))) if cursor else 1
    except ValueError:
        number = 1
    try:
        page = find_students(q, class_name, status, PER_PAGE, cursor)
    except InvalidRequest:  # a cursor that is not auth's (edited by hand): the first page
        return redirect(
            url_for("students.students", q=q or None, class_name=class_name or None, status=_st(status))
        )
    classes = active_classes()
    filters = {"q": q or None, "class_name": class_name or None, "status": _st(status)}
    return _render(
        "students/list.html",
        students=page.students,
        q=q,
        class_name=class_name,
        status=status,
        classes=list(classes) if class_name in classes or not class_name else [*classes, class_name],
        page=number,
        first=(number - 1) * PER_PAGE + 1,
        next_url=url_for("students.students", **filters, cursor=page.next_cursor, page=number + 1)
        if page.next_cursor
        else "",
        first_url=url_for("students.students", **filters) if cursor else "",
        has_more=bool(page.next_cursor),
    )


def _st(status: str) -> str | None:
    return status if status != "active" else None


# -- a student ---------------------------------------------------------------------------------------


def _full_name(s) -> str:
    return f"{s.first_name} {s.last_name}"


FLAG = "severe_disability"  # a checkbox: "1" when checked, "" when not


def _form_of(s) -> dict[str, str]:
    return {
        name: ("1" if s.severe_disability else "") if name == FLAG else getattr(s, name) for name in EDITABLE
    }


def _typed(changes: dict[str, str]) -> dict[str, str | bool]:
    return {name: bool(value) if name == FLAG else value for name, value in changes.items()}


def _render_student(
    found,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    leave: dict[str, str] | None = None,
    leave_errors: dict[str, str] | None = None,
):
    try:
        wallets, invoices = student_finance(found.student.id)
        finance_ok = True
    except Unavailable:
        wallets, invoices, finance_ok = [], [], False
    bad = bool(errors or leave_errors)
    return _render(
        "students/student.html",
        student=found.student,
        parents=list(found.parents),
        wallets=wallets,
        invoices=invoices,
        finance_ok=finance_ok,
        form=form or _form_of(found.student),
        errors=errors or {},
        leave=leave or {"left_on": found.student.left_on or school_today()},
        leave_errors=leave_errors or {},
    ), (400 if bad else 200)


@bp.get("/gestion/eleves/<student_id>")
@login_required
def student(student_id: str):
    require_staff()
    return _render_student(_student_or_404(student_id))


@bp.post("/gestion/eleves/<student_id>")
@login_required
def student_update(student_id: str):
    """The edit form: only the fields the manager changed are sent (another manager's change to
    the others stays)."""
    require_staff()
    found = _student_or_404(student_id)
    form = {name: request.form.get(name, "").strip() for name in EDITABLE}
    form[FLAG] = "1" if form[FLAG] else ""
    current = _form_of(found.student)
    changes = {name: value for name, value in form.items() if value != current[name]}
    if not changes:
        flash(_("Rien n'a changé."), "success")
        return redirect(url_for("students.student", student_id=found.student.id), code=303)
    try:
        saved = update_student(found.student.id, _typed(changes))
    except InvalidRequest as err:
        errors = {name: str(FIELD_ERRORS[name]) for name in err.fields if name in FIELD_ERRORS}
        return _render_student(found, form=form, errors=errors or {"form": err.message})
    except Conflict as err:
        if err.code != "external_id_taken":
            raise
        errors = {"external_id": _("Un autre élève de l'école a déjà cet identifiant.")}
        return _render_student(found, form=form, errors=errors)
    flash(
        _("Les modifications de %(name)s sont enregistrées.", name=_full_name(saved)),
        "success",
    )
    if "level" in changes and saved.level != found.student.level:
        flash(
            _(
                "Nouveau niveau : les portefeuilles reçoivent de nouvelles communications structurées "
                "(dans un instant). Les virements faits avec les anciennes les créditent toujours."
            ),
            "success",
        )
    return redirect(url_for("students.student", student_id=saved.id), code=303)


@bp.post("/gestion/eleves/<student_id>/depart")
@login_required
def student_leave(student_id: str):
    """The student leaves on the date given, once the box confirming it is ticked."""
    require_staff()
    found = _student_or_404(student_id)
    leave = {"left_on": request.form.get("left_on", "").strip(), "confirm": request.form.get("confirm", "")}
    errors: dict[str, str] = {}
    if not leave["left_on"]:
        errors["left_on"] = _("Indiquez la date du départ.")
    if leave["confirm"] != "yes":
        errors["confirm"] = _("Cochez la case pour confirmer le départ.")
    if not errors:
        try:
            saved = leave_student(found.student.id, leave["left_on"])
        except InvalidRequest as err:
            said = err.fields.get("left_on", "")
            errors["left_on"] = (
                _("La date du départ se situe entre deux ans avant et un an après aujourd'hui.")
                if "within" in said
                else _("Indiquez une date valable (jour, mois, année).")
            )
        else:
            flash(
                _(
                    "Le départ de %(name)s est enregistré au %(day)s. Ses parents le voient encore, en lecture seule.",
                    name=_full_name(saved),
                    day=long_date(saved.left_on),
                ),
                "success",
            )
            return redirect(url_for("students.student", student_id=saved.id), code=303)
    return _render_student(found, leave=leave, leave_errors=errors)


# -- the year's turn: a whole class moves ---------------------------------------------------------------


def _move_form() -> dict[str, str]:
    return {k: re.sub(r"\s+", " ", request.form.get(k, "")).strip() for k in ("from_class", "to_class")}


def _move_errors(form: dict[str, str], classes: dict[str, int]) -> dict[str, str]:
    errors = {}
    if form["from_class"] not in classes:
        errors["from_class"] = _("Choisissez une classe qui compte des élèves.")
    if not form["to_class"] or len(form["to_class"]) > 50:
        errors["to_class"] = _("Indiquez la nouvelle classe, 50 caractères au plus.")
    elif form["to_class"] == form["from_class"]:
        errors["to_class"] = _("Indiquez une autre classe que la classe actuelle.")
    return errors


def _render_move(classes: dict[str, int], form: dict[str, str], errors: dict[str, str]):
    return _render("students/move.html", classes=classes, form=form, errors=errors), (400 if errors else 200)


@bp.route("/gestion/eleves/changer-de-classe", methods=["GET", "POST"])
@login_required
def move():
    """The classes and their students; the form asks which class moves where, then a confirmation
    says how many students move (nothing moves before it)."""
    require_staff()
    classes = active_classes()
    if request.method == "GET":
        wanted = request.args.get("from_class", "")
        return _render_move(classes, {"from_class": wanted if wanted in classes else "", "to_class": ""}, {})
    form = _move_form()
    errors = _move_errors(form, classes)
    if errors:
        return _render_move(classes, form, errors)
    return _render(
        "students/move_confirm.html",
        form=form,
        count=classes[form["from_class"]],
        already=classes.get(form["to_class"], 0),
    )


@bp.post("/gestion/eleves/changer-de-classe/confirmer")
@login_required
def move_confirmed():
    require_staff()
    form = _move_form()
    try:
        moved = move_class(form["from_class"], form["to_class"])
    except InvalidRequest:
        classes = active_classes()
        return _render_move(
            classes,
            form,
            _move_errors(form, classes)
            or {"to_class": _("Indiquez la nouvelle classe, 50 caractères au plus.")},
        )
    if moved:
        flash(
            ngettext(
                "%(num)d élève de %(source)s est passé en %(target)s.",
                "%(num)d élèves de %(source)s sont passés en %(target)s.",
                moved,
                source=form["from_class"],
                target=form["to_class"],
            ),
            "success",
        )
    else:
        flash(
            _(
                "La classe %(source)s ne compte plus aucun élève : personne n'a changé de classe.",
                source=form["from_class"],
            ),
            "error",
        )
    return redirect(url_for("students.move"), code=303)
