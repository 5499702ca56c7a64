"""Finance's part of a family's data (issue #21): ``ExportFamilyData`` (``kit.family_data``) answers,
for one parent and the children named, everything finance holds on them, one JSON file per kind
(``finance/<what>.json``). Erasure and anonymisation are in ``family_erasure.py``.

Every query names the caller's school and the family's ids (the students finance knows in that school,
their wallets, invoices and payments; the parent's own mandates and certificates): another school's
staff asking the same ids gets every file empty. What is not stored is not exported: periodic
statements are computed from the invoices (``invoices.json`` holds every figure they show). The
national numbers inside the tax certificates are left out (auth's part alone carries the family's)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, or_, select
from sqlalchemy.orm import Session

from cartable.privacy.v1 import privacy_pb2 as ppb
from kit.family_data import json_file, rows
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db
from services.finance.db import refund_tables, sepa_tables
from services.finance.db.tax_certificate_queries import tax_certificates
from services.finance.domain.ledger import wallet_account

PREFIX = "finance/"
# clear (as certified) or sealed (as stored, services/finance/national_numbers.py): neither is exported
NATIONAL_NUMBER_KEYS = frozenset({"national_number", "sealed_national_number"})


@dataclass
class Family:
    """The family's ids as finance has them in one school (ids of another school are not here)."""

    school_id: str
    parent_ids: list[str]
    student_ids: list[str]
    wallet_ids: list[str] = field(default_factory=list)
    invoice_ids: list[str] = field(default_factory=list)
    payment_ids: list[str] = field(default_factory=list)
    movement_ids: list[str] = field(default_factory=list)


def _ids(s: Session, column: Column, *where: Any) -> list[str]:
    return [str(v) for v in s.execute(select(column).where(*where)).scalars()]


def family_of(s: Session, school_id: str, parent_ids: Iterable[str], student_ids: Iterable[str]) -> Family:
    """The students of ``student_ids`` finance knows in ``school_id``, and what is theirs there: wallets,
    invoices, payments and the bank movements booked on them (their direct debits' returns, the
    transfers staff assigned to them)."""
    st = db.students
    wanted = [i for i in dict.fromkeys(student_ids) if i]
    found = _ids(s, st.c.id, st.c.school_id == school_id, st.c.id.in_(wanted)) if wanted else []
    fam = Family(school_id, [p for p in dict.fromkeys(parent_ids) if p], sorted(found))
    if not fam.student_ids:
        return fam
    here = fam.student_ids
    fam.wallet_ids = _ids(
        s, db.wallets.c.id, db.wallets.c.school_id == school_id, db.wallets.c.student_id.in_(here)
    )
    fam.invoice_ids = _ids(
        s, db.invoices.c.id, db.invoices.c.school_id == school_id, db.invoices.c.student_id.in_(here)
    )
    fam.payment_ids = _ids(
        s, db.payments.c.id, db.payments.c.school_id == school_id, db.payments.c.student_id.in_(here)
    )
    bm, dd, ut = db.bank_movements, sepa_tables.direct_debit_items, db.unmatched_transfers
    booked = _ids(
        s,
        bm.c.id,
        bm.c.school_id == school_id,
        or_(
            bm.c.wallet_id.in_(fam.wallet_ids),
            bm.c.invoice_id.in_(fam.invoice_ids),
            bm.c.payment_id.in_(fam.payment_ids),
        ),
    )
    # a return is the family's own line; a collection's credit names the whole batch, not the family
    returned = _ids(
        s,
        dd.c.return_movement_id,
        dd.c.school_id == school_id,
        dd.c.student_id.in_(here),
        dd.c.return_movement_id.is_not(None),
    )
    assigned = _ids(
        s,
        ut.c.movement_id,
        ut.c.school_id == school_id,
        ut.c.movement_id.is_not(None),
        or_(ut.c.assigned_wallet_id.in_(fam.wallet_ids), ut.c.assigned_invoice_id.in_(fam.invoice_ids)),
    )
    fam.movement_ids = sorted(set(booked) | set(returned) | set(assigned))
    return fam


def _select(
    s: Session, table: Table, *where: Any, order: Any = None, drop: tuple[str, ...] = ()
) -> list[dict]:
    cols = [c for c in table.c if c.name not in drop]
    q = select(*cols).where(*where)
    return rows(
        s.execute(q.order_by(*(order if isinstance(order, tuple) else (order,))) if order is not None else q)
    )


def _by(items: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        out.setdefault(item[key], []).append(item)
    return out


def without_national_numbers(content: Any) -> Any:
    """A certificate's content with every national number, clear or sealed, dropped at any depth."""
    if isinstance(content, dict):
        return {k: without_national_numbers(v) for k, v in content.items() if k not in NATIONAL_NUMBER_KEYS}
    if isinstance(content, list):
        return [without_national_numbers(v) for v in content]
    return content


def _students(s: Session, fam: Family) -> list[dict]:
    st = db.students
    return _select(s, st, st.c.school_id == fam.school_id, st.c.id.in_(fam.student_ids), order=st.c.id)


def _wallets(s: Session, fam: Family) -> list[dict]:
    w, wt, tx, p = db.wallets, db.wallet_types, db.ledger_transactions, db.ledger_postings
    wallets = rows(
        s.execute(
            select(w.c.id, w.c.student_id, wt.c.name, w.c.balance_cents, w.c.created_at)
            .join(wt, wt.c.id == w.c.wallet_type_id)
            .where(w.c.school_id == fam.school_id, w.c.id.in_(fam.wallet_ids))
            .order_by(w.c.student_id, wt.c.position)
        )
    )
    accounts = {wallet_account(x["id"]): x["id"] for x in wallets}
    moves = rows(
        s.execute(
            select(
                p.c.account,
                p.c.amount_cents,
                tx.c.id.label("transaction_id"),
                tx.c.created_at.label("at"),
                tx.c.kind,
                tx.c.method,
                tx.c.label,
            )
            .join(tx, tx.c.id == p.c.transaction_id)
            .where(tx.c.school_id == fam.school_id, p.c.account.in_(list(accounts)))
            .order_by(tx.c.created_at, p.c.id)
        )
    )
    by_wallet: dict[str, list[dict]] = {}
    for m in moves:
        by_wallet.setdefault(accounts[m.pop("account")], []).append(m)
    au = sepa_tables.auto_top_ups
    autos = {
        a["wallet_id"]: a
        for a in _select(s, au, au.c.school_id == fam.school_id, au.c.wallet_id.in_(fam.wallet_ids))
    }
    for x in wallets:
        x["movements"] = by_wallet.get(x["id"], [])
        x["auto_top_up"] = autos.get(x["id"])
    return wallets


def _communications(s: Session, fam: Family) -> list[dict]:
    c = db.structured_communications
    return _select(
        s,
        c,
        c.c.school_id == fam.school_id,
        or_(c.c.wallet_id.in_(fam.wallet_ids), c.c.invoice_id.in_(fam.invoice_ids)),
        order=(c.c.created_at, c.c.digits),
    )


def _sales(s: Session, fam: Family) -> list[dict]:
    sa, ln = db.sales, db.sale_lines
    sales = _select(
        s, sa, sa.c.school_id == fam.school_id, sa.c.student_id.in_(fam.student_ids), order=sa.c.created_at
    )
    lines = _by(_select(s, ln, ln.c.sale_id.in_([x["id"] for x in sales]), order=ln.c.position), "sale_id")
    for x in sales:
        x["lines"] = lines.get(x["id"], [])
    return sales


def _invoices(s: Session, fam: Family) -> list[dict]:
    inv, ln, cn = db.invoices, db.invoice_lines, db.credit_notes
    invoices = _select(
        s, inv, inv.c.school_id == fam.school_id, inv.c.id.in_(fam.invoice_ids), order=inv.c.number
    )
    lines = _by(_select(s, ln, ln.c.invoice_id.in_(fam.invoice_ids), order=ln.c.position), "invoice_id")
    notes = _by(
        _select(s, cn, cn.c.school_id == fam.school_id, cn.c.invoice_id.in_(fam.invoice_ids)), "invoice_id"
    )
    for x in invoices:
        x["lines"] = lines.get(x["id"], [])
        x["credit_notes"] = notes.get(x["id"], [])
    return invoices


def _payments(s: Session, fam: Family) -> list[dict]:
    pa, rv = db.payments, db.payment_reversals
    payments = _select(
        s, pa, pa.c.school_id == fam.school_id, pa.c.id.in_(fam.payment_ids), order=pa.c.created_at
    )
    reversals = _by(
        _select(
            s,
            rv,
            rv.c.school_id == fam.school_id,
            rv.c.payment_id.in_(fam.payment_ids),
            order=rv.c.created_at,
        ),
        "payment_id",
    )
    for x in payments:
        x["reversals"] = reversals.get(x["id"], [])
    return payments


def _bank_transfers(s: Session, fam: Family) -> dict[str, list[dict]]:
    bm, ut = db.bank_movements, db.unmatched_transfers
    return {
        "movements": _select(
            s,
            bm,
            bm.c.school_id == fam.school_id,
            bm.c.id.in_(fam.movement_ids),
            order=(bm.c.booked_on, bm.c.id),
            drop=("dedup_key",),
        ),
        "assigned_transfers": _select(
            s,
            ut,
            ut.c.school_id == fam.school_id,
            or_(ut.c.assigned_wallet_id.in_(fam.wallet_ids), ut.c.assigned_invoice_id.in_(fam.invoice_ids)),
            order=(ut.c.booked_on, ut.c.id),
        ),
    }


def _mandates(s: Session, fam: Family) -> list[dict]:
    m, ms = sepa_tables.mandates, sepa_tables.mandate_students
    mandates = _select(
        s, m, m.c.school_id == fam.school_id, m.c.parent_account_id.in_(fam.parent_ids), order=m.c.signed_at
    )
    covered = _by(
        _select(s, ms, ms.c.mandate_id.in_([x["id"] for x in mandates]), order=ms.c.student_id), "mandate_id"
    )
    for x in mandates:
        x["student_ids"] = [c["student_id"] for c in covered.get(x["id"], [])]
    return mandates


def _direct_debits(s: Session, fam: Family) -> dict[str, list[dict]]:
    it, b, tr = (
        sepa_tables.direct_debit_items,
        sepa_tables.direct_debit_batches,
        sepa_tables.auto_top_up_triggers,
    )
    items = rows(
        s.execute(
            select(*it.c, b.c.collection_date, b.c.message_id.label("batch_message_id"))
            .join(b, b.c.id == it.c.batch_id)
            .where(it.c.school_id == fam.school_id, it.c.student_id.in_(fam.student_ids))
            .order_by(it.c.created_at, it.c.id)
        )
    )
    triggers = _select(
        s, tr, tr.c.school_id == fam.school_id, tr.c.student_id.in_(fam.student_ids), order=tr.c.created_at
    )
    return {"collections": items, "auto_top_up_triggers": triggers}


def _refunds(s: Session, fam: Family) -> list[dict]:
    r, b = refund_tables.refunds, refund_tables.refund_batches
    return rows(
        s.execute(
            select(*r.c, b.c.execution_date, b.c.message_id.label("batch_message_id"))
            .outerjoin(b, b.c.id == r.c.batch_id)
            .where(r.c.school_id == fam.school_id, r.c.student_id.in_(fam.student_ids))
            .order_by(r.c.created_at, r.c.id)
        )
    )


def _tax_certificates(s: Session, fam: Family) -> list[dict]:
    """The children's certificates issued to this parent (another guardian's are theirs), every
    version, without the national numbers."""
    t = tax_certificates
    certs = _select(
        s,
        t,
        t.c.school_id == fam.school_id,
        t.c.student_id.in_(fam.student_ids),
        t.c.parent_id.in_(fam.parent_ids),
        order=(t.c.year, t.c.number, t.c.version),
        drop=("fingerprint",),
    )
    for x in certs:
        x["content"] = without_national_numbers(json.loads(x["content"]))
    return certs


def _ledger(s: Session, fam: Family) -> list[dict]:
    """The ledger's transactions naming the children, with their postings."""
    tx, p = db.ledger_transactions, db.ledger_postings
    txs = _select(
        s,
        tx,
        tx.c.school_id == fam.school_id,
        tx.c.student_id.in_(fam.student_ids),
        order=(tx.c.created_at, tx.c.id),
    )
    postings = _by(
        _select(s, p, p.c.transaction_id.in_([x["id"] for x in txs]), order=p.c.id, drop=("id",)),
        "transaction_id",
    )
    for x in txs:
        x["postings"] = [
            {"account": q["account"], "amount_cents": q["amount_cents"]} for q in postings.get(x["id"], [])
        ]
    return txs


PARTS: dict[str, Callable[[Session, Family], Any]] = {
    "students": _students,
    "wallets": _wallets,
    "structured_communications": _communications,
    "sales": _sales,
    "invoices": _invoices,
    "payments": _payments,
    "bank_transfers": _bank_transfers,
    "mandates": _mandates,
    "direct_debits": _direct_debits,
    "refunds": _refunds,
    "tax_certificates": _tax_certificates,
    "ledger": _ledger,
}


def exporter(rt: Runtime) -> Callable[[Identity, str, list[str]], list[ppb.ExportFile]]:
    """Finance's ``export(identity, parent_id, student_ids)`` (the caller already checked by
    ``kit.family_data``): one file per part, every query in the caller's school."""

    def export(ident: Identity, parent_id: str, student_ids: list[str]) -> list[ppb.ExportFile]:
        with rt.db.unit_of_work() as s:
            fam = family_of(s, ident.school_id, [parent_id], student_ids)
            return [json_file(f"{PREFIX}{name}.json", part(s, fam)) for name, part in PARTS.items()]

    return export
