"""Periodic statements (décomptes périodiques, Fédération Wallonie-Bruxelles; issue #19).

- ``get_periodic_statement``: one student's statement for a period of one to four months
  (``domain/periodic_statements.py``): every line of every invoice issued in it (by issue day),
  each mandatory or optional, and per invoice its number, total, what was paid, credited and what
  remains. The statement's totals are the invoices' own columns added up, so they equal the invoices'
  totals; mandatory + optional lines less the credits given at issue equal them too.
- ``send_periodic_statements``: the statements of every active student of a class, or of the school,
  who has an invoice in the period: one ``finance.periodic_statement.issued.v1`` each, in one
  transaction, once per idempotency key. Documents files each PDF once per (period, student) and
  only then does notifications mail the parents: sending a period twice makes nothing twice.

Nothing is stored here (no table, no migration): a statement is computed from the invoices when asked,
and what was sent is the document documents keeps. Staff only, the caller's school only."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from cartable.finance.v1 import periodic_statements_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, events
from services.finance.db import periodic_statement_queries as q
from services.finance.domain.invoices import open_amount
from services.finance.domain.periodic_statements import line_split, period_errors
from services.finance.use_cases import common

ROUTING_KEY = "finance.periodic_statement.issued.v1"
LANGUAGES = ("fr", "nl", "en")


def parse_period(from_date: str, to_date: str) -> tuple[date, date]:
    """The period as given, or InvalidRequest naming ``from`` / ``to``."""
    errors: dict[str, str] = {}
    first = last = None
    for name, text in (("from", from_date), ("to", to_date)):
        try:
            value = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = "YYYY-MM-DD"
            continue
        if name == "from":
            first = value
        else:
            last = value
    if not errors:
        errors = period_errors(first, last)
    if errors:
        raise InvalidRequest("the statement's period is not valid", fields=errors)
    assert first is not None and last is not None
    return first, last


def school_name(s: Session, school_id: str) -> str:
    row = db.settings_row(s, school_id)
    return ((row.school_name or row.beneficiary or "").strip()) if row is not None else ""


def statement(
    s: Session, school_id: str, student, first: date, last: date, today: date
) -> pb.PeriodicStatement:
    """``student``'s statement (a ``students`` row) for ``first``..``last``."""
    rows = q.invoices_issued(s, school_id, student.id, first, last)
    lines = q.lines_by_invoice(s, [r.id for r in rows])
    out = pb.PeriodicStatement(
        school_name=school_name(s, school_id),
        student_id=student.id,
        student_name=common.student_name(student),
        class_name=student.class_name or "",
        from_date=first.isoformat(),
        to_date=last.isoformat(),
        issued_on=today.isoformat(),
    )
    for r in rows:
        its = lines.get(r.id, [])
        mandatory, optional = line_split([(ln.amount_cents, bool(ln.optional)) for ln in its])
        remaining = open_amount(r.total_cents, r.paid_cents, r.status)
        out.invoices.append(
            pb.StatementInvoice(
                invoice_id=r.id,
                number=r.number,
                title=r.title,
                issued_on=r.issued_on.isoformat(),
                due_on=r.due_on.isoformat(),
                status=r.status,
                total_cents=r.total_cents,
                paid_cents=r.paid_cents,
                credited_cents=r.credited_cents,
                open_cents=remaining,
                credit_cents=r.credit_cents,
                lines=[
                    pb.StatementLine(
                        label=ln.label,
                        quantity=ln.quantity,
                        unit_price_cents=ln.unit_price_cents,
                        amount_cents=ln.amount_cents,
                        optional=bool(ln.optional),
                    )
                    for ln in its
                ],
            )
        )
        out.total_cents += r.total_cents
        out.paid_cents += r.paid_cents
        out.credited_cents += r.credited_cents
        out.open_cents += remaining
        out.mandatory_cents += mandatory
        out.optional_cents += optional
        out.credit_cents += r.credit_cents
    return out


class PeriodicStatements:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_periodic_statement(
        self, who: Identity, req: pb.GetPeriodicStatementRequest
    ) -> pb.GetPeriodicStatementResponse:
        """One student's statement (see the module); not_found for another school's student."""
        who.require_staff()
        first, last = parse_period(req.from_date, req.to_date)
        with self.rt.db.unit_of_work() as s:
            student = common.student(s, who, req.student_id)
            made = statement(s, who.school_id, student, first, last, common.today(self.rt))
        return pb.GetPeriodicStatementResponse(statement=made)

    def send_periodic_statements(
        self, who: Identity, req: pb.SendPeriodicStatementsRequest
    ) -> pb.SendPeriodicStatementsResponse:
        """Every statement of a class or of the school, one event each (see the module)."""
        who.require_staff()
        class_name = req.class_name.strip()
        if req.whole_school == bool(class_name):
            raise InvalidRequest(
                "name a class or the whole school", fields={"class_name": "a class, or whole_school alone"}
            )
        first, last = parse_period(req.from_date, req.to_date)

        def work(s: Session) -> pb.SendPeriodicStatementsResponse:
            today = common.today(self.rt)
            chosen, skipped = q.recipients(
                s, who.school_id, None if req.whole_school else class_name, first, last
            )
            answer = pb.SendPeriodicStatementsResponse(sent=len(chosen), skipped=skipped)
            for student in chosen:
                lang = (req.languages.get(student.id) or "fr").lower()[:2]
                message = pb.PeriodicStatementIssued(
                    statement=statement(s, who.school_id, student, first, last, today),
                    language=lang if lang in LANGUAGES else "fr",
                )
                events.record(self.rt, s, who.school_id, events.Event(ROUTING_KEY, message))
                answer.student_ids.append(student.id)
            audit.record(
                self.rt,
                s,
                who,
                "finance.periodic_statements.sent",
                "periodic_statement",
                class_name or "school",
                f"{first.isoformat()}..{last.isoformat()}, {len(chosen)} students",
            )
            return answer

        return common.idempotent(
            self.rt,
            f"statements:{who.school_id}",
            req.idempotency_key,
            req,
            pb.SendPeriodicStatementsResponse,
            work,
            exclude=("languages",),
        )
