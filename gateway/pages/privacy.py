"""Web pages of a family's data (issue #21): the parent's "Mes données" (/compte/donnees: ask for an
export of everything Cartable holds on the family, follow it, download it for 7 days), and, on the
staff page of a parent, the same export asked at the office and the erasure of a family on request
(/gestion/parents/<id>/effacer: a confirmation page that says what goes, what is kept and why). The
same calls as ``gateway.api.privacy``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.api.privacy import family_of, start_export
from gateway.calls.account import get_parent, list_students
from gateway.calls.photos import get_photo
from gateway.calls.privacy import (
    Family,
    build_in_background,
    erase_family,
    get_retention_policy,
    list_exports,
    list_photo_consents,
    open_export,
    set_photo_consent,
    set_photo_subjects,
    update_retention_policy,
)
from gateway.i18n import current_lang
from gateway.pages.account import login_required
from gateway.web import load_session, require_staff
from kit.dates import BRUSSELS, format_instant
from kit.errors import AppError, Forbidden, InvalidRequest, RateLimited

bp = Blueprint("privacy", __name__)


def _when(instant: str) -> str:
    if not instant:
        return ""
    return format_instant(datetime.fromisoformat(instant).astimezone(BRUSSELS), current_lang())


def export_views(parent_id: str, family: Callable[[], Family]) -> list[dict]:
    """The parent's exports, newest first, as the pages show them; a pending one whose builder died
    is built again (its lease ran out). ``family`` is asked only then (for staff: a call to auth)."""
    views = []
    for e in list_exports(parent_id):
        if e.status == "pending":
            build_in_background(e, family())
        views.append(
            {
                "id": e.id,
                "status": e.status,
                "requested_at": _when(e.requested_at),
                "ready_at": _when(e.ready_at),
                "expires_at": _when(e.expires_at),
                "size_kib": max(1, round(e.size_bytes / 1024)) if e.size_bytes else 0,
                "by_staff": e.requested_by != parent_id,
            }
        )
    return views


def _too_many() -> str:
    return _(
        "Cinq exports ont déjà été préparés aujourd'hui pour cette famille : réessayez demain. "
        "Les exports prêts restent téléchargeables pendant 7 jours."
    )


def _parent_only():
    sess = load_session()
    if sess.account.role != "parent":
        raise Forbidden(_("Cette page est réservée aux parents."))
    return sess


@bp.get("/compte/donnees")
@login_required
def my_data():
    sess = _parent_only()
    ids = [c.id for c in sess.children]
    consents = list_photo_consents(ids)
    children = [
        {
            "id": c.id,
            "first_name": c.first_name,
            "shared": consents[c.id].share_with_other_families if c.id in consents else True,
        }
        for c in sess.children
    ]
    return render_template(
        "privacy/my_data.html", exports=export_views(sess.account.id, lambda: Family(ids)), children=children
    )


@bp.post("/compte/donnees/photos")
@login_required
def my_photo_consents():
    """One box per child: ticked, other families may see the photos the child appears in."""
    sess = _parent_only()
    consents = list_photo_consents([c.id for c in sess.children])
    for c in sess.children:
        share = request.form.get(f"share-{c.id}") == "on"
        known = consents.get(c.id)
        if known is None or known.share_with_other_families != share:
            set_photo_consent(c.id, share)
    flash(_("Vos choix pour les photos sont enregistrés."), "success")
    return redirect(url_for("privacy.my_data") + "#photos-title", code=303)


@bp.post("/compte/donnees")
@login_required
def my_data_request():
    sess = _parent_only()
    try:
        start_export(sess.account.id)
    except RateLimited:
        flash(_too_many(), "error")
        return redirect(url_for("privacy.my_data"), code=303)
    flash(
        _(
            "Votre export est en préparation. Vous recevrez un courriel dès qu'il est prêt ; "
            "il restera téléchargeable ici pendant 7 jours."
        ),
        "success",
    )
    return redirect(url_for("privacy.my_data"), code=303)


@bp.get("/compte/donnees/<export_id>/fichier")
@login_required
def my_data_file(export_id: str):
    _parent_only()
    return open_export(export_id)


# -- staff: a parent's page ---------------------------------------------------------------------------


def staff_exports(parent_id: str) -> list[dict] | None:
    """What the staff page of a parent shows of their exports; None when documents does not answer
    (the rest of the page still shows)."""
    try:
        return export_views(parent_id, lambda: family_of(parent_id))
    except AppError:
        return None


@bp.post("/gestion/parents/<parent_id>/export")
@login_required
def parent_export(parent_id: str):
    require_staff()
    try:
        start_export(parent_id)
    except RateLimited:
        flash(_too_many(), "error")
        return redirect(url_for("people.parent", parent_id=parent_id) + "#privacy-title", code=303)
    flash(
        _(
            "L'export est en préparation. Le parent reçoit un courriel quand il est prêt et le "
            "télécharge depuis son compte (« Mes données ») : il contient des données que seule la "
            "famille peut recevoir."
        ),
        "success",
    )
    return redirect(url_for("people.parent", parent_id=parent_id) + "#privacy-title", code=303)


@bp.route("/gestion/parents/<parent_id>/effacer", methods=["GET", "POST"])
@login_required
def parent_erase(parent_id: str):
    require_staff()
    parent, children = get_parent(parent_id)
    error = ""
    if request.method == "POST":
        if request.form.get("confirm") == "on":
            done = erase_family(parent_id)
            if done.already_erased:
                flash(_("Cette famille avait déjà été effacée : rien n'a changé."), "success")
            else:
                flash(
                    _(
                        "La famille est effacée dans tous les services. Les données comptables restent, "
                        "sous pseudonyme, jusqu'au %(date)s.",
                        date=done.keep_financial_until,
                    ),
                    "success",
                )
            return redirect(url_for("people.parent", parent_id=parent_id), code=303)
        error = _("Cochez la case pour confirmer : l'effacement ne peut pas être annulé.")
    erased = [c for c in children if c.status == "left"]
    kept = [c for c in children if c.status != "left"]
    return render_template("privacy/erase.html", parent=parent, erased=erased, kept=kept, error=error), (
        400 if error else 200
    )


# -- staff: who is on a photo -------------------------------------------------------------------------


@bp.route("/gestion/photos/<photo_id>/enfants", methods=["GET", "POST"])
@login_required
def photo_subjects(photo_id: str):
    """The children who appear in a photo, ticked among the students of its album's classes (the
    whole school's for a whole-school album); a child whose parents refused shows it."""
    require_staff()
    found = get_photo(photo_id, "")
    photo, album = found.photo, found.album
    if request.method == "POST":
        chosen = [i[:64] for i in request.form.getlist("student_ids")][:100]
        set_photo_subjects(photo_id, chosen)
        flash(_("Les enfants de la photo sont enregistrés."), "success")
        return redirect(url_for("privacy.photo_subjects", photo_id=photo_id), code=303)
    students = list_students(class_names=list(album.class_names) or None)
    tagged = set(photo.subject_ids)
    missing = sorted(tagged - {s.id for s in students})  # tagged, since moved to another class
    if missing:
        students += list_students(student_ids=missing)
    consents = list_photo_consents([s.id for s in students])
    rows = [
        {
            "id": s.id,
            "name": f"{s.first_name} {s.last_name}",
            "class_name": s.class_name,
            "tagged": s.id in tagged,
            "refused": s.id in consents and not consents[s.id].share_with_other_families,
        }
        for s in sorted(students, key=lambda s: (s.class_name, s.last_name, s.first_name))
    ]
    return render_template("privacy/photo_subjects.html", photo=photo, album=album, students=rows)


# -- staff: the school's retention policy --------------------------------------------------------------

RETENTION_ERRORS = {
    "personal_years": lambda: _("Un nombre d'années scolaires entre 1 et 10."),
    "financial_years": lambda: _("Un nombre d'années entre 7 et 30 : la loi belge impose 7 ans au moins."),
}


def _years(name: str, low: int, high: int, errors: dict[str, str]) -> int:
    raw = request.form.get(name, "").strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[name] = RETENTION_ERRORS[name]()
        return 0
    return int(raw)


@bp.route("/gestion/donnees-personnelles", methods=["GET", "POST"])
@login_required
def retention():
    """How long the school keeps a family's data once its children left, and what happens then."""
    require_staff()
    errors: dict[str, str] = {}
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {n: request.form.get(n, "").strip() for n in ("personal_years", "financial_years")}
        personal = _years("personal_years", 1, 10, errors)
        financial = _years("financial_years", 7, 30, errors)
        if not errors:
            try:
                update_retention_policy(personal, financial)
            except InvalidRequest as err:
                errors = {f: RETENTION_ERRORS[f]() for f in err.fields if f in RETENTION_ERRORS}
                errors = errors or {"form": err.message}
            else:
                flash(_("La durée de conservation est enregistrée."), "success")
                return redirect(url_for("privacy.retention"), code=303)
    policy = get_retention_policy()
    form = form or {
        "personal_years": str(policy.personal_years),
        "financial_years": str(policy.financial_years),
    }
    return render_template("privacy/retention.html", policy=policy, form=form, errors=errors), (
        400 if errors else 200
    )
