"""The queries of a family's data (issue #21): what the service holds on one parent and their children,
for their export, and its erasure. Every query is scoped to one school and to the ids named."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kit import family_data
from services.notifications import db
from services.notifications import db_reminders as invoice_book
from services.notifications.domain.mail import SENSITIVE_KINDS


def rows(result: Any) -> list[dict[str, Any]]:
    """``kit.family_data.rows`` with every instant in UTC (SQLite hands them back without their zone)."""
    return [
        {k: db.aware(v) if isinstance(v, datetime) else v for k, v in r.items()}
        for r in family_data.rows(result)
    ]


# What a family's mail log shows of each mail (message_id, event_id, next_attempt_at are the mailer's).
_MAIL_COLUMNS = (
    "id",
    "kind",
    "recipient",
    "recipient_name",
    "account_id",
    "student_id",
    "language",
    "subject",
    "text_body",
    "html_body",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "failed_at",
)


def contact(s: Session, school_id: str, parent_id: str) -> list[dict[str, Any]]:
    c = db.contacts
    q = select(c.c.account_id, c.c.email, c.c.display_name, c.c.language, c.c.updated_at).where(
        c.c.account_id == parent_id, c.c.school_id == school_id
    )
    return rows(s.execute(q))


def children(s: Session, school_id: str, parent_id: str) -> list[dict[str, Any]]:
    """The parent's children as the contact book has them (the parent's own entries only)."""
    cs, c = db.contact_students, db.contacts
    q = (
        select(cs.c.student_id, cs.c.student_name)
        .join(c, c.c.account_id == cs.c.account_id)
        .where(cs.c.account_id == parent_id, c.c.school_id == school_id)
        .order_by(cs.c.student_id)
    )
    return rows(s.execute(q))


def preferences(s: Session, school_id: str, parent_id: str) -> list[dict[str, Any]]:
    p = db.mail_preferences
    q = select(*(col for col in p.columns if col.name != "school_id")).where(
        p.c.account_id == parent_id, p.c.school_id == school_id
    )
    return rows(s.execute(q))


def mails(s: Session, school_id: str, parent_id: str) -> list[dict[str, Any]]:
    """The mails to the parent, oldest first. A mail carrying a secret (a sign-in token) is listed
    without its bodies even while still pending: a staff export must not hand out a way into the
    parent's account."""
    m = db.outgoing_mails
    q = (
        select(*(m.c[name] for name in _MAIL_COLUMNS), m.c.sensitive)
        .where(m.c.school_id == school_id, m.c.account_id == parent_id)
        .order_by(m.c.created_at, m.c.id)
    )
    out = []
    for row in rows(s.execute(q)):
        if row.pop("sensitive") or row["kind"] in SENSITIVE_KINDS:
            row["text_body"] = row["html_body"] = ""
        out.append(row)
    return out


def students_of_school(s: Session, school_id: str, student_ids: Collection[str]) -> list[str]:
    """Those of ``student_ids`` the service knows in the school: in the contact book of the school, or
    in its invoice book. (Levels carry no school: this is their scope.)"""
    if not student_ids:
        return []
    cs, c, inv = db.contact_students, db.contacts, invoice_book.invoices
    known = set(
        s.execute(
            select(cs.c.student_id)
            .join(c, c.c.account_id == cs.c.account_id)
            .where(c.c.school_id == school_id, cs.c.student_id.in_(student_ids))
        ).scalars()
    )
    known |= set(
        s.execute(
            select(inv.c.student_id).where(inv.c.school_id == school_id, inv.c.student_id.in_(student_ids))
        ).scalars()
    )
    return [sid for sid in student_ids if sid in known]


def levels(s: Session, student_ids: Collection[str]) -> list[dict[str, Any]]:
    if not student_ids:
        return []
    lv = invoice_book.student_levels
    q = select(lv).where(lv.c.student_id.in_(student_ids)).order_by(lv.c.student_id)
    return rows(s.execute(q))


def invoices(s: Session, school_id: str, student_ids: Collection[str]) -> list[dict[str, Any]]:
    """The children's invoices in the reminders' book, each with the reminders sent for it."""
    if not student_ids:
        return []
    inv, sent = invoice_book.invoices, invoice_book.reminders_sent
    q = (
        select(*(col for col in inv.columns if col.name != "school_id"))
        .where(inv.c.school_id == school_id, inv.c.student_id.in_(student_ids))
        .order_by(inv.c.due_on, inv.c.invoice_id)
    )
    found = rows(s.execute(q))
    reminders: dict[str, list[dict[str, Any]]] = {i["invoice_id"]: [] for i in found}
    if reminders:
        r = sent
        q2 = (
            select(r.c.invoice_id, r.c.sent_on, r.c.manual)
            .where(r.c.school_id == school_id, r.c.invoice_id.in_(list(reminders)))
            .order_by(r.c.invoice_id, r.c.sent_on)
        )
        for row in rows(s.execute(q2)):
            reminders[row.pop("invoice_id")].append(row)
    return [{**i, "reminders": reminders[i["invoice_id"]]} for i in found]


# -- erasure ------------------------------------------------------------------------------------


def erase_family(s: Session, school_id: str, parent_ids: list[str], student_ids: list[str]) -> None:
    """Delete what the school's book holds on the parents and the children auth erased: the parents'
    contacts (their children's names with them) and choices, every mail to them or about those
    children (pending ones too: they are not sent), the children's entries under any parent of the
    school, their invoices and reminders, their levels. Another school's rows are not touched; a
    second run finds nothing left."""
    c, cs, m = db.contacts, db.contact_students, db.outgoing_mails
    inv, sent, lv = invoice_book.invoices, invoice_book.reminders_sent, invoice_book.student_levels
    parents = list(
        s.execute(
            select(c.c.account_id).where(c.c.account_id.in_(parent_ids), c.c.school_id == school_id)
        ).scalars()
    )
    # Levels carry no school: those of a child the book puts only in another school stay.
    students = [sid for sid in student_ids if not db.student_known_elsewhere(s, school_id, sid)]
    # Their addresses too: a mail queued for an address the book no longer ties to the account.
    emails = list(s.execute(select(c.c.email).where(c.c.account_id.in_(parents))).scalars())
    school_accounts = select(c.c.account_id).where(c.c.school_id == school_id)

    mail_of_family = [m.c.account_id.in_(parent_ids), m.c.student_id.in_(student_ids)]
    if emails:
        mail_of_family.append(m.c.recipient.in_(emails))
    s.execute(delete(m).where(m.c.school_id == school_id, or_(*mail_of_family)))
    s.execute(
        delete(cs).where(
            or_(cs.c.account_id.in_(parents), cs.c.student_id.in_(student_ids)),
            cs.c.account_id.in_(school_accounts),
        )
    )
    s.execute(delete(c).where(c.c.account_id.in_(parents)))
    p = db.mail_preferences
    s.execute(delete(p).where(p.c.account_id.in_(parent_ids), p.c.school_id == school_id))
    invoice_ids = select(inv.c.invoice_id).where(
        inv.c.school_id == school_id, inv.c.student_id.in_(student_ids)
    )
    s.execute(delete(sent).where(sent.c.school_id == school_id, sent.c.invoice_id.in_(invoice_ids)))
    s.execute(delete(inv).where(inv.c.school_id == school_id, inv.c.student_id.in_(student_ids)))
    if students:
        s.execute(delete(lv).where(lv.c.student_id.in_(students)))
