"""The periodic statement's mail (FWB décompte périodique, issue #19): documents.periodic_statement.filed.v1
(a statement newly filed in a student's documents, once per period and student) makes one mail to each
parent of the student who wants document mails, in their language: the period, what was invoiced,
paid and what remains, and where to find the PDF. As in ``handlers.py``, it only queues rows for the
mailer in the consumer's transaction; the (event_id, kind, recipient) key keeps one mail per address."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.documents.v1 import statements_pb2 as dpb
from cartable.events.v1 import envelope_pb2
from kit.bus import Binding
from kit.service import Runtime
from services.notifications.domain.mail import PERIODIC_STATEMENT
from services.notifications.handlers import MailQueue


def bindings(rt: Runtime, mails: MailQueue | None = None) -> dict[str, Binding]:
    mails = mails or MailQueue(rt)

    def statement_filed(s: Session, env: envelope_pb2.Envelope, ev: dpb.PeriodicStatementFiled) -> None:
        values = {
            "title": ev.title,
            "from_date": ev.from_date,
            "to_date": ev.to_date,
            "total_cents": ev.total_cents,
            "paid_cents": ev.paid_cents,
            "open_cents": ev.open_cents,
            "link": mails.portal,
        }
        mails.to_parents(s, env, PERIODIC_STATEMENT, ev.student_id, values, student_name=ev.student_name)

    return {
        "documents.periodic_statement.filed.v1": Binding(dpb.PeriodicStatementFiled, statement_filed),
    }
