"""Staff pages: the school's people imported from a CSV (API.md "People CSV"), under /gestion/import.

Three steps, each a plain form (the page works without its script, import.js only shows progress):
1. the manager picks the file: a dry run (auth checks every row, writes nothing) shows what would be
   created and updated, or every bad row (line, column, reason) and nothing can be imported;
2. they confirm: the same file is imported (auth checks it again in the same transaction);
3. a summary of what was done.

Between the dry run and the confirmation the file is *not* kept on the server: the manager picks it
again in the confirmation form, and its SHA-256 must be the one checked (remembered in the signed
Flask session, with the manager's account id). Kept files would be a copy of every child's name and
parent's address on the gateway's disk, which production does not have to share (two replicas, a
read-only root, an emptyDir /tmp each: the confirmation may reach the other one), and would need
expiring and deleting; picking one file again costs the manager a click. Another file at the
confirmation is not imported: it is checked, as in step 1.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from gateway.api.imports import COUNTS, import_counts
from gateway.calls.account import import_people
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import TooLarge

bp = Blueprint("imports", __name__)

CHECKED = "people_import_checked"  # the Flask session's key: the file the dry run found good
DONE = "people_import_done"  # and what the last import did, for the summary page

# The People CSV's columns as the page explains them (API.md): (name, required, what it holds).
COLUMNS = [
    (
        "student_id",
        True,
        _l("Le numéro de l'élève dans le logiciel de l'école : il reconnaît l'élève d'un import à l'autre."),
    ),
    ("first_name", False, _l("Prénom de l'élève (obligatoire pour un nouvel élève).")),
    ("last_name", False, _l("Nom de l'élève (obligatoire pour un nouvel élève).")),
    ("class_name", False, _l("Classe, par exemple 3A (obligatoire pour un nouvel élève).")),
    (
        "level",
        False,
        _l(
            "maternelle, primaire ou secondaire (aussi kleuter, nursery, primary ou secondary ; obligatoire pour un nouvel élève)."
        ),
    ),
    ("birth_date", False, _l("Date de naissance, JJ/MM/AAAA ou AAAA-MM-JJ.")),
    ("parent1_first_name", False, _l("Prénom du premier parent (obligatoire pour un nouveau parent).")),
    ("parent1_last_name", False, _l("Nom du premier parent (obligatoire pour un nouveau parent).")),
    ("parent1_email", False, _l("Adresse e-mail du premier parent : elle reconnaît le parent.")),
    ("parent2_first_name", False, _l("Les mêmes colonnes pour un second parent, s'il y en a un.")),
    ("parent2_last_name", False, None),
    ("parent2_email", False, None),
]

# The example offered for download: ";" and UTF-8 with a BOM, as a Belgian spreadsheet opens it.
EXAMPLE_ROWS = [
    [name for name, _required, _what in COLUMNS],
    ["2024-001", "Emma", "Peeters", "3A", "primaire", "14/03/2016", "Sophie", "Peeters",
     "sophie.peeters@example.org", "Jan", "Peeters", "jan.peeters@example.org"],
    ["2024-002", "Noah", "Dubois-Lefèvre", "1B", "primaire", "02/09/2018", "Marie", "Dubois",
     "marie.dubois@example.org", "", "", ""],
    ["2024-003", "Léa", "D'Hondt", "2S1", "secondaire", "30/11/2012", "Karim", "El Amrani",
     "karim.elamrani@example.org", "Sophie", "Peeters", "sophie.peeters@example.org"],
]  # fmt: skip

# auth's problem codes (ImportProblem.code) in the reader's words; another code shows auth's message.
REASONS = {
    "required": _l("Cette case est obligatoire."),
    "too_long": _l("Trop long."),
    "invalid_name": _l(
        "Ce n'est pas un nom : des lettres, des espaces, des traits d'union ou des apostrophes."
    ),
    "invalid_text": _l("Cette case contient un caractère de contrôle."),
    "invalid_level": _l(
        "Niveau inconnu : maternelle, primaire ou secondaire (ou kleuter, nursery, primary, secondary)."
    ),
    "invalid_date": _l("Date non valable : JJ/MM/AAAA ou AAAA-MM-JJ, un jour passé, il y a moins de 60 ans."),
    "invalid_email": _l("Ce n'est pas une adresse e-mail."),
    "duplicate_student_id": _l("Ce numéro d'élève figure déjà sur une ligne plus haut."),
    "email_taken": _l(
        "Cette adresse e-mail est celle d'un autre compte (d'une autre école ou du personnel)."
    ),
    "conflicting_parent": _l("Une autre ligne donne un autre nom au parent de cette adresse e-mail."),
    "same_parent_twice": _l("Le second parent a la même adresse e-mail que le premier."),
    "too_many_values": _l("Cette ligne a plus de valeurs que l'en-tête n'a de colonnes."),
    "missing_column": _l("La colonne student_id manque (le séparateur est ; ou ,)."),
    "duplicate_column": _l("Cette colonne figure deux fois dans l'en-tête."),
    "empty_file": _l("Le fichier ne contient aucune ligne d'élève."),
    "not_text": _l("Ce n'est pas un fichier texte : enregistrez-le au format CSV."),
    "not_csv": _l("Ce fichier n'est pas un CSV lisible (un guillemet n'est pas refermé ?)."),
}
REQUIRED_FOR = {
    "a new student": _l("Obligatoire pour un nouvel élève."),
    "a new parent": _l("Obligatoire pour un nouveau parent."),
    "a parent needs": _l("Un parent a besoin de son adresse e-mail."),
}
LINE_REF = re.compile(r"\bline (\d+)\b")
AT_MOST = re.compile(r"at most (\d+)")


def reason(code: str, message: str) -> str:
    """A bad row's reason in the reader's words, with the line or length auth's message names."""
    if code == "required":
        for start, said in REQUIRED_FOR.items():
            if message.startswith(start):
                return str(said)
    text = str(REASONS.get(code, message))
    if code in ("duplicate_student_id", "conflicting_parent") and (line := LINE_REF.search(message)):
        text += " " + _("(ligne %(line)s)", line=line.group(1))
    elif code == "too_long" and (most := AT_MOST.search(message)):
        text += " " + _("%(num)s caractères au plus.", num=most.group(1))
    return text


def _problems(answer) -> list[dict[str, object]]:
    return [
        {"line": p.line, "column": p.column, "reason": reason(p.code, p.message)} for p in answer.problems
    ]


def _counts_said(counts: dict[str, int]) -> list[str]:
    """What an import does, one sentence a kind of change (those with none left out)."""
    said = {
        "students_created": ngettext(
            "%(num)d élève créé", "%(num)d élèves créés", counts["students_created"]
        ),
        "students_updated": ngettext(
            "%(num)d élève mis à jour", "%(num)d élèves mis à jour", counts["students_updated"]
        ),
        "parents_created": ngettext(
            "%(num)d parent créé (il recevra son jeton de connexion par courriel)",
            "%(num)d parents créés (ils recevront leur jeton de connexion par courriel)",
            counts["parents_created"],
        ),
        "parents_updated": ngettext(
            "%(num)d parent mis à jour", "%(num)d parents mis à jour", counts["parents_updated"]
        ),
        "links_created": ngettext(
            "%(num)d lien entre un parent et un enfant ajouté",
            "%(num)d liens entre un parent et un enfant ajoutés",
            counts["links_created"],
        ),
    }
    return [text for name, text in said.items() if counts[name]]


def _render(status: int = 200, **state):
    state.setdefault("problems", None)
    state.setdefault("checked", None)
    state.setdefault("error", None)
    return render_template("imports/people.html", columns=COLUMNS, said=_counts_said, **state), status


def _upload() -> tuple[bytes, str] | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    content = upload.read()
    return (content, upload.filename[:200]) if content else None


def _dry_run(content: bytes, filename: str, me: str, notice: str | None = None):
    """Step 1: check the file; remember it in the session when good."""
    session.pop(CHECKED, None)
    try:
        answer = import_people(content, True, filename)
    except TooLarge:
        return _render(413, error=_("Le fichier est trop volumineux : 10 Mo et 20 000 lignes au plus."))
    if answer.problems:
        return _render(400, problems=_problems(answer), filename=filename, rows=answer.rows, notice=notice)
    checked: dict[str, Any] = {
        "sha256": hashlib.sha256(content).hexdigest(),
        "filename": filename,
        "account_id": me,
        "counts": import_counts(answer),
    }
    if any(checked["counts"][n] for n in COUNTS if n != "rows"):
        session[CHECKED] = checked
    return _render(checked=checked, notice=notice)


@bp.get("/gestion/import")
@login_required
def people():
    require_staff()
    return _render()


@bp.post("/gestion/import")
@login_required
def check():
    sess = require_staff()
    got = _upload()
    if got is None:
        return _render(400, error=_("Choisissez le fichier CSV des élèves et de leurs parents."))
    return _dry_run(*got, sess.account.id)


@bp.post("/gestion/import/confirmer")
@login_required
def confirm():
    """Step 2: the checked file, picked again, imported."""
    sess = require_staff()
    checked = session.get(CHECKED)
    if not checked or checked.get("account_id") != sess.account.id:
        flash(_("Vérifiez d'abord le fichier : rien n'a été importé."), "error")
        return redirect(url_for("imports.people"), code=303)
    got = _upload()
    if got is None:
        return _render(
            400, checked=checked, confirm_error=_("Choisissez à nouveau le fichier vérifié pour l'importer.")
        )
    content, filename = got
    if hashlib.sha256(content).hexdigest() != checked["sha256"]:
        notice = _(
            "Ce fichier n'est pas celui qui a été vérifié : le voici vérifié à son tour. Rien n'a été importé."
        )
        return _dry_run(content, filename, sess.account.id, notice)
    try:
        answer = import_people(content, False, filename)
    except TooLarge:
        return _render(413, error=_("Le fichier est trop volumineux : 10 Mo et 20 000 lignes au plus."))
    if answer.problems:  # the school changed since the dry run (an e-mail taken meanwhile...)
        session.pop(CHECKED, None)
        return _render(400, problems=_problems(answer), filename=filename, rows=answer.rows)
    session.pop(CHECKED, None)
    session[DONE] = {"filename": filename, "counts": import_counts(answer)}
    return redirect(url_for("imports.summary"), code=303)


@bp.get("/gestion/import/bilan")
@login_required
def summary():
    """Step 3: what the import did (kept in the session: a reload shows it again)."""
    require_staff()
    done = session.get(DONE)
    if not done:
        return redirect(url_for("imports.people"), code=303)
    return render_template("imports/summary.html", done=done, said=_counts_said)


@bp.get("/gestion/import/exemple.csv")
@login_required
def example():
    require_staff()
    text = "\r\n".join(";".join(row) for row in EXAMPLE_ROWS) + "\r\n"
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="exemple-eleves-parents.csv"'},
    )
