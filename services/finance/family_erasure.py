"""A family erased (auth.family.erased.v1, issue #21): finance keeps its financial records for the legal
period (Belgian accounting law: 7 years) and pseudonymises what names the family; after
``keep_financial_until`` the ``anonymise`` command strips what still identifies them.

On erasure, in the event's school:
- the erased students are named ``kit.privacy.pseudonym(ERASED_STUDENT, id)`` (last name "");
- the family's names are replaced in the texts of their rows (invoice titles and lines, credit notes,
  sale lines, refund reasons, bank communications, the mandate's text): a child's name by its
  pseudonym, anyone else's by nothing; texts naming no one keep their words;
- the parents' mandates are revoked (reason ``staff``: the school's erasure) and lose the holder's name
  (the parent's pseudonym), IBAN, BIC, signing address and user agent; refunds and the bank movements
  and transfers of the family (booked on their wallets, invoices or payments, or from one of the
  family's IBANs) lose the holder's or counterparty's name and IBAN, and the refund files built for
  them the family's name and IBAN in the family's own transfer;
- the tax certificates of the erased students (and the parent's part of those issued to an erased
  parent) lose the names and national numbers; the figures stay;
- idempotency keys whose stored answer names the family are deleted (a 7-day replay cache), and so are
  the outbox rows already published (``kit.family_data.purge_published``);
- ``erased_families`` records each person and ``keep_financial_until``.
- the labels of the ledger's transactions naming the family (the student's own, and a transfer's
  booked without a student whose label holds a family name: "Non attribué – MARGUERITE QUORNDEL") are
  scrubbed the same way: the label is the one column of the ledger its triggers let change (migration
  ``c8e1d4a7b2f3``); amounts, accounts, kinds, students and dates cannot, and nothing is deleted.
Amounts, dates and ids stay; the ledger still sums to zero. A second event for the same family finds
nothing left to change."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from kit.family_data import Erase, purge_published
from kit.privacy import ERASED_PARENT, ERASED_STUDENT, pseudonym
from kit.service import Runtime
from services.finance import db
from services.finance import national_numbers as nn
from services.finance.db import mandate_queries as mq
from services.finance.db import refund_tables, sepa_tables
from services.finance.db.erasure_tables import erased_families
from services.finance.db.tax_certificate_queries import tax_certificates
from services.finance.domain.sepa import mask_iban, sepa_text
from services.finance.family_data import Family, family_of
from services.finance.use_cases import common
from services.finance.use_cases.mandates import revoke_in

log = logging.getLogger("finance.privacy")
FINANCIAL_YEARS = 7  # when the event names no date: the end of the erasure's year + 7 years
_PSEUDONYM = re.compile(rf"^(?:{ERASED_STUDENT}|{ERASED_PARENT}) [0-9A-F]{{6}}$")
_BLOCK = re.compile(rb"<CdtTrfTxInf>.*?</CdtTrfTxInf>", re.S)


def is_pseudonym(name: str) -> bool:
    return bool(_PSEUDONYM.match(name.strip()))


class Scrub:
    """Replace people's names in free text (whole words, case-insensitive, also as SEPA files write
    them: accents dropped): a full name first, then each of its words of 3 letters or more."""

    def __init__(self) -> None:
        self.pairs: dict[str, str] = {}

    def add(self, name: str, replacement: str, words: str | None = None) -> None:
        """``name`` replaced by ``replacement``, each of its words alone by ``words`` (default: the
        same); a pair already known keeps its replacement."""
        name = " ".join(name.split())
        if not name or is_pseudonym(name):
            return
        for variant in (name, sepa_text(name, 200)):
            if variant:
                self.pairs.setdefault(variant.lower(), replacement)
        for word in re.split(r"[\s\-']+", name):
            for variant in (word, sepa_text(word, 200)):
                if len(variant) >= 3:
                    self.pairs.setdefault(variant.lower(), replacement if words is None else words)

    @property
    def needles(self) -> list[str]:
        return sorted(self.pairs, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text or not self.pairs:
            return text
        pattern = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(n) for n in self.needles) + r")(?!\w)", re.IGNORECASE
        )
        out = pattern.sub(lambda m: self.pairs[m.group(0).lower()], text)
        return out if out == text else re.sub(r" {2,}", " ", out).strip()


def _compact(iban: str) -> str:
    return "".join(iban.split()).upper()


def _rows(s: Session, table: Table, *where: Any) -> list[Any]:
    return list(s.execute(select(table).where(*where)).all())


def _rewrite(
    s: Session, table: Table, key: str, row: Any, scrub: Scrub, *columns: str, **values: Any
) -> None:
    """Scrub ``columns`` of ``row`` and set ``values``; write only what changed."""
    changes = {c: scrub(getattr(row, c)) for c in columns}
    changes.update(values)
    changes = {c: v for c, v in changes.items() if getattr(row, c) != v}
    if changes:
        s.execute(update(table).where(table.c[key] == getattr(row, key)).values(**changes))


def _movements_where(fam: Family, table: Table, ibans: set[str], *own: Any) -> list[Any]:
    cond = [*own]
    if ibans:
        variants = ibans | {" ".join(i[k : k + 4] for k in range(0, len(i), 4)) for i in ibans}
        cond.append(table.c.counterparty_iban.in_(sorted(variants)))
    return [table.c.school_id == fam.school_id, or_(*cond)] if cond else [table.c.id.is_(None)]


def certificate_without_people(content: dict, *, child: bool, parent: bool, deep: bool = False) -> dict:
    """``content`` (as stored) without the child's and/or the parent's names and national numbers, sealed
    or clear (``deep``: their birth date and disability too). No key needed: the sealed number goes."""
    out = dict(content)
    if child and isinstance(out.get("child"), dict):
        c = dict(out["child"])
        c.update(first_name=pseudonym(ERASED_STUDENT, str(c.get("student_id", ""))), last_name="")
        c.pop(nn.CLEAR, None)
        c[nn.SEALED] = ""
        if deep:
            c.update(birth_date="", severe_disability=False)
        out["child"] = c
    if parent and isinstance(out.get("parent"), dict):
        p = dict(out["parent"])
        p.update(first_name=pseudonym(ERASED_PARENT, str(p.get("id", ""))), last_name="")
        p.pop(nn.CLEAR, None)
        p[nn.SEALED] = ""
        out["parent"] = p
    return out


def _rewrite_certificates(
    s: Session, school_id: str, students: list[str], parents: list[str], deep: bool
) -> None:
    t = tax_certificates
    if not students and not parents:
        return
    for r in _rows(
        s, t, t.c.school_id == school_id, or_(t.c.student_id.in_(students), t.c.parent_id.in_(parents))
    ):
        erased_child = r.student_id in students
        content = certificate_without_people(
            json.loads(r.content),
            child=erased_child,
            parent=erased_child or r.parent_id in parents,
            deep=deep,
        )
        text = nn.canonical(content)
        if text != r.content:
            s.execute(
                update(t).where(t.c.id == r.id).values(content=text, fingerprint=nn.fingerprint(content))
            )


def _names(s: Session, fam: Family) -> tuple[Scrub, set[str]]:
    """What names the family (before anything is replaced): the children's names (replaced by their
    pseudonym), the parents', holders' and counterparties' (replaced by nothing), and their IBANs."""
    scrub, ibans = Scrub(), set()
    for st in _rows(
        s, db.students, db.students.c.school_id == fam.school_id, db.students.c.id.in_(fam.student_ids)
    ):
        label = pseudonym(ERASED_STUDENT, st.id)
        scrub.add(st.first_name, label)  # first: its words are the child's, the last name's maybe not
        for name in (f"{st.first_name} {st.last_name}", f"{st.last_name} {st.first_name}"):
            scrub.add(name, label, words="")
    m, r = sepa_tables.mandates, refund_tables.refunds
    for row in _rows(s, m, m.c.school_id == fam.school_id, m.c.parent_account_id.in_(fam.parent_ids)):
        scrub.add(row.holder_name, "")
        ibans.add(_compact(row.iban))
    for row in _rows(s, r, r.c.school_id == fam.school_id, r.c.student_id.in_(fam.student_ids)):
        scrub.add(row.holder_name, "")
        ibans.add(_compact(row.iban))
    bm, ut = db.bank_movements, db.unmatched_transfers
    for row in _rows(s, bm, bm.c.school_id == fam.school_id, bm.c.id.in_(fam.movement_ids)):
        scrub.add(row.counterparty_name, "")
        ibans.add(_compact(row.counterparty_iban))
    for row in _rows(s, ut, *_own_transfers(fam, ut, set())):
        scrub.add(row.counterparty_name, "")
        ibans.add(_compact(row.counterparty_iban))
    t = tax_certificates
    for row in _rows(
        s,
        t,
        t.c.school_id == fam.school_id,
        or_(t.c.student_id.in_(fam.student_ids), t.c.parent_id.in_(fam.parent_ids)),
    ):
        parent = json.loads(row.content).get("parent") or {}
        scrub.add(f"{parent.get('first_name', '')} {parent.get('last_name', '')}", "")
    ibans.discard("")
    return scrub, ibans


def _own_transfers(fam: Family, ut: Table, ibans: set[str]) -> list[Any]:
    return _movements_where(
        fam,
        ut,
        ibans,
        ut.c.assigned_wallet_id.in_(fam.wallet_ids),
        ut.c.assigned_invoice_id.in_(fam.invoice_ids),
        ut.c.movement_id.in_(fam.movement_ids),
        ut.c.online_payment_id.in_(fam.payment_ids),
    )


def _texts(s: Session, fam: Family, scrub: Scrub) -> None:
    inv, ln, cn, sa, sl = db.invoices, db.invoice_lines, db.credit_notes, db.sales, db.sale_lines
    for row in _rows(s, inv, inv.c.school_id == fam.school_id, inv.c.id.in_(fam.invoice_ids)):
        _rewrite(s, inv, "id", row, scrub, "title")
    for row in _rows(s, ln, ln.c.invoice_id.in_(fam.invoice_ids)):
        _rewrite(s, ln, "id", row, scrub, "label")
    for row in _rows(s, cn, cn.c.school_id == fam.school_id, cn.c.invoice_id.in_(fam.invoice_ids)):
        _rewrite(s, cn, "id", row, scrub, "reason")
    sales = select(sa.c.id).where(sa.c.school_id == fam.school_id, sa.c.student_id.in_(fam.student_ids))
    for row in _rows(s, sl, sl.c.sale_id.in_(sales)):
        _rewrite(s, sl, "id", row, scrub, "label")
    it = sepa_tables.direct_debit_items
    for row in _rows(s, it, it.c.school_id == fam.school_id, it.c.student_id.in_(fam.student_ids)):
        _rewrite(s, it, "id", row, scrub, "remittance")


def _mandates(rt: Runtime, s: Session, fam: Family, scrub: Scrub, at: datetime) -> None:
    m = sepa_tables.mandates
    for row in _rows(s, m, m.c.school_id == fam.school_id, m.c.parent_account_id.in_(fam.parent_ids)):
        if row.status == mq.ACTIVE:
            locked = mq.mandate_row(s, fam.school_id, row.id, lock=True)
            revoke_in(rt, s, locked, reason="staff", by=None, at=at)
        text = scrub(row.mandate_text)
        masked = mask_iban(_compact(row.iban))
        if masked:
            text = text.replace(masked, "")
        _rewrite(
            s,
            m,
            "id",
            row,
            scrub,
            holder_name=pseudonym(ERASED_PARENT, row.parent_account_id),
            iban="",
            bic="",
            signed_from="",
            user_agent="",
            mandate_text=text,
        )


def _refunds(s: Session, fam: Family, scrub: Scrub, ibans: set[str]) -> None:
    r, b = refund_tables.refunds, refund_tables.refund_batches
    refunds = _rows(s, r, r.c.school_id == fam.school_id, r.c.student_id.in_(fam.student_ids))
    ours = {x.end_to_end_id.encode() for x in refunds}
    for row in refunds:
        _rewrite(s, r, "id", row, scrub, "reason", holder_name="", iban="", bic="")
    batch_ids = sorted({x.batch_id for x in refunds if x.batch_id})

    def block(match: re.Match[bytes]) -> bytes:
        part = match.group(0)
        if not any(b"<EndToEndId>" + e + b"</EndToEndId>" in part for e in ours):
            return part  # another family's transfer
        text = re.sub(r"<IBAN>[^<]*</IBAN>", "<IBAN></IBAN>", part.decode("utf-8"))
        text = re.sub(r"<Nm>([^<]*)</Nm>", lambda m: f"<Nm>{scrub(m.group(1))}</Nm>", text)
        text = re.sub(r"<Ustrd>([^<]*)</Ustrd>", lambda m: f"<Ustrd>{scrub(m.group(1))}</Ustrd>", text)
        return text.encode("utf-8")

    for row in _rows(s, b, b.c.school_id == fam.school_id, b.c.id.in_(batch_ids)):
        content = _BLOCK.sub(block, bytes(row.content))
        if content != bytes(row.content):
            s.execute(update(b).where(b.c.id == row.id).values(content=content))


def _bank(s: Session, fam: Family, scrub: Scrub, ibans: set[str]) -> None:
    bm, ut = db.bank_movements, db.unmatched_transfers
    for row in _rows(s, bm, *_movements_where(fam, bm, ibans, bm.c.id.in_(fam.movement_ids))):
        _rewrite(s, bm, "id", row, scrub, "free_communication", counterparty_name="", counterparty_iban="")
    for row in _rows(s, ut, *_own_transfers(fam, ut, ibans)):
        _rewrite(s, ut, "id", row, scrub, "communication", counterparty_name="", counterparty_iban="")


def _ledger(s: Session, fam: Family, scrub: Scrub) -> None:
    """The labels of the family's ledger transactions: the students' own, and those booked without a
    student (an unmatched transfer) whose label holds one of the family's full names."""
    tx = db.ledger_transactions
    for row in _rows(s, tx, tx.c.school_id == fam.school_id, tx.c.student_id.in_(fam.student_ids)):
        _rewrite(s, tx, "id", row, scrub, "label")
    full_names = [n for n in scrub.needles if " " in n]
    if not full_names:
        return
    named = or_(*(tx.c.label.ilike(f"%{n}%") for n in full_names))
    for row in _rows(s, tx, tx.c.school_id == fam.school_id, tx.c.student_id.is_(None), named):
        _rewrite(s, tx, "id", row, scrub, "label")


def _idempotency_keys(s: Session, scrub: Scrub, ibans: set[str]) -> None:
    """Stored answers are protobuf bytes (strings in UTF-8): a key whose answer names the family goes."""
    needles = [n.encode() for n in scrub.needles] + [i.lower().encode() for i in ibans]
    if not needles:
        return
    k = db.idempotency_keys
    gone = [
        (r.scope, r.key)
        for r in s.execute(select(k.c.scope, k.c.key, k.c.response))
        if any(n in bytes(r.response).lower() for n in needles)
    ]
    for scope, key in gone:
        s.execute(delete(k).where(k.c.scope == scope, k.c.key == key))


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _record(s: Session, fam: Family, event: auth_events.FamilyErased, at: datetime) -> None:
    try:
        erased_at = datetime.fromisoformat(event.erased_at) if event.erased_at else at
    except ValueError:
        erased_at = at
    if erased_at.tzinfo is None:
        erased_at = db.utc(erased_at)
    until = _parse_day(event.keep_financial_until) or date(erased_at.year + FINANCIAL_YEARS, 12, 31)
    people = [("student", i) for i in fam.student_ids] + [("parent", i) for i in fam.parent_ids]
    for kind, person in people:
        db.insert_ignoring_duplicate(
            s,
            erased_families,
            school_id=fam.school_id,
            kind=kind,
            person_id=person,
            reason=event.reason[:20],
            erased_at=erased_at,
            keep_financial_until=until,
            anonymised_at=None,
        )


def eraser(rt: Runtime) -> Erase:
    """Finance's ``erase(session, event)`` for ``kit.family_data.erasure_binding`` (see the module)."""

    def erase(s: Session, event: auth_events.FamilyErased) -> None:
        at = common.now(rt)
        fam = family_of(s, event.school_id, event.parent_ids, event.student_ids)
        scrub, ibans = _names(s, fam)
        _texts(s, fam, scrub)
        _mandates(rt, s, fam, scrub, at)
        _refunds(s, fam, scrub, ibans)
        _bank(s, fam, scrub, ibans)
        _ledger(s, fam, scrub)
        _rewrite_certificates(s, fam.school_id, fam.student_ids, fam.parent_ids, deep=False)
        st = db.students
        for row in _rows(s, st, st.c.school_id == fam.school_id, st.c.id.in_(fam.student_ids)):
            _rewrite(s, st, "id", row, scrub, first_name=pseudonym(ERASED_STUDENT, row.id), last_name="")
        _idempotency_keys(s, scrub, ibans)
        _record(s, fam, event, at)
        purged = purge_published(s, db.outbox)
        log.info(
            "family erased",
            extra={"students": len(fam.student_ids), "parents": len(fam.parent_ids), "outbox_purged": purged},
        )

    return erase


def _ids_of(rows: Iterable[Any], kind: str) -> list[str]:
    return [r.person_id for r in rows if r.kind == kind]


def anonymise(rt: Runtime, args: list[str]) -> int:
    """``python -m services.finance anonymise``: the people erased whose ``keep_financial_until`` has
    passed lose what still identifies them in finance (the children's birth date, disability and
    national numbers in their tax certificates, the parent's in theirs; the child's class; the
    mandate's text); amounts, dates and ids stay. Run it daily; a second run changes nothing."""
    today = common.today(rt)
    at = common.now(rt)
    e = erased_families
    with rt.db.unit_of_work() as s:
        due = _rows(s, e, e.c.keep_financial_until < today, e.c.anonymised_at.is_(None))
        schools = sorted({r.school_id for r in due})
        for school in schools:
            mine = [r for r in due if r.school_id == school]
            students, parents = _ids_of(mine, "student"), _ids_of(mine, "parent")
            _rewrite_certificates(s, school, students, parents, deep=True)
            st, m = db.students, sepa_tables.mandates
            if students:
                s.execute(
                    update(st).where(st.c.school_id == school, st.c.id.in_(students)).values(class_name="")
                )
            if parents:
                s.execute(
                    update(m)
                    .where(m.c.school_id == school, m.c.parent_account_id.in_(parents))
                    .values(mandate_text="")
                )
            for r in mine:
                s.execute(
                    update(e)
                    .where(e.c.school_id == school, e.c.kind == r.kind, e.c.person_id == r.person_id)
                    .values(anonymised_at=at)
                )
    log.info("erased families anonymised", extra={"people": len(due)})
    return 0
