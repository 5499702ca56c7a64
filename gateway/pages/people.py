"""Web pages of the school's people (API.md "School back office": parents and staff), under /gestion:
the parents' list (search, status, pages of auth's cursor) and a parent's page (status, children,
names and e-mail changed, another child linked by searching for them, a new connection token,
disable or enable, end the sessions), and the colleagues' list with their actions (disable or
enable, end the sessions, reset the second factor). The same calls as ``gateway.api.people``.
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
    link_children,
    list_staff,
    list_students,
    reset_second_factor,
    search_students,
    update_parent,
)
from gateway.pages.account import login_required
from gateway.pages.account_messages import account_error_message
from gateway.pages.privacy import staff_exports
from gateway.web import require_staff
from kit.errors import AppError, Conflict, InvalidRequest, NotFound

bp = Blueprint("people", __name__)

PER_PAGE = 50
MAX_QUERY_CHARS = 200
PICKER_SIZE = 20  # students offered by the picker of a parent's page: a name narrows it


def _position() -> int:
    """Where the page starts in the list (1 for the first), as the previous page said: only shown."""
    try:
        return max(1, int(request.args.get("debut", "1")))
    except ValueError:
        return 1


def _students_by_id(ids: list[str]) -> dict:
    return {s.id: s for s in list_students(student_ids=ids)} if ids else {}


def student_url(student_id: str) -> str:
    """The staff page of a student (/gestion/eleves/<id>)."""
    return url_for("students.student", student_id=student_id)


# -- parents -----------------------------------------------------------------------------------------


@bp.get("/gestion/parents")
@login_required
def parents():
    require_staff()
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    status = request.args.get("status", "")
    status = status if status in PARENT_STATUSES else ""
    cursor = request.args.get("cursor", "")[:1000]
    try:
        found, next_cursor = find_parents(q, status, PER_PAGE, cursor)
    except InvalidRequest:
        if not cursor:
            raise
        flash(_("Ce lien ne mène plus à une page de la liste : voici la première."), "error")
        return redirect(url_for("people.parents", q=q or None, status=status or None), code=303)
    start = _position() if cursor else 1
    children = _students_by_id(sorted({i for p in found for i in p.student_ids}))
    return render_template(
        "people/parents.html",
        parents=found,
        children=children,
        q=q,
        status=status,
        start=start,
        next_cursor=next_cursor,
        later=bool(cursor),
    )


PARENT_FORM = ("first_name", "last_name", "email")
PARENT_FIELD_ERRORS = {
    "first_name": _l("Indiquez le prénom : des lettres, des espaces, des traits d'union ou des apostrophes."),
    "last_name": _l("Indiquez le nom : des lettres, des espaces, des traits d'union ou des apostrophes."),
    "email": _l("Indiquez une adresse e-mail valable, par exemple prenom.nom@exemple.be."),
}


def _parent_page(parent_id: str, *, form: dict[str, str] | None = None, errors=None, status: int = 200):
    found, children = get_parent(parent_id)
    q = (request.args.get("eleve") or "").strip()[:MAX_QUERY_CHARS]
    candidates = None
    if q:
        linked = set(found.student_ids)
        candidates = [s for s in search_students(q, PICKER_SIZE) if s.id not in linked]
    return render_template(
        "people/parent.html",
        parent=found,
        children=children,
        student_url=student_url,
        form=form or {n: getattr(found, n) for n in PARENT_FORM},
        errors=errors or {},
        student_q=q,
        candidates=candidates,
        picker_size=PICKER_SIZE,
        exports=staff_exports(parent_id),
    ), status


@bp.get("/gestion/parents/<parent_id>")
@login_required
def parent(parent_id: str):
    require_staff()
    return _parent_page(parent_id)


@bp.post("/gestion/parents/<parent_id>/modifier")
@login_required
def parent_update(parent_id: str):
    """The parent's names and e-mail address; a refused value is shown on its field."""
    require_staff()
    form = {n: request.form.get(n, "").strip() for n in PARENT_FORM}
    errors = {
        n: str(PARENT_FIELD_ERRORS[n]) for n in ("first_name", "last_name") if not 0 < len(form[n]) <= 100
    }
    email = form["email"]
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        errors["email"] = str(PARENT_FIELD_ERRORS["email"])
    status = 400
    if not errors:
        try:
            update_parent(parent_id, **form)
        except InvalidRequest as err:
            errors = {f: str(PARENT_FIELD_ERRORS[f]) for f in err.fields if f in PARENT_FIELD_ERRORS}
            errors = errors or {"form": err.message}
        except Conflict as err:
            status = 409
            if err.code == "email_taken":
                errors = {"email": _("Cette adresse e-mail est déjà celle d'un autre compte.")}
            else:
                errors = {"form": account_error_message(err) or err.message}
        else:
            flash(_("Les coordonnées du parent sont enregistrées."), "success")
            return redirect(url_for("people.parent", parent_id=parent_id), code=303)
    return _parent_page(parent_id, form=form, errors=errors, status=status)


@bp.post("/gestion/parents/<parent_id>/enfants")
@login_required
def parent_link(parent_id: str):
    """Another child of the school for this parent (a brother or sister enrolled later)."""
    require_staff()
    student_id = request.form.get("student_id", "").strip()[:64]
    try:
        link_children(parent_id, [student_id] if student_id else [])
    except InvalidRequest:
        flash(_("Cet élève n'est pas un élève actif de l'école : rien n'a été lié."), "error")
    else:
        named = _students_by_id([student_id]).get(student_id)
        who = f"{named.first_name} {named.last_name}" if named else ""
        flash(
            _("%(name)s fait maintenant partie des enfants de ce parent.", name=who)
            if who
            else _("L'enfant fait maintenant partie des enfants de ce parent."),
            "success",
        )
    return redirect(url_for("people.parent", parent_id=parent_id), code=303)


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
