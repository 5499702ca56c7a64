"""The school's refunds to a bank account (issue #18), under /gestion/remboursements:

- the refunds (date, child, wallet, amount, IBAN masked, batched or waiting) and the credit-transfer
  batches (date, count, total, each one's pain.001.001.03 file), keyset pages;
- "Créer le lot de virements": every refund not yet batched gathered in one batch, once per form (its
  Idempotency key is drawn when the page is shown: a double click makes one batch);
- a new refund: a child found by name or class (those who left first), one of their wallets, what it
  proposes (its balance, an active mandate's IBAN and holder), the IBAN, holder, amount and reason
  checked on their fields, a confirmation saying the wallet is debited at once, then the refund,
  once per form key.

The same calls as ``gateway.api.refunds``; finance owns every rule (the IBAN, never below zero, each
refund in one batch, the school's scope: another school's wallet or batch is not found)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from cartable.finance.v1 import sepa_pb2
from gateway.api.direct_debits import file_response
from gateway.calls import finance, refunds, students
from gateway.i18n import current_lang, eur, form_cents
from gateway.i18n import reader_day as _day
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.epc import validate_iban
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.money import cents_to_decimal_str

bp = Blueprint("refunds", __name__)

PER_PAGE = 50
PENDING_LIMIT = 200
LEAVERS_SHOWN = 20
HOLDER_MAX = 70  # the creditor's name in a SEPA file
REASON_MAX = 140  # the unstructured remittance
FIELDS = ("iban", "holder_name", "amount", "reason")
STATUSES = {
    "pending": lazy_gettext("En attente d'un lot"),
    "batched": lazy_gettext("Dans un lot"),
}
ERRORS = {
    "iban_missing": lazy_gettext("Indiquez l'IBAN du compte à créditer, par exemple BE68 5390 0754 7034."),
    "iban": lazy_gettext(
        "Cet IBAN n'est pas valable ou n'est pas d'un pays SEPA : vérifiez-le, par exemple BE68 5390 0754 7034."
    ),
    "holder_name": lazy_gettext("Indiquez le nom du titulaire du compte (70 caractères au plus)."),
    "amount": lazy_gettext("Indiquez le montant en euros, par exemple 12,50."),
    "amount_zero": lazy_gettext("Le montant doit être supérieur à 0,00 €."),
    "reason": lazy_gettext("Le motif tient en 140 caractères au plus."),
}


def _name(s) -> str:
    return " ".join(p for p in (s.first_name, s.last_name) if p)


def _typed(cents: int) -> str:
    """An amount as the form's field shows it: ``12,50`` (``12.50`` in English)."""
    text = cents_to_decimal_str(cents)
    return text if current_lang() == "en" else text.replace(".", ",")


def _grouped(iban: str) -> str:
    """``BE68539007547034`` -> ``BE68 5390 0754 7034``, as IBANs are read aloud and checked."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


# -- what the pages show ----------------------------------------------------------------------------


def _student_view(s) -> dict:
    return {
        "id": s.id,
        "name": _name(s),
        "class_name": s.class_name,
        "left": s.status == "left",
        "left_on": _day(s.left_on) if s.left_on else "",
    }


def _refund_views(items) -> list[dict]:
    found = refunds.students_by_ids(r.student_id for r in items)
    out = []
    for r in items:
        s = found.get(r.student_id)
        out.append(
            {
                "id": r.id,
                "date": _day(r.created_at) if r.created_at else "",
                "child": _name(s) if s else "—",
                "class_name": s.class_name if s else "",
                "student_id": r.student_id,
                "wallet": r.wallet_name,
                "amount_cents": r.amount_cents,
                "iban": r.iban_masked,
                "holder_name": r.holder_name,
                "reason": r.reason,
                "status": r.status,
                "status_text": str(STATUSES.get(r.status, r.status)),
            }
        )
    return out


def _batch_view(b: sepa_pb2.RefundBatch) -> dict:
    return {
        "id": b.id,
        "date": _day(b.created_at) if b.created_at else "",
        "execution_date": _day(b.execution_date) if b.execution_date else "",
        "count": b.count,
        "total_cents": b.total_cents,
        "message_id": b.message_id,
    }


def _index(batch_key: str = "", errors: dict[str, str] | None = None, status: int = 200):
    cursor = request.args.get("cursor", "")[:500]
    lots = request.args.get("lots", "")[:500]
    try:
        page = refunds.list_refunds(limit=PER_PAGE, cursor=cursor)
        batches = refunds.list_batches(PER_PAGE, lots)
    except InvalidRequest:
        if not (cursor or lots):
            raise
        flash(_("Ce lien ne mène plus à une page de la liste : voici la première."), "error")
        return redirect(url_for("refunds.index"), code=303)
    pending = refunds.list_refunds(unbatched=True, limit=PENDING_LIMIT)
    return render_template(
        "refunds/index.html",
        refunds=_refund_views(list(page.items)),
        next_cursor=page.next_cursor,
        later=bool(cursor),
        batches=[_batch_view(b) for b in batches.items],
        next_lots=batches.next_cursor,
        later_lots=bool(lots),
        pending_count=len(pending.items),
        pending_more=bool(pending.next_cursor),
        pending_cents=sum(r.amount_cents for r in pending.items),
        school_iban=finance.get_settings().iban,
        batch_key=batch_key or str(uuid.uuid4()),
        errors=errors or {},
    ), status


def _batch_refused(err: Conflict) -> dict[str, str]:
    if err.code == "batch_empty":
        return {
            "batch": _(
                "Aucun remboursement n'attend de lot : chaque remboursement est déjà dans un lot. "
                "Enregistrez d'abord un remboursement."
            )
        }
    if err.code == "method_disabled":
        return {
            "batch": _(
                "Les réglages de l'école n'indiquent pas son IBAN et son bénéficiaire : les virements "
                "ne peuvent pas partir de son compte."
            ),
            "settings": "yes",
        }
    raise err


# -- the refund's form ------------------------------------------------------------------------------


def _chosen(student_id: str, wallet_id: str | None = None):
    """(student view, their wallets, the chosen wallet or None): another school's student or a
    wallet not theirs is not found."""
    found = refunds.students_by_ids([student_id[:36]]).get(student_id[:36])
    if found is None:
        raise NotFound(_("Cet élève n'est pas un élève de votre école."))
    try:
        wallets = refunds.student_wallets(found.id)
    except NotFound:
        raise NotFound(_("Cet élève n'est pas un élève de votre école.")) from None
    wallet = None
    if wallet_id is not None:
        wallet = next((w for w in wallets if w.id == wallet_id[:36]), None)
        if wallet is None:
            raise NotFound(_("Ce portefeuille n'est pas un portefeuille de cet élève."))
    return _student_view(found), wallets, wallet


def _read_form(form, balance_cents: int | None) -> tuple[dict, dict[str, str], int | None]:
    """The form as typed (to show again), its errors by field and the amount in cents; checked
    beforehand as finance checks them again when the refund is made. ``balance_cents`` None: the
    amount is not compared with the balance (finance does, under the wallet's lock: a form posted
    again once its refund is made gets that refund back, not "more than the balance")."""
    data = {
        "iban": " ".join((form.get("iban") or "").split())[:60],
        "holder_name": " ".join((form.get("holder_name") or "").split())[:200],
        "amount": (form.get("amount") or "").strip()[:40],
        "reason": " ".join((form.get("reason") or "").split())[:500],
        "key": (form.get("key") or "").strip()[:100] or str(uuid.uuid4()),
    }
    errors: dict[str, str] = {}
    if not data["iban"]:
        errors["iban"] = str(ERRORS["iban_missing"])
    else:
        try:
            data["iban"] = _grouped(validate_iban(data["iban"]))
        except ValueError:
            errors["iban"] = str(ERRORS["iban"])
    if not data["holder_name"] or len(data["holder_name"]) > HOLDER_MAX:
        errors["holder_name"] = str(ERRORS["holder_name"])
    if len(data["reason"]) > REASON_MAX:
        errors["reason"] = str(ERRORS["reason"])
    cents = None
    try:
        cents = form_cents(data["amount"], message="not an amount")
    except InvalidRequest:
        errors["amount"] = str(ERRORS["amount"])
    if cents is not None and cents <= 0:
        errors["amount"] = str(ERRORS["amount_zero"])
    elif cents is not None and balance_cents is not None and cents > balance_cents:
        errors["amount"] = _over(balance_cents)
    return data, errors, cents


def _over(balance_cents: int) -> str:
    if balance_cents <= 0:
        return _("Ce portefeuille est vide : il n'y a rien à rembourser.")
    return _(
        "Le portefeuille ne contient que %(balance)s : remboursez au plus ce montant.",
        balance=eur(balance_cents),
    )


def _finance_refused(err: InvalidRequest | Conflict, data: dict, balance_cents: int) -> dict[str, str]:
    """What finance's refusal of the refund means to the reader, on its field when it has one."""
    if isinstance(err, InvalidRequest):
        names = {"iban": "iban", "holder_name": "holder_name", "amount_cents": "amount", "reason": "reason"}
        errors = {names[f]: str(ERRORS[names[f]]) for f in err.fields if f in names}
        if "amount" in errors:
            errors["amount"] = str(ERRORS["amount_zero"])
        return errors or {"form": _("Le remboursement n'a pas été enregistré : vérifiez le formulaire.")}
    if err.code == "insufficient_balance":
        return {"amount": _over(balance_cents)}
    if err.code == "idempotency_key_reused":
        data["key"] = str(uuid.uuid4())
        return {
            "form": _(
                "Ce formulaire a déjà servi pour un autre remboursement. Vérifiez les champs et recommencez."
            )
        }
    raise err


def _default_reason(wallet, student: dict) -> str:
    """What finance writes on the transfer when no reason is given: its words, in French, whatever
    the page's language (the family's bank statement shows them as they are)."""
    return f"Remboursement {wallet.name} {student['name']}"


def _form_page(student, wallet, proposal, data: dict, errors: dict[str, str], status: int = 200):
    return render_template(
        "refunds/form.html",
        student=student,
        wallet=wallet,
        balance_cents=proposal.balance_cents,
        from_mandate=bool(proposal.iban),
        data=data,
        errors=errors,
        default_reason=_default_reason(wallet, student),
    ), status


# -- routes -------------------------------------------------------------------------------------------


@bp.get("/gestion/remboursements")
@login_required
def index():
    require_staff()
    return _index()


@bp.post("/gestion/remboursements/lots")
@login_required
def create_batch():
    """Every refund not yet batched in one credit-transfer batch, once per the form's key."""
    require_staff()
    key = (request.form.get("key") or "").strip()[:100] or str(uuid.uuid4())
    try:
        made = refunds.create_batch("", key)
    except Conflict as err:
        if err.code == "idempotency_key_reused":  # a new form, a new key
            return _index("", {"batch": _("Ce formulaire a déjà servi. Recommencez.")}, 409)
        return _index(key, _batch_refused(err), 409)
    flash(
        _(
            "Lot de virements créé : %(count)s remboursement(s), %(total)s. Téléchargez son fichier et "
            "déposez-le dans votre banque en ligne.",
            count=made.batch.count,
            total=eur(made.batch.total_cents),
        ),
        "success",
    )
    return redirect(url_for("refunds.index") + "#batches-title", code=303)


@bp.get("/gestion/remboursements/lots/<batch_id>/pain.001.xml")
@login_required
def batch_file(batch_id: str):
    require_staff()
    try:
        found = refunds.batch_file(batch_id)
    except NotFound:
        raise NotFound(_("Ce lot de virements n'est pas un lot de votre école.")) from None
    return file_response(found, "remboursements.xml")


@bp.get("/gestion/remboursements/nouveau")
@login_required
def search():
    """A child found by name or class (those who left first); without a search, the leavers."""
    require_staff()
    q = " ".join((request.args.get("q") or "").split())[:100]
    if q:
        found = refunds.search_students(q)
    else:
        found = students.find_students(status="left", limit=LEAVERS_SHOWN).students
    return render_template("refunds/search.html", q=q, results=[_student_view(s) for s in found])


@bp.get("/gestion/remboursements/eleves/<student_id>")
@login_required
def student(student_id: str):
    """The child's wallets and balances, each one's refund; the refunds already made for them."""
    require_staff()
    chosen, wallets, _wallet = _chosen(student_id)
    made = refunds.list_refunds(student_id=chosen["id"], limit=PER_PAGE)
    return render_template(
        "refunds/student.html",
        student=chosen,
        wallets=[{"id": w.id, "name": w.name, "balance_cents": w.balance_cents} for w in wallets],
        refunds=_refund_views(list(made.items)),
    )


@bp.route("/gestion/remboursements/eleves/<student_id>/portefeuilles/<wallet_id>", methods=["GET", "POST"])
@login_required
def refund(student_id: str, wallet_id: str):
    """GET: the form, filled with what the wallet proposes. POST ``step=check``: the fields checked,
    then the confirmation; ``step=edit``: the form again as typed; ``step=create``: the refund, once
    per key, then the list."""
    require_staff()
    chosen, _wallets, wallet = _chosen(student_id, wallet_id)
    proposal = refunds.proposal(wallet.id)
    if request.method == "GET":
        data = {
            "iban": _grouped(proposal.iban) if proposal.iban else "",
            "holder_name": proposal.holder_name,
            "amount": _typed(proposal.balance_cents) if proposal.balance_cents > 0 else "",
            "reason": "",
            "key": str(uuid.uuid4()),
        }
        return _form_page(chosen, wallet, proposal, data, {})
    step = request.form.get("step")
    data, errors, cents = _read_form(request.form, None if step == "create" else proposal.balance_cents)
    if step == "edit":  # back from the confirmation: the form as typed
        return _form_page(chosen, wallet, proposal, data, {})
    if errors:
        return _form_page(chosen, wallet, proposal, data, errors, 400)
    assert cents is not None
    if step != "create":
        return render_template(
            "refunds/confirm.html",
            student=chosen,
            wallet=wallet,
            data=data,
            amount_cents=cents,
            balance_cents=proposal.balance_cents,
            after_cents=proposal.balance_cents - cents,
            reason=data["reason"] or _default_reason(wallet, chosen),
        )
    try:
        made = refunds.create_refund(
            wallet.id, data["iban"], data["holder_name"], cents, reason=data["reason"], key=data["key"]
        )
    except (InvalidRequest, Conflict) as err:
        errors = _finance_refused(err, data, proposal.balance_cents)
        return _form_page(chosen, wallet, proposal, data, errors, 409 if isinstance(err, Conflict) else 400)
    r = made.refund
    flash(
        _(
            "Remboursement enregistré : %(amount)s du portefeuille %(wallet)s de %(child)s vers %(iban)s. "
            "Le solde est maintenant de %(balance)s. Le virement partira avec le prochain lot.",
            amount=eur(r.amount_cents),
            wallet=r.wallet_name,
            child=chosen["name"],
            iban=r.iban_masked,
            balance=eur(r.balance_after_cents),
        ),
        "success",
    )
    return redirect(url_for("refunds.index") + "#refunds-title", code=303)
