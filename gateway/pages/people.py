"""Web pages of the school's people (API.md "School back office": parents and staff), under /gestion:
the parents' list (search, status, pages) and a parent's page (status, children, a new connection
token, disable or enable, end the sessions), and the colleagues' list with their actions (disable
or enable, end the sessions, reset the second factor). The same calls as ``gateway.api.people``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from gateway.calls.account import (
    PARENT_STATUSES,
    check_role,
    create_staff,
    disable_account,
    enable_account,
    end_sessions,
    find_parents,
    get_parent,
    issue_connection_token,
    list_staff,
    list_students,
    reset_second_factor,
)
from gateway.pages.account import login_required
from gateway.pages.account_messages import account_error_message
from gateway.web import require_staff
from kit.errors import AppError, Conflict, InvalidRequest, NotFound

bp = Blueprint("people", __name__)

PER_PAGE = 50
MAX_QUERY_CHARS = 200


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _students_by_id(ids: list[str]) -> dict:
    return {s.id: s for s in list_students(student_ids=ids)} if ids else {}


# -- parents -----------------------------------------------------------------------------------------


@bp.get("/gestion/parents")
@login_required
def parents():
    require_staff()
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    status = request.args.get("status", "")
    status = status if status in PARENT_STATUSES else ""
    found = find_parents(q, status)
    pages = max(1, -(-len(found) // PER_PAGE))
    page = min(_page_number(), pages)
    shown = found[(page - 1) * PER_PAGE : page * PER_PAGE]
    children = _students_by_id(sorted({i for p in shown for i in p.student_ids}))
    return render_template(
        "people/parents.html",
        parents=shown,
        children=children,
        total=len(found),
        q=q,
        status=status,
        page=page,
        pages=pages,
    )


@bp.get("/gestion/parents/<parent_id>")
@login_required
def parent(parent_id: str):
    require_staff()
    found = get_parent(parent_id)
    children = _students_by_id(list(found.student_ids))
    return render_template(
        "people/parent.html", parent=found, children=[children[i] for i in found.student_ids if i in children]
    )


def _act(account_id: str, role: str, act, done) -> None:
    """Run ``act`` on a ``role`` account of the school and flash what happened: ``done`` (a message,
    or a function of what ``act`` answered), or auth's refusal in the reader's words. An account
    that is not the school's (or not of that role) is a 404 page."""
    require_staff()
    check_role(account_id, role)
    try:
        answer = act(account_id)
    except NotFound:
        raise
    except AppError as err:
        flash(account_error_message(err) or err.message, "error")
    else:
        flash(done(answer) if callable(done) else done, "success")


def _on_parent(parent_id: str, act, done):
    _act(parent_id, "parent", act, done)
    return redirect(url_for("people.parent", parent_id=parent_id), code=303)


@bp.post("/gestion/parents/<parent_id>/jeton")
@login_required
def parent_token(parent_id: str):
    return _on_parent(
        parent_id,
        issue_connection_token,
        _("Un nouveau jeton de connexion a été envoyé par courriel ; l'ancien ne fonctionne plus."),
    )


@bp.post("/gestion/parents/<parent_id>/desactiver")
@login_required
def parent_disable(parent_id: str):
    return _on_parent(
        parent_id,
        disable_account,
        _("Le compte est désactivé : ses connexions sont fermées et il ne peut plus se connecter."),
    )


@bp.post("/gestion/parents/<parent_id>/activer")
@login_required
def parent_enable(parent_id: str):
    return _on_parent(parent_id, enable_account, _("Le compte est réactivé."))


@bp.post("/gestion/parents/<parent_id>/fin-des-sessions")
@login_required
def parent_sessions(parent_id: str):
    return _on_parent(parent_id, end_sessions, _ended)


def _ended(count: int) -> str:
    if not count:
        return _("Aucune connexion n'était ouverte.")
    return ngettext("%(num)d connexion a été fermée.", "%(num)d connexions ont été fermées.", count)


# -- colleagues ----------------------------------------------------------------------------------------


@bp.route("/gestion/collegues", methods=["GET", "POST"])
@login_required
def colleagues():
    """The school's staff; the form adds a colleague (auth mails them a connection token)."""
    sess = require_staff()
    form: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in ("first_name", "last_name", "email", "language")}
        errors = _colleague_errors(form)
        if not errors:
            try:
                made = create_staff(
                    form["first_name"], form["last_name"], form["email"], form["language"] or "fr"
                )
            except InvalidRequest as err:
                errors = {
                    f: str(COLLEAGUE_FIELD_ERRORS.get(f, _l("Ce champ n'est pas valable.")))
                    for f in err.fields
                }
                errors = errors or {"form": err.message}
            except Conflict as err:
                errors = {"email": account_error_message(err) or _("Cette adresse e-mail est déjà utilisée.")}
            else:
                flash(
                    _(
                        "Le compte de %(name)s est créé (nom d'utilisateur %(username)s) : un jeton de "
                        "connexion lui a été envoyé par courriel.",
                        name=f"{form['first_name']} {form['last_name']}",
                        username=made.username,
                    ),
                    "success",
                )
                return redirect(url_for("people.colleagues"), code=303)
        status = 400
    return render_template(
        "people/colleagues.html", staff=list_staff(), me=sess.account.id, form=form, errors=errors
    ), status


COLLEAGUE_FIELD_ERRORS = {
    "first_name": _l("Indiquez le prénom."),
    "last_name": _l("Indiquez le nom."),
    "email": _l("Indiquez une adresse e-mail valable, par exemple prenom.nom@ecole.be."),
    "language": _l("Choisissez le français, le néerlandais ou l'anglais."),
}


def _colleague_errors(form: dict[str, str]) -> dict[str, str]:
    errors = {}
    for name in ("first_name", "last_name"):
        if not form[name] or len(form[name]) > 100:
            errors[name] = str(COLLEAGUE_FIELD_ERRORS[name])
    email = form["email"]
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        errors["email"] = str(COLLEAGUE_FIELD_ERRORS["email"])
    if form["language"] not in ("", "fr", "nl", "en"):
        errors["language"] = str(COLLEAGUE_FIELD_ERRORS["language"])
    return errors


def _on_colleague(account_id: str, act, done):
    _act(account_id, "staff", act, done)
    return redirect(url_for("people.colleagues"), code=303)


@bp.post("/gestion/collegues/<account_id>/desactiver")
@login_required
def colleague_disable(account_id: str):
    return _on_colleague(
        account_id, disable_account, _("Le compte est désactivé : ses connexions sont fermées.")
    )


@bp.post("/gestion/collegues/<account_id>/activer")
@login_required
def colleague_enable(account_id: str):
    return _on_colleague(account_id, enable_account, _("Le compte est réactivé."))


@bp.post("/gestion/collegues/<account_id>/fin-des-sessions")
@login_required
def colleague_sessions(account_id: str):
    return _on_colleague(account_id, end_sessions, _ended)


@bp.post("/gestion/collegues/<account_id>/second-facteur")
@login_required
def colleague_second_factor(account_id: str):
    return _on_colleague(
        account_id,
        reset_second_factor,
        _("La validation en deux étapes de ce compte est réinitialisée et ses connexions sont fermées."),
    )
