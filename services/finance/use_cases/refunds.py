"""Refunds to a bank account (issue #18): a manager gives a wallet's money back to an IBAN, most often
a leaver's whole balance. The wallet is debited at once (operation ``refund``, booked on the school's
refunds payable), never below zero; refunds wait until a manager gathers them in a credit-transfer
batch, whose SEPA file (pain.001.001.03) the school's bank pays out. ``RefundService``, servicer
``refunds_api.py``.

Staff only; everything is the caller's school's: a wallet, a student or a batch of another school is
not found, as one that never existed. A student who left keeps their wallets readable and refundable:
refunding a leaver is what this is for."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cartable.finance.v1 import sepa_pb2 as pb
from kit import audit
from kit.db import aware
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.paging import decode_cursor, encode_cursor, page_size
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.db import refund_queries as q
from services.finance.domain import ledger
from services.finance.domain import refunds as rules
from services.finance.domain.school_settings import mask_iban
from services.finance.use_cases import common

# How far ahead a batch may ask the bank to pay (a date further out is a typing slip).
MAX_EXECUTION_DAYS = 365


def _checked(req: pb.CreateRefundRequest) -> tuple[str, str, str]:
    """The IBAN (compact), holder and remittance text of the request, or InvalidRequest naming every
    bad field."""
    errors: dict[str, str] = {}
    iban = holder = ""
    if not req.wallet_id or len(req.wallet_id) > 36:
        errors["wallet_id"] = "required"
    try:
        iban = rules.check_iban(req.iban)
    except ValueError as e:
        errors["iban"] = str(e)
    try:
        holder = rules.check_holder(req.holder_name)
    except ValueError as e:
        errors["holder_name"] = str(e)
    if req.HasField("amount_cents") and not 1 <= req.amount_cents <= common.MAX_UNIT_CENTS:
        errors["amount_cents"] = f"1 to {common.MAX_UNIT_CENTS}, or none for the whole balance"
    reason = " ".join(req.reason.split())
    if len(reason) > rules.MAX_REMITTANCE:
        errors["reason"] = f"at most {rules.MAX_REMITTANCE} characters"
    if errors:
        raise InvalidRequest("some fields are not valid", fields=errors)
    return iban, holder, reason


def _page(limit: int) -> int:
    try:
        size = page_size(limit, paged=True)
    except ValueError as e:
        raise InvalidRequest("bad limit", fields={"limit": str(e)}) from None
    assert size is not None
    return size


def _after(cursor: str) -> tuple[datetime, str] | None:
    """The keyset a list's next_cursor carries: the last row's time and id."""
    if not cursor:
        return None
    try:
        at, last_id = decode_cursor(cursor, 2)
        return aware(datetime.fromisoformat(at)), last_id
    except ValueError:
        raise InvalidRequest("bad cursor", fields={"cursor": "the next_cursor of a previous page"}) from None


def _next_cursor(rows: list, size: int) -> str:
    if len(rows) <= size:
        return ""
    last = rows[size - 1]
    return encode_cursor([aware(last.created_at).isoformat(), last.id])


class Refunds:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_proposal(self, who: Identity, req: pb.GetRefundProposalRequest) -> pb.GetRefundProposalResponse:
        """What refunding the wallet proposes: its whole balance, and the IBAN and holder of the newest
        active mandate covering its student (for the manager to confirm; "" when none)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            wallet = db.find_wallet(s, who.school_id, req.wallet_id) if req.wallet_id else None
            if wallet is None:
                raise NotFound("no such wallet")
            mandate = q.active_mandate_of(s, who.school_id, wallet.student_id)
        return pb.GetRefundProposalResponse(
            wallet_id=wallet.id,
            balance_cents=wallet.balance_cents,
            iban=mandate.iban if mandate else "",
            holder_name=mandate.holder_name if mandate else "",
            mandate_id=mandate.id if mandate else "",
        )

    def create_refund(self, who: Identity, req: pb.CreateRefundRequest) -> pb.CreateRefundResponse:
        """Refund the wallet to the IBAN: ``amount_cents`` (unset: the whole balance) is taken from it
        at once under its lock, never more than it holds (409 insufficient_balance, nothing booked);
        the refund waits for the next credit-transfer batch. Once per idempotency key."""
        who.require_staff()
        iban, holder, reason = _checked(req)
        requested = req.amount_cents if req.HasField("amount_cents") else None

        def work(s: Session) -> pb.CreateRefundResponse:
            wallet = db.lock_wallet(s, who.school_id, req.wallet_id)
            if wallet is None:
                raise NotFound("no such wallet")
            try:
                amount, balance_after = rules.refund_amount(wallet.balance_cents, requested)
            except ledger.InsufficientBalance as e:
                raise Conflict(
                    f"the wallet holds {e.balance_cents} cents, the refund needs {e.amount_cents}",
                    code="insufficient_balance",
                ) from None
            student = db.find_student(s, who.school_id, wallet.student_id)
            remittance = rules.sepa_text(reason, rules.MAX_REMITTANCE) or rules.default_remittance(
                wallet.name, common.student_name(student) if student is not None else ""
            )
            at = common.now(self.rt)
            masked = mask_iban(iban)
            tx_id = db.book(
                s,
                who.school_id,
                ledger.refund_to_bank_account(wallet.id, who.school_id, amount),
                at=at,
                label=f"Remboursement vers {masked}",
                student_id=wallet.student_id,
            )
            refund_id = str(uuid.uuid4())
            q.insert_refund(
                s,
                refund_id=refund_id,
                school_id=who.school_id,
                wallet_id=wallet.id,
                student_id=wallet.student_id,
                amount_cents=amount,
                balance_after_cents=balance_after,
                iban=iban,
                bic=rules.bic_of(iban),
                holder_name=holder,
                reason=remittance,
                end_to_end_id=rules.end_to_end_id(refund_id),
                transaction_id=tx_id,
                created_by=who.account_id,
                created_at=at,
            )
            events.record(
                self.rt,
                s,
                who.school_id,
                events.refund_created(
                    refund_id=refund_id,
                    wallet_id=wallet.id,
                    student_id=wallet.student_id,
                    wallet_name=wallet.name,
                    amount_cents=amount,
                    iban_masked=masked,
                    balance_after_cents=balance_after,
                ),
            )
            audit.record(
                self.rt,
                s,
                who,
                "finance.refund.created",
                "refund",
                refund_id,
                f"{format_eur(amount)} from {wallet.name} to {masked} ({holder})",
            )
            row = q.refund_of(s, who.school_id, refund_id)
            return pb.CreateRefundResponse(refund=views.refund(row), created=True)

        return common.idempotent(
            self.rt, f"refund:{who.account_id}", req.idempotency_key, req, pb.CreateRefundResponse, work
        )

    def list_refunds(self, who: Identity, req: pb.ListRefundsRequest) -> pb.ListRefundsResponse:
        """The school's refunds, newest first, a page at a time; only those waiting for a batch with
        ``unbatched``; of one student (one finance knows in the school, else not found)."""
        who.require_staff()
        size, after = _page(req.limit), _after(req.cursor)
        with self.rt.db.unit_of_work() as s:
            if req.student_id:
                common.require_student_here(s, who, req.student_id)
            rows = q.refunds_page(
                s,
                who.school_id,
                unbatched=req.unbatched,
                student_id=req.student_id,
                after=after,
                limit=size + 1,  # one more: is there a next page?
            )
        return pb.ListRefundsResponse(
            items=[views.refund(r) for r in rows[:size]], next_cursor=_next_cursor(rows, size)
        )

    def create_batch(self, who: Identity, req: pb.CreateRefundBatchRequest) -> pb.CreateRefundBatchResponse:
        """Every refund not batched yet, in one credit-transfer batch paid from the school's account on
        ``execution_date`` (today when ""): its pain.001.001.03 file is built, checked against the
        schema and kept. Each refund goes into one batch only, even when two are built at once. None
        waiting: 409 batch_empty; the school's settings name no IBAN: 409 method_disabled. Once per
        idempotency key."""
        who.require_staff()
        today = common.today(self.rt)
        execution = common.parse_date(req.execution_date, "execution_date") or today
        if not today <= execution <= today + timedelta(days=MAX_EXECUTION_DAYS):
            raise InvalidRequest(
                "the execution date is in the past or too far ahead",
                fields={"execution_date": f"today to {MAX_EXECUTION_DAYS} days ahead"},
            )

        def work(s: Session) -> pb.CreateRefundBatchResponse:
            debtor = _school_account(s, who.school_id)
            waiting = q.lock_unbatched(s, who.school_id)
            if not waiting:
                raise Conflict("no refund is waiting for a batch", code="batch_empty")
            batch_id, at = str(uuid.uuid4()), common.now(self.rt)
            msg_id = rules.message_id(batch_id)
            content = rules.build_pain001(
                debtor,
                [
                    rules.CreditTransfer(
                        end_to_end_id=r.end_to_end_id,
                        amount_cents=r.amount_cents,
                        name=r.holder_name,
                        iban=r.iban,
                        remittance=r.reason,
                        bic=r.bic,
                    )
                    for r in waiting
                ],
                msg_id=msg_id,
                created_at=at.astimezone(common.BRUSSELS),
                execution_date=execution,
            )
            total = sum(r.amount_cents for r in waiting)
            q.insert_batch(
                s,
                batch_id=batch_id,
                school_id=who.school_id,
                message_id=msg_id,
                execution_date=execution,
                count=len(waiting),
                total_cents=total,
                filename=rules.filename(execution, batch_id),
                content=content,
                created_by=who.account_id,
                created_at=at,
            )
            moved = q.assign_batch(s, [r.id for r in waiting], batch_id)
            if moved != len(waiting):  # the lock above makes this impossible: never book half a batch
                raise RuntimeError(f"{len(waiting) - moved} refunds were batched meanwhile")
            audit.record(
                self.rt,
                s,
                who,
                "finance.refund_batch.created",
                "refund_batch",
                batch_id,
                f"{len(waiting)} refunds, {format_eur(total)}, to be paid on {execution.isoformat()}",
            )
            return pb.CreateRefundBatchResponse(
                batch=views.refund_batch(q.batch_of(s, who.school_id, batch_id)), created=True
            )

        return common.idempotent(
            self.rt,
            f"refund-batch:{who.account_id}",
            req.idempotency_key,
            req,
            pb.CreateRefundBatchResponse,
            work,
        )

    def list_batches(self, who: Identity, req: pb.ListRefundBatchesRequest) -> pb.ListRefundBatchesResponse:
        """The school's credit-transfer batches, newest first, a page at a time."""
        who.require_staff()
        size, after = _page(req.limit), _after(req.cursor)
        with self.rt.db.unit_of_work() as s:
            rows = q.batches_page(s, who.school_id, after=after, limit=size + 1)
        return pb.ListRefundBatchesResponse(
            items=[views.refund_batch(r) for r in rows[:size]], next_cursor=_next_cursor(rows, size)
        )

    def get_batch_file(self, who: Identity, req: pb.GetRefundBatchFileRequest) -> pb.SepaFile:
        """The batch's pain.001.001.03 file, as it was built (the same bytes, the same MsgId)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = q.batch_of(s, who.school_id, req.batch_id, with_file=True) if req.batch_id else None
        if row is None:
            raise NotFound("no such refund batch")
        return pb.SepaFile(filename=row.filename, content=bytes(row.content), content_type="application/xml")


def _school_account(s: Session, school_id: str) -> rules.Debtor:
    """The school's bank account the refunds are paid from (its settings), or 409 method_disabled."""
    settings = db.settings_row(s, school_id)
    name = (settings.beneficiary or settings.school_name) if settings is not None else ""
    if settings is None or not settings.iban or not rules.sepa_text(name, rules.MAX_HOLDER):
        raise Conflict(
            "the school's settings need its IBAN and beneficiary to pay refunds", code="method_disabled"
        )
    return rules.Debtor(name=name, iban=settings.iban, bic=settings.bic or rules.bic_of(settings.iban))
