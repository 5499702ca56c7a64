"""The school's invoices for the back office: the list (filters, keyset pages computed here) and the
finance summary (SQL aggregates). Students' names and classes are finance's own copy (``students``,
kept up to date from auth's events), so a page is one query and the class filter a join."""

from __future__ import annotations

from datetime import date

from cartable.finance.v1 import finance_pb2 as pb
from kit import paging
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db
from services.finance.domain.invoices import STATUSES
from services.finance.use_cases import common

DEFAULT_LIMIT, MAX_LIMIT = paging.DEFAULT_LIMIT, paging.MAX_LIMIT


def encode_cursor(issued_on: date, number: str) -> str:
    return paging.encode_cursor([issued_on.isoformat(), number])


def decode_cursor(cursor: str) -> tuple[date, str] | None:
    if not cursor:
        return None
    try:
        day, number = paging.decode_cursor(cursor, 2)
        return date.fromisoformat(day), number
    except ValueError:
        raise InvalidRequest("bad cursor", fields={"cursor": "the next_cursor of a previous page"}) from None


class SchoolInvoices:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_school_invoices(
        self, who: Identity, req: pb.ListSchoolInvoicesRequest
    ) -> pb.ListSchoolInvoicesResponse:
        """Staff: the school's invoices, newest first (issue date, then number), filtered by status,
        student, class, overdue (due before today, not fully paid) and ``q`` (part of the title or
        the number), ``limit`` at a time after ``cursor``."""
        who.require_staff()
        if req.status and req.status not in STATUSES:
            raise InvalidRequest("unknown status", fields={"status": " | ".join(STATUSES)})
        if not 0 <= req.limit <= MAX_LIMIT:
            raise InvalidRequest("bad limit", fields={"limit": f"1 to {MAX_LIMIT}"})
        if len(req.q) > 200 or len(req.class_name) > 50 or len(req.student_id) > 36:
            raise InvalidRequest("a filter is too long", fields={"q": "at most 200 characters"})
        limit = req.limit or DEFAULT_LIMIT
        after = decode_cursor(req.cursor)
        with self.rt.db.unit_of_work() as s:
            if req.student_id:
                common.require_student_here(s, who, req.student_id)
            rows = db.school_invoices_page(
                s,
                who.school_id,
                status=req.status,
                student_id=req.student_id,
                overdue_before=common.today(self.rt) if req.overdue else None,
                q=req.q.strip(),
                class_name=req.class_name.strip(),
                after=after,
                limit=limit + 1,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            messages = common.invoice_messages(s, rows, with_lines=False)
        items = [
            pb.SchoolInvoice(
                invoice=m,
                student_name=common.student_name(r),
                class_name=r.class_name,
                reminders_sent=0,  # no reminders are sent yet (issue 17's reminders)
            )
            for m, r in zip(messages, rows, strict=True)
        ]
        last = rows[-1] if rows else None
        cursor = encode_cursor(last.issued_on, last.number) if more and last is not None else ""
        return pb.ListSchoolInvoicesResponse(items=items, next_cursor=cursor)

    def get_finance_summary(self, who: Identity) -> pb.GetFinanceSummaryResponse:
        """Staff: what the school's wallets hold (its debt to families), its open and overdue
        invoices (count, open amount), and the same per class (by the students' class now)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            unpaid_n, unpaid_c, late_n, late_c = db.invoice_totals(s, who.school_id, common.today(self.rt))
            wallets = db.wallets_total(s, who.school_id)
            classes = db.class_summaries(s, who.school_id)
        return pb.GetFinanceSummaryResponse(
            wallets_total_cents=wallets,
            unpaid_count=int(unpaid_n),
            unpaid_total_cents=int(unpaid_c),
            overdue_count=int(late_n),
            overdue_total_cents=int(late_c),
            classes=[
                pb.ClassFinanceSummary(class_name=name, **values)
                for name, values in sorted(classes.items(), key=lambda kv: kv[0])
            ],
        )
