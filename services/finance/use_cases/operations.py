"""Money in and out of wallets at school, and what parents and staff read of it: cash top-ups at the
office, purchases paid from a wallet (the sales journal), the list of a student's wallet operations
and of sales."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.db import aware
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.paging import decode_cursor, encode_cursor, page_size
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.domain import ledger
from services.finance.domain.payments import METHODS
from services.finance.use_cases import auto_top_ups, common

# Operation types as API.md names them, and the ledger kinds behind them; anything else is an adjustment.
OPERATION_TYPES = {
    "top_up": ledger.KIND_TOP_UP,
    "purchase": ledger.KIND_SALE,
    "invoice_payment": ledger.KIND_INVOICE_PAYMENT,
    "refund": ledger.KIND_REFUND,
}
OPERATION_TYPE_OF_KIND = {kind: name for name, kind in OPERATION_TYPES.items()}


class Operations:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def record_top_up(self, who: Identity, req: pb.RecordTopUpRequest) -> pb.RecordTopUpResponse:
        """Staff: cash handed over at the office credits the wallet (online and transfer top-ups come
        through the payment provider and bank statements). A student who left the school: 409
        ``student_left``."""
        who.require_staff()
        method = req.method or "cash"
        if method != "cash":
            raise InvalidRequest("staff record cash top-ups only", fields={"method": "cash"})
        if not 1 <= req.amount_cents <= common.MAX_UNIT_CENTS:
            raise InvalidRequest(
                "amount_cents must be positive", fields={"amount_cents": f"1 to {common.MAX_UNIT_CENTS}"}
            )
        label = " ".join((req.label or "").split())[:300] or "Rechargement en espèces"

        def work(s: Session) -> pb.RecordTopUpResponse:
            # a handful of statements (issue #20): the wallet locked with its student's status, the
            # booking, the payment, the event and audit entry together; the idempotency key around
            wallet = db.lock_wallet_for_movement(s, who.school_id, req.wallet_id)
            if wallet is None:
                raise NotFound("no such wallet")
            common.refuse_left_status(who, wallet.student_id, wallet.student_status)
            outbox = events.Pending(self.rt)
            at = common.now(self.rt)
            tx_id = db.book(
                s,
                who.school_id,
                ledger.top_up(wallet.id, who.school_id, req.amount_cents, method),
                at=at,
                label=label,
                student_id=wallet.student_id,
            )
            payment_id = db.insert_paid_payment(
                s,
                who.school_id,
                wallet.student_id,
                "top_up",
                method,
                req.amount_cents,
                at,
                tx_id,
                wallet_id=wallet.id,
            )
            balance = wallet.balance_cents + req.amount_cents
            events.record(
                outbox,
                s,
                who.school_id,
                events.payment_received(
                    payment_id,
                    wallet.student_id,
                    req.amount_cents,
                    method,
                    "top_up",
                    wallet_id=wallet.id,
                    balance_after=balance,
                    wallet_name=wallet.name,
                ),
            )
            audit.record(
                outbox,
                s,
                who,
                "finance.top_up.recorded",
                "wallet",
                wallet.id,
                f"{format_eur(req.amount_cents)} {method}, payment {payment_id}",
            )
            outbox.flush(s)
            return pb.RecordTopUpResponse(payment_id=payment_id, balance_cents=balance)

        return common.idempotent(
            self.rt, f"top-up:{who.account_id}", req.idempotency_key, req, pb.RecordTopUpResponse, work
        )

    def record_sale(self, who: Identity, req: pb.RecordSaleRequest) -> pb.RecordSaleResponse:
        """Staff: a purchase at school paid from the student's wallet (the sales journal); refused with
        insufficient_balance when the wallet does not cover it, student_left for a student who left
        the school."""
        who.require_staff()
        parsed = common.parse_lines(req.lines)
        amount = sum(a for *_, a in parsed)
        if amount <= 0:
            raise InvalidRequest("a sale must cost something", fields={"lines": "total above 0"})
        label = ", ".join(f"{lb} ×{q}" if q > 1 else lb for lb, q, _u, _a in parsed)[:300]

        def work(s: Session) -> pb.RecordSaleResponse:
            # as record_top_up's: the wallet's automatic top-up read with the lock
            wallet = db.lock_wallet_for_movement(s, who.school_id, req.wallet_id)
            if wallet is None or wallet.student_id != req.student_id:
                raise NotFound("no such wallet for this student")
            common.refuse_left_status(who, wallet.student_id, wallet.student_status)
            balance_after = common.balance_after_debit(wallet.balance_cents, amount, "the sale costs")
            outbox = events.Pending(self.rt)
            at = common.now(self.rt)
            tx_id = db.book(
                s,
                who.school_id,
                ledger.sale(wallet.id, who.school_id, amount),
                at=at,
                label=label,
                student_id=wallet.student_id,
            )
            sale_id = db.insert_sale(
                s,
                parsed,
                school_id=who.school_id,
                student_id=wallet.student_id,
                wallet_id=wallet.id,
                transaction_id=tx_id,
                amount=amount,
                recorded_by=who.account_id,
                now=at,
                childcare=[line.childcare for line in req.lines],
                days=[line.days for line in req.lines],
            )
            events.record(
                outbox,
                s,
                who.school_id,
                events.sale_recorded(
                    sale_id=sale_id,
                    student_id=wallet.student_id,
                    wallet_id=wallet.id,
                    wallet_name=wallet.name,
                    amount_cents=amount,
                    balance_after_cents=balance_after,
                    label=label,
                ),
            )
            auto_top_ups.after_debit(self.rt, s, who.school_id, wallet, balance_after, "sale", outbox=outbox)
            audit.record(
                outbox,
                s,
                who,
                "finance.sale.recorded",
                "sale",
                sale_id,
                f"{label}, {format_eur(amount)} from {wallet.name}",
            )
            outbox.flush(s)
            return pb.RecordSaleResponse(id=sale_id, balance_cents=balance_after, amount_cents=amount)

        return common.idempotent(
            self.rt, f"sale:{who.account_id}", req.idempotency_key, req, pb.RecordSaleResponse, work
        )

    def list_operations(self, who: Identity, req: pb.ListOperationsRequest) -> pb.ListOperationsResponse:
        """Every movement of the student's wallets in the period, newest first, optionally of one type
        and one payment method; amounts signed (+ in, − out). Staff: a student finance does not know in
        their school is not found, as is a wallet that is not the student's."""
        who.require_student(req.student_id)
        if req.type and req.type not in (*OPERATION_TYPES, "adjustment"):
            raise InvalidRequest(
                "unknown operation type", fields={"type": " | ".join([*OPERATION_TYPES, "adjustment"])}
            )
        if req.payment_method and req.payment_method not in METHODS:
            raise InvalidRequest("unknown payment method", fields={"payment_method": " | ".join(METHODS)})
        start, end = common.period(self.rt, req.period)
        try:  # the whole period when no page is asked for (one student's wallets: the pages)
            size = page_size(req.limit, paged=bool(req.cursor))
        except ValueError as e:
            raise InvalidRequest("bad limit", fields={"limit": str(e)}) from None
        after = _operation_cursor(req.cursor) if req.cursor else None
        with self.rt.db.unit_of_work() as s:
            common.require_student_here(s, who, req.student_id)
            names = db.wallet_names(s, who.school_id, req.student_id)
            if req.wallet_id and req.wallet_id not in names:
                raise NotFound("no such wallet")
            accounts = [ledger.wallet_account(w) for w in ([req.wallet_id] if req.wallet_id else names)]
            rows = (
                db.postings_of(
                    s,
                    accounts,
                    start,
                    end,
                    kind=OPERATION_TYPES.get(req.type, ""),
                    not_kinds=list(OPERATION_TYPES.values()) if req.type == "adjustment" else None,
                    method=req.payment_method,
                    after=after,
                    limit=None if size is None else size + 1,  # one more: is there a next page?
                )
                if accounts
                else []
            )
        more = size is not None and len(rows) > size
        rows = rows[:size] if more else rows
        ops = []
        for r in rows:
            wallet_id = r.account[len(db.WALLET_PREFIX) :]
            ops.append(
                views.operation(
                    r, OPERATION_TYPE_OF_KIND.get(r.kind, "adjustment"), wallet_id, names[wallet_id]
                )
            )
        last = rows[-1] if more else None
        return pb.ListOperationsResponse(
            operations=ops,
            starts_at=views.rfc3339(start),
            ends_at=views.rfc3339(end),
            next_cursor=encode_cursor([aware(last.created_at).isoformat(), str(last.id)])
            if last is not None
            else "",
        )

    def list_sales(self, who: Identity, req: pb.ListSalesRequest) -> pb.ListSalesResponse:
        """The sales journal in the period, newest first: a student's purchases line by line (staff
        without a student: the whole school's). A student (staff: unknown to finance in their school)
        or a wallet (not the school's, not the student's, not the parent's) that is not the caller's to
        read is not found."""
        if req.student_id or not who.is_staff:
            who.require_student(req.student_id)
        start, end = common.period(self.rt, req.period)
        try:  # one student's journal may come whole; the school's always comes a page at a time
            size = page_size(req.limit, paged=bool(req.cursor) or not req.student_id)
        except ValueError as e:
            raise InvalidRequest("bad limit", fields={"limit": str(e)}) from None
        after = _sale_cursor(req.cursor) if req.cursor else None
        with self.rt.db.unit_of_work() as s:
            if req.student_id:
                common.require_student_here(s, who, req.student_id)
            if req.wallet_id:
                common.wallet_of(who, db.find_wallet(s, who.school_id, req.wallet_id), req.student_id)
            rows = db.sale_lines_of(
                s,
                who.school_id,
                start,
                end,
                student_id=req.student_id,
                wallet_id=req.wallet_id,
                after=after,
                limit=None if size is None else size + 1,  # one more: is there a next page?
            )
        more = size is not None and len(rows) > size
        rows = rows[:size] if more else rows
        last = rows[-1] if more else None
        return pb.ListSalesResponse(
            lines=[views.sale_line(r) for r in rows],
            starts_at=views.rfc3339(start),
            ends_at=views.rfc3339(end),
            next_cursor=encode_cursor([aware(last.created_at).isoformat(), last.sale_id, str(last.position)])
            if last is not None
            else "",
        )


def _sale_cursor(cursor: str) -> tuple[datetime, str, int]:
    """The keyset a sales journal's next_cursor carries: the last line's sale time, sale, position."""
    try:
        at, sale_id, position = decode_cursor(cursor, 3)
        return aware(datetime.fromisoformat(at)), sale_id, int(position)
    except ValueError:
        raise InvalidRequest("bad cursor", fields={"cursor": "the next_cursor of a previous page"}) from None


def _operation_cursor(cursor: str) -> tuple[datetime, int]:
    """The keyset an operations list's next_cursor carries: the last posting's time and id."""
    try:
        at, posting_id = decode_cursor(cursor, 2)
        return aware(datetime.fromisoformat(at)), int(posting_id)
    except ValueError:
        raise InvalidRequest("bad cursor", fields={"cursor": "the next_cursor of a previous page"}) from None
