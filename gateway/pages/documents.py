"""Web pages: the documents of the active child ("Pas lu" / "Déjà lu"), and depositing them (staff)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls.account import list_students
from gateway.calls.documents import deposit, list_documents, open_document
from gateway.pages.account import current_child, login_required, parent_page
from gateway.web import require_staff
from kit.errors import AppError, InvalidRequest, TooLarge

bp = Blueprint("documents", __name__)


@bp.get("/documents")
@parent_page
def index():
    child = current_child()
    state = request.args.get("onglet", "pas-lu")
    api_state = "read" if state == "deja-lu" else "unread"
    resp = list_documents(child.id, api_state, limit=200)
    return render_template(
        "documents/index.html",
        documents=resp.documents,
        tab=api_state,
        unread_count=resp.unread_count,
        nav_active="documents",
    )


@bp.get("/documents/<document_id>/fichier")
@login_required
def open_file(document_id: str):
    return open_document(document_id)


@bp.route("/gestion/documents", methods=["GET", "POST"])
@login_required
def staff_deposit():
    require_staff()
    errors: dict[str, str] = {}
    if request.method == "POST":
        ids = request.form.getlist("student_ids")
        try:
            made = deposit(
                request.form.get("title", "").strip(),
                request.files.get("file"),
                ids,
                request.form.get("class_name", "").strip(),
            )
        except TooLarge:
            errors["file"] = _("Le fichier est trop volumineux (20 Mo au maximum).")
        except InvalidRequest as err:
            errors = {k: v for k, v in err.fields.items()} or {"form": err.message}
        except AppError as err:
            errors["form"] = err.message
        else:
            flash(_("Document déposé pour %(n)d élève(s).", n=len(made.documents)), "success")
            return redirect(url_for("documents.staff_deposit"))
    students = list_students()
    classes = sorted({s.class_name for s in students})
    return render_template(
        "documents/deposit.html", students=students, classes=classes, errors=errors, form=request.form
    ), (400 if errors else 200)
