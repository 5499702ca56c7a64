"""Staff pages of the school's invoices (API.md "School back office"), under /gestion/factures:

- the list: totals of the finance summary at the top, filters (status, class, overdue, a search in
  titles and numbers), pages of finance's keyset cursor;
- a series of invoices (bulk invoicing): a form (title, due date, lines in euros, classes and/or
  students), a confirmation, then a summary of what was issued. The form carries an Idempotency key
  drawn when it is rendered, kept through the confirmation: a double click or a reload issues once.

The same calls as ``gateway.api.invoices_staff``; finance owns every rule.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from cartable.finance.v1 import finance_pb2 as pb
from gateway.api.finance import INVOICE_STATUSES
from gateway.calls import finance
from gateway.calls.account import search_students
from gateway.i18n import form_cents
from gateway.pages.account import login_required
from gateway.pages.line_attributes import MAX_BILL_LABELS, field_errors, message_fields
from gateway.pages.line_attributes import read as read_line_attributes
from gateway.pages.max_bill import exceeded_message
from gateway.web import require_staff
from kit.errors import AppError, InvalidRequest

bp = Blueprint("invoices_staff", __name__)

PER_PAGE = 50
LINE_ROWS = 5
DONE = "invoices_bulk_done"  # the Flask session's key: what the last series issued, for its summary


def _filters() -> dict:
    status = request.args.get("status", "")
    return {
        "status": status if status in INVOICE_STATUSES else "",
        "class_name": request.args.get("classe", "")[:50],
        "overdue": request.args.get("en_retard", "") == "1",
        "q": (request.args.get("q") or "").strip()[:200],
    }


@bp.get("/gestion/factures")
@login_required
def invoices():
    require_staff()
    f = _filters()
    cursor = request.args.get("cursor", "")[:200]
    try:
        page = finance.list_school_invoices(**f, limit=PER_PAGE, cursor=cursor)
    except InvalidRequest:
        if not cursor:
            raise
        flash(_("Ce lien ne mène plus à une page de la liste : voici la première."), "error")
        return redirect(url_for("invoices_staff.invoices"), code=303)
    summary = finance.finance_summary()
    return render_template(
        "invoices_staff/list.html",
        items=page.items,
        next_cursor=page.next_cursor,
        later=bool(cursor),
        summary=summary,
        f=f,
        args={
            "status": f["status"] or None,
            "classe": f["class_name"] or None,
            "en_retard": "1" if f["overdue"] else None,
            "q": f["q"] or None,
        },
    )


# -- a series of invoices ----------------------------------------------------------------------------


def _read_form(form) -> tuple[dict, dict[str, str]]:
    """The series as typed (kept to show again) and its errors by field."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "title": (form.get("title") or "").strip()[:200],
        "due_on": (form.get("due_on") or "").strip()[:10],
        "class_names": [c[:50] for c in form.getlist("class_names") if c.strip()][:100],
        "student_ids": [s[:36] for s in form.getlist("student_ids") if s.strip()][:5000],
        "key": (form.get("key") or "")[:100] or str(uuid.uuid4()),
        "lines": [],
        "override_max_bill": form.get("override_max_bill") == "1",
    }
    if not data["title"]:
        errors["title"] = _("Indiquez un intitulé.")
    for i in range(LINE_ROWS):
        label = (form.get(f"label_{i}") or "").strip()[:300]
        qty_text = (form.get(f"quantity_{i}") or "").strip() or "1"
        price_text = (form.get(f"price_{i}") or "").strip()
        if not label and not price_text:
            continue
        row = {"label": label, "quantity": qty_text, "price": price_text, "index": i}
        if not label:
            errors[f"label_{i}"] = _("Indiquez le libellé de la ligne.")
        try:
            qty = int(qty_text)
            if not 1 <= qty <= 10_000:
                raise ValueError
            row["quantity_n"] = qty
        except ValueError:
            errors[f"quantity_{i}"] = _("Une quantité de 1 à 10 000.")
        try:
            cents = form_cents(price_text, message="")
            if not 0 <= cents <= 10_000_000:
                raise InvalidRequest("")
            row["cents"] = cents
        except InvalidRequest:
            errors[f"price_{i}"] = _("Un prix en euros, par exemple 12,50.")
        row.update(read_line_attributes(form, i, errors))
        data["lines"].append(row)
    if not data["lines"]:
        errors["label_0"] = _("Ajoutez au moins une ligne.")
    if not data["class_names"] and not data["student_ids"]:
        errors["targets"] = _("Choisissez au moins une classe ou un élève.")
    return data, errors


def _form_page(data: dict | None = None, errors: dict[str, str] | None = None, status: int = 200):
    summary = finance.finance_summary()
    students = search_students("", limit=200)
    data = data or {"key": str(uuid.uuid4()), "lines": [], "class_names": [], "student_ids": []}
    return (
        render_template(
            "invoices_staff/bulk.html",
            data=data,
            errors=errors or {},
            classes=[c.class_name for c in summary.classes if c.students],
            students=students,
            rows=LINE_ROWS,
            lines_by_index={ln["index"]: ln for ln in data.get("lines", [])},
            max_bill_labels=MAX_BILL_LABELS,
        ),
        status,
    )


@bp.get("/gestion/factures/nouvelle-serie")
@login_required
def bulk_form():
    require_staff()
    return _form_page()


@bp.post("/gestion/factures/nouvelle-serie")
@login_required
def bulk_submit():
    require_staff()
    data, errors = _read_form(request.form)
    if errors:
        return _form_page(data, errors, 400)
    per_invoice = sum(ln["quantity_n"] * ln["cents"] for ln in data["lines"])
    if request.form.get("step") != "issue":
        names = {
            s.id: f"{s.first_name} {s.last_name} ({s.class_name})" for s in search_students("", limit=200)
        }
        return render_template(
            "invoices_staff/confirm.html",
            max_bill_labels=MAX_BILL_LABELS,
            data=data,
            per_invoice=per_invoice,
            student_names=[names.get(i, i) for i in data["student_ids"]],
        )
    try:
        done = finance.bulk_create_invoices(
            data["title"],
            data["due_on"],
            [
                pb.InvoiceLineInput(
                    label=ln["label"],
                    quantity=ln["quantity_n"],
                    unit_price_cents=ln["cents"],
                    **message_fields(ln),
                )
                for ln in data["lines"]
            ],
            data["class_names"],
            data["student_ids"],
            data["key"],
            override_max_bill=data["override_max_bill"],
        )
    except InvalidRequest as e:
        fields = e.fields or {}
        mapped = field_errors(fields, data["lines"])
        if "due_on" in fields:
            mapped["due_on"] = _("Une date d'échéance, aujourd'hui ou plus tard.")
        if "class_names" in fields or "student_ids" in fields:
            mapped["targets"] = _("Une classe choisie n'a aucun élève actif.")
        mapped.setdefault("form", _("La série n'a pas été émise : corrigez les champs signalés."))
        return _form_page(data, mapped, 400)
    except AppError as e:
        exceeded = exceeded_message(e)
        if exceeded is not None:  # the manager may issue it knowingly: the form's override box
            return _form_page(data, {"max_bill": exceeded, "form": _("Rien n'a été émis.")}, 409)
        if e.code == "student_left":
            return _form_page(
                data,
                {"targets": _("Un élève choisi a quitté l'école."), "form": _("Rien n'a été émis.")},
                409,
            )
        raise
    session[DONE] = {"count": done.count, "total_cents": done.total_cents, "title": data["title"]}
    return redirect(url_for("invoices_staff.bulk_done"), code=303)


@bp.get("/gestion/factures/nouvelle-serie/resultat")
@login_required
def bulk_done():
    require_staff()
    done = session.get(DONE)
    if not done:
        abort(404)
    return render_template("invoices_staff/done.html", done=done)
