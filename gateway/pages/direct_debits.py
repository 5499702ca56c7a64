"""The school's direct debits (issue #18), under /gestion/domiciliations:

- the batches (collection date, count, total, collected, returned, status), keyset pages;
- "Nouveau prélèvement": the collection date (at least tomorrow) and the invoices' due date, checked,
  then a confirmation, then the batch is created once per form (its Idempotency key is drawn when
  the form is shown and carried through the confirmation: a double click or a reload creates one);
- the school's mandates (reference, holder and parent, children, status), one revoked after a
  confirmation page;
- one batch: its items (child, invoice or wallet, amount, FRST/RCUR, pending/collected/returned with
  the bank's reason in words), its pain.008 file, and what to do next.

A school without a SEPA creditor id is told so, with a link to its settings. The same calls as
``gateway.api.direct_debits``; finance owns every rule."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cartable.finance.v1 import sepa_pb2
from gateway.calls import direct_debits, finance
from gateway.i18n import eur
from gateway.i18n import reader_day as _day
from gateway.i18n import reader_instant as _instant
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.dates import BRUSSELS
from kit.errors import Conflict, InvalidRequest, NotFound

bp = Blueprint("direct_debits", __name__)

PER_PAGE = 50

BATCH_STATUSES = {
    "created": lazy_gettext("En attente du crédit bancaire"),
    "collected": lazy_gettext("Encaissé"),
    "partially_returned": lazy_gettext("Encaissé, avec des rejets"),
}
ITEM_STATUSES = {
    "pending": lazy_gettext("En attente"),
    "collected": lazy_gettext("Encaissé"),
    "returned": lazy_gettext("Rejeté"),
    "withdrawn": lazy_gettext("Retiré (mandat révoqué)"),
}
SEQUENCES = {
    "FRST": lazy_gettext("premier prélèvement"),
    "RCUR": lazy_gettext("prélèvement récurrent"),
}
# The ISO 20022 reason codes of an R-transaction, as a school's manager reads them.
RETURN_REASONS = {
    "AC01": lazy_gettext("Numéro de compte incorrect"),
    "AC04": lazy_gettext("Compte clôturé"),
    "AC06": lazy_gettext("Compte bloqué"),
    "AG01": lazy_gettext("Prélèvement interdit sur ce compte"),
    "AG02": lazy_gettext("Code d'opération non valable"),
    "AM04": lazy_gettext("Provision insuffisante"),
    "AM05": lazy_gettext("Prélèvement en double"),
    "BE05": lazy_gettext("Créancier non reconnu"),
    "FF01": lazy_gettext("Fichier non valable"),
    "MD01": lazy_gettext("Pas de mandat"),
    "MD02": lazy_gettext("Données du mandat manquantes ou incorrectes"),
    "MD06": lazy_gettext("Remboursement demandé par le débiteur"),
    "MD07": lazy_gettext("Débiteur décédé"),
    "MS02": lazy_gettext("Refus du débiteur"),
    "MS03": lazy_gettext("Refus du débiteur"),
    "RC01": lazy_gettext("Code BIC incorrect"),
    "RR01": lazy_gettext("Raison réglementaire"),
    "RR02": lazy_gettext("Raison réglementaire"),
    "RR03": lazy_gettext("Raison réglementaire"),
    "RR04": lazy_gettext("Raison réglementaire"),
    "SL01": lazy_gettext("Service particulier de la banque du débiteur"),
}
REVOKED_REASONS = {
    "parent": lazy_gettext("par le parent"),
    "staff": lazy_gettext("par l'école"),
    "bank_return": lazy_gettext("après un rejet de la banque"),
}


def return_reason(code: str) -> str:
    """A return's reason in words, its code after it: "Provision insuffisante (AM04)"."""
    if not code:
        return ""
    words = RETURN_REASONS.get(code.upper())
    if words is None:
        return _("Motif de la banque : %(code)s", code=code)
    return f"{words} ({code.upper()})"


def _today() -> date:
    return datetime.now(BRUSSELS).date()


def _name(s) -> str:
    return " ".join(p for p in (s.first_name, s.last_name) if p)


def _creditor_id() -> str:
    return finance.get_settings().creditor_id


# -- the form ------------------------------------------------------------------------------------------

ERRORS = {
    "collection_date": lazy_gettext("Choisissez une date de prélèvement à partir de demain."),
    "invoices_due_by": lazy_gettext("Indiquez une date d'échéance valide, ou laissez vide."),
}


def _read_form(form) -> tuple[dict, dict[str, str]]:
    """The form as typed (to show again) and its errors by field; the dates as the page checks them
    beforehand (finance checks them again when the batch is created)."""
    data = {
        "collection_date": (form.get("collection_date") or "").strip()[:10],
        "invoices_due_by": (form.get("invoices_due_by") or "").strip()[:10],
        "key": (form.get("key") or "").strip()[:100] or str(uuid.uuid4()),
    }
    errors: dict[str, str] = {}
    try:
        if date.fromisoformat(data["collection_date"]) <= _today():
            raise ValueError
    except ValueError:
        errors["collection_date"] = str(ERRORS["collection_date"])
    if data["invoices_due_by"]:
        try:
            date.fromisoformat(data["invoices_due_by"])
        except ValueError:
            errors["invoices_due_by"] = str(ERRORS["invoices_due_by"])
    return data, errors


def _refused(err: Exception, data: dict) -> tuple[dict[str, str], int]:
    """What finance's refusal of a batch means to the reader, and the page's status."""
    if isinstance(err, InvalidRequest):
        errors = {f: str(ERRORS[f]) for f in ERRORS if f in err.fields}
        return errors or {"form": _("Le lot n'a pas été créé : vérifiez les dates.")}, 400
    assert isinstance(err, Conflict)
    if err.code == "batch_empty":
        due_by = data["invoices_due_by"] or data["collection_date"]
        return {
            "form": _(
                "Rien à prélever : aucune facture ouverte à échéance au plus tard le %(date)s ni aucune "
                "recharge automatique en attente, pour les familles qui ont un mandat actif. Ce qui est "
                "déjà dans un lot n'est pas repris.",
                date=_day(due_by),
            )
        }, 409
    if err.code == "method_disabled":
        return {
            "form": _("L'école n'a pas d'identifiant de créancier SEPA : rien ne peut être prélevé.")
        }, 409
    if err.code == "idempotency_key_reused":
        data["key"] = str(uuid.uuid4())
        return {
            "form": _("Ce formulaire a déjà servi pour d'autres dates. Vérifiez les dates et recommencez.")
        }, 409
    raise err


# -- what the pages show ----------------------------------------------------------------------------


def _batch_view(b: sepa_pb2.DirectDebitBatch) -> dict:
    return {
        "id": b.id,
        "collection_date": _day(b.collection_date),
        "invoices_due_by": _day(b.invoices_due_by) if b.invoices_due_by else "",
        "count": b.count,
        "total_cents": b.total_cents,
        "collected_cents": b.collected_cents,
        "returned_cents": b.returned_cents,
        "status": b.status,
        "status_text": str(BATCH_STATUSES.get(b.status, b.status)),
        "message_id": b.message_id,
        "created_at": _instant(b.created_at) if b.created_at else "",
    }


def _revoked(m: sepa_pb2.Mandate) -> str:
    """ "Révoqué le 3 novembre 2026 par le parent"."""
    if not m.revoked_at:
        return _("Révoqué")
    by = REVOKED_REASONS.get(m.revoked_reason)
    if by is None:
        return _("Révoqué le %(date)s", date=_day(m.revoked_at))
    return _("Révoqué le %(date)s %(by)s", date=_day(m.revoked_at), by=by)


def _mandate_views(mandates: list[sepa_pb2.Mandate]) -> list[dict]:
    students, parents = direct_debits.people_names(
        [s for m in mandates for s in m.student_ids], [m.parent_account_id for m in mandates]
    )
    out = []
    for m in mandates:
        parent = parents.get(m.parent_account_id, "")
        out.append(
            {
                "id": m.id,
                "reference": m.reference,
                "holder_name": m.holder_name,
                "parent": parent if parent and parent != m.holder_name else "",
                "children": [
                    f"{_name(students[s])} ({students[s].class_name})" if s in students else "—"
                    for s in m.student_ids
                ],
                "iban": m.iban_masked or f"**** {m.iban_last4}",
                "signed_at": _day(m.signed_at) if m.signed_at else "",
                "active": m.status == "active",
                "revoked": "" if m.status == "active" else _revoked(m),
            }
        )
    return out


def _item_views(items) -> list[dict]:
    students, _parents = direct_debits.people_names([i.student_id for i in items])
    out = []
    for i in items:
        s = students.get(i.student_id)
        out.append(
            {
                "id": i.id,
                "child": _name(s) if s else "—",
                "class_name": s.class_name if s else "",
                "what": _("Facture %(number)s", number=i.invoice_number)
                if i.kind == "invoice"
                else _("Recharge du portefeuille %(wallet)s", wallet=i.wallet_name),
                "amount_cents": i.amount_cents,
                "sequence": i.sequence_type,
                "sequence_text": str(SEQUENCES.get(i.sequence_type, i.sequence_type)),
                "status": i.status,
                "status_text": str(ITEM_STATUSES.get(i.status, i.status)),
                "reason": return_reason(i.return_reason) if i.status == "returned" else "",
                "mandate_reference": i.mandate_reference,
                "holder_name": i.holder_name,
            }
        )
    return out


def _index(data: dict | None = None, errors: dict[str, str] | None = None, status: int = 200):
    cursor = request.args.get("cursor", "")[:500]
    try:
        page = direct_debits.list_batches(PER_PAGE, cursor)
    except InvalidRequest:
        if not cursor:
            raise
        flash(_("Ce lien ne mène plus à une page de la liste : voici la première."), "error")
        return redirect(url_for("direct_debits.index"), code=303)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    data = data or {
        "collection_date": (request.args.get("prelevement") or "")[:10] or tomorrow,
        "invoices_due_by": (request.args.get("echeance") or "")[:10],
        "key": str(uuid.uuid4()),
    }
    mandates = direct_debits.list_mandates()
    return render_template(
        "direct_debits/index.html",
        creditor_id=_creditor_id(),
        batches=[_batch_view(b) for b in page.items],
        next_cursor=page.next_cursor,
        later=bool(cursor),
        mandates=_mandate_views(mandates),
        active_mandates=sum(1 for m in mandates if m.status == "active"),
        data=data,
        errors=errors or {},
        tomorrow=tomorrow,
    ), status


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/gestion/domiciliations")
@login_required
def index():
    require_staff()
    return _index()


@bp.post("/gestion/domiciliations")
@login_required
def create():
    """``step=check``: the dates checked, then the confirmation; ``step=create``: the batch, once per
    key, then its page."""
    require_staff()
    data, errors = _read_form(request.form)
    if errors:
        return _index(data, errors, 400)
    if request.form.get("step") != "create":
        active = sum(1 for m in direct_debits.list_mandates() if m.status == "active")
        return render_template(
            "direct_debits/confirm.html",
            data=data,
            collection_date=_day(data["collection_date"]),
            due_by=_day(data["invoices_due_by"] or data["collection_date"]),
            active_mandates=active,
        )
    try:
        made = direct_debits.create_batch(data["collection_date"], data["invoices_due_by"], data["key"])
    except (InvalidRequest, Conflict) as err:
        errors, status = _refused(err, data)
        return _index(data, errors, status)
    batch = made.batch
    flash(
        _(
            "Lot créé : %(count)s prélèvement(s), %(total)s, le %(date)s.",
            count=batch.count,
            total=eur(batch.total_cents),
            date=_day(batch.collection_date),
        ),
        "success",
    )
    return redirect(url_for("direct_debits.batch", batch_id=batch.id), code=303)


@bp.get("/gestion/domiciliations/<batch_id>")
@login_required
def batch(batch_id: str):
    require_staff()
    try:
        found = direct_debits.get_batch(batch_id)
    except NotFound:
        raise NotFound(_("Ce lot de prélèvements n'est pas un lot de votre école.")) from None
    return render_template(
        "direct_debits/batch.html",
        batch=_batch_view(found),
        items=_item_views(list(found.items)),
        has_file=any(i.status != "withdrawn" for i in found.items),
        creditor_id=_creditor_id(),
    )


def _mandate(mandate_id: str) -> dict:
    found = [m for m in direct_debits.list_mandates() if m.id == mandate_id[:36]]
    if not found:
        raise NotFound(_("Ce mandat n'est pas un mandat de votre école."))
    return _mandate_views(found)[0]


@bp.route("/gestion/domiciliations/mandats/<mandate_id>/revoquer", methods=["GET", "POST"])
@login_required
def revoke(mandate_id: str):
    """A confirmation page first; its form revokes the mandate (nothing more is collected on it)."""
    require_staff()
    mandate = _mandate(mandate_id)
    if request.method == "GET":
        return render_template("direct_debits/revoke.html", mandate=mandate)
    direct_debits.revoke_mandate(mandate["id"])
    flash(
        _(
            "Mandat %(reference)s révoqué : plus rien ne sera prélevé sur ce mandat.",
            reference=mandate["reference"],
        ),
        "success",
    )
    return redirect(url_for("direct_debits.index") + "#mandates-title", code=303)
