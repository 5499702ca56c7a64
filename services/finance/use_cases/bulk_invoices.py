"""Bulk invoicing (the back office's "invoice a class trip in one go"): one invoice per active
student named or in the given classes, in ONE transaction, once per Idempotency-Key.

Who is in a class: finance's own copy of the students (``students``: class, names and status as
auth last said through auth.student.created/updated.v1), so the selection, the leavers' check and
every invoice are one unit of work in one database, and no student is counted between two services.

Each invoice is issued exactly as a single one is (``invoices.issue_invoice``): its own number, its
own structured communication, its receivable booked on the double-entry ledger
(``ledger.issue_invoice``), and finance.invoice.issued.v1 through the outbox, from which documents
renders its PDF and notifications mails it. One audit entry names the batch.

Leavers: a student of a class named who left is skipped (counted in ``skipped_left``); a student
named explicitly who left refuses the whole batch, 409 ``student_left`` (the manager asked for
something finance must not do: better said than silently dropped). An id finance does not know in
the caller's school: 404, nothing issued. A class with no active student: 400 naming it (a typo
issues nothing rather than less than meant).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import STUDENT_LEFT, Identity
from kit.money import MAX_CENTS, format_eur
from kit.service import Runtime
from services.finance import db
from services.finance.domain import lines as lines_domain
from services.finance.use_cases import common, max_bill
from services.finance.use_cases.invoices import issue_invoice

MAX_CLASSES = 100
MAX_STUDENTS = 5_000


def _names(values, field: str, max_len: int, limit: int) -> list[str]:
    out: list[str] = []
    for v in values:
        v = " ".join(v.split())
        if not v or len(v) > max_len:
            raise InvalidRequest(
                f"{field} holds an empty or too long value", fields={field: f"1 to {max_len} characters"}
            )
        if v not in out:
            out.append(v)
    if len(out) > limit:
        raise InvalidRequest(f"too many {field}", fields={field: f"at most {limit}"})
    return out


class BulkInvoices:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def bulk_create_invoices(
        self, who: Identity, req: pb.BulkCreateInvoicesRequest
    ) -> pb.BulkCreateInvoicesResponse:
        """Staff: see the module's docstring. Answers the count, the total and the invoices' ids (in
        number order: by class, last name, first name, then the students named outside them)."""
        who.require_staff()
        classes = _names(req.class_names, "class_names", 50, MAX_CLASSES)
        ids = _names(req.student_ids, "student_ids", 36, MAX_STUDENTS)
        if not classes and not ids:
            raise InvalidRequest(
                "name at least one class or student",
                fields={
                    "class_names": "at least one class or student",
                    "student_ids": "at least one class or student",
                },
            )
        parsed = common.parse_lines(req.lines)
        subtotal = sum(a for *_, a in parsed)
        attributes = [lines_domain.attributes_of(line) for line in req.lines]

        def work(s: Session) -> pb.BulkCreateInvoicesResponse:
            chosen: list = []
            seen: set[str] = set()
            skipped = 0
            in_classes = db.students_in_classes(s, who.school_id, classes)
            for name in classes:
                if not any(r.class_name == name and r.status == "active" for r in in_classes):
                    raise InvalidRequest(
                        f"no active student in class {name}",
                        fields={"class_names": f"no active student in {name}"},
                    )
            for row in in_classes:
                if row.status != "active":
                    skipped += 1
                elif row.id not in seen:
                    seen.add(row.id)
                    chosen.append(row)
            named = db.students_by_ids(s, who.school_id, ids)
            for sid in ids:
                row = named.get(sid)
                if row is None:
                    raise NotFound(f"student {sid} is unknown to finance in this school")
                if row.status == "left":
                    raise Conflict(f"student {sid} has left the school", code=STUDENT_LEFT)
                if sid not in seen:
                    seen.add(sid)
                    chosen.append(row)
            if len(chosen) > MAX_STUDENTS:
                raise InvalidRequest(
                    "too many students", fields={"student_ids": f"at most {MAX_STUDENTS} students"}
                )
            if subtotal * len(chosen) > MAX_CENTS:
                raise InvalidRequest("the batch's total is too large", fields={"lines": "total too large"})
            settings = common.settings(s, who.school_id)
            max_bill.lock_students(s, who, [r.id for r in chosen], attributes)
            issued = [
                issue_invoice(
                    self.rt,
                    s,
                    who,
                    row.id,
                    req.title,
                    req.due_on,
                    req.lines,
                    0,
                    "staff",
                    student=row,
                    school_settings=settings,
                    parsed=parsed,
                    override_max_bill=req.override_max_bill,
                )
                for row in chosen
            ]
            total = sum(i.total_cents for i in issued)
            audit.record(
                self.rt,
                s,
                who,
                "finance.invoices.bulk_created",
                "invoice",
                issued[0].id,
                f"{len(issued)} invoices {issued[0].title!r} ({issued[0].number} to {issued[-1].number}),"
                f" {format_eur(total)}; classes {', '.join(classes) or '-'}; {len(ids)} students named",
            )
            return pb.BulkCreateInvoicesResponse(
                count=len(issued), total_cents=total, invoice_ids=[i.id for i in issued], skipped_left=skipped
            )

        return common.idempotent(
            self.rt,
            f"bulk-invoices:{who.account_id}",
            req.idempotency_key,
            req,
            pb.BulkCreateInvoicesResponse,
            work,
        )
