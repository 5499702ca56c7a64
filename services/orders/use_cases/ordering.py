"""Ordering: the summary ("récapitulatif") with the book-return credit, then the order, recorded once
per idempotency key and invoiced in finance."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cartable.orders.v1 import orders_pb2 as pb
from kit.errors import InvalidRequest, Unavailable
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.service import Runtime
from services.orders import db, events, views
from services.orders.domain.pricing import EmptyOrder, Summary, UnknownItems, invoice_label, summarize
from services.orders.use_cases.common import load_period, open_period_for


def idempotency_scope(account_id: str) -> str:
    """Where a parent's order requests keep their answers (``kit.idempotency``): one scope per account."""
    return f"order:{account_id}"


@dataclass(frozen=True)
class Invoiced:
    invoice_id: str
    checkout_url: str


# How orders asks finance for the invoice (services/orders/invoicing.py; a fake in tests):
# (identity token, student id, title, lines [(label, qty, unit cents)], credit cents, key, return url)
Invoicer = Callable[[Identity, str, str, list[tuple[str, int, int]], int, str, str], Invoiced]


def _summarize(
    s: Session, who: Identity, period_id: str, student_id: str, item_ids: list[str], *, lock: bool
) -> Summary:
    """The summary of the chosen items on sale with the student's credit in the caller's school
    (``lock``: the credit account held until the commit, made when missing); a 400 for an empty
    choice or items not on sale."""
    items = [db.item_of(r) for r in db.items_on_sale(s, period_id)]
    credit = (
        db.lock_credit_account(s, who.school_id, student_id)
        if lock
        else db.credit_balance(s, who.school_id, student_id)
    )
    try:
        return summarize(items, item_ids, credit)
    except EmptyOrder:
        raise InvalidRequest("choose at least one item", fields={"item_ids": "at least one item"}) from None
    except UnknownItems as e:
        raise InvalidRequest("unknown items", fields={"item_ids": str(e)}) from None


@dataclass(frozen=True)
class _Recorded:
    """What the transaction that recorded an order knows of it: what invoicing it needs, without
    reading it back (``id``, ``school_id``, ``period_id``, ``student_id``, the totals; the lines)."""

    id: str
    school_id: str
    period_id: str
    student_id: str
    grand_total_cents: int
    credit_cents: int
    period_title: str
    lines: tuple


class Ordering:
    def __init__(self, rt: Runtime, invoicer: Invoicer | None) -> None:
        self.rt = rt
        self.invoicer = invoicer

    def summarize_order(
        self, who: Identity, period_id: str, student_id: str, item_ids: list[str]
    ) -> pb.SummarizeOrderResponse:
        """ "Récapitulatif": the order amount, the credit earned by returned books, the grand total."""
        with self.rt.db.unit_of_work() as s:
            open_period_for(s, who, period_id, student_id, self.rt.clock())
            return views.summary_pb(_summarize(s, who, period_id, student_id, item_ids, lock=False))

    def place_order(
        self,
        who: Identity,
        period_id: str,
        student_id: str,
        item_ids: list[str],
        key: str,
        return_url: str = "",
    ) -> pb.PlaceOrderResponse:
        """Record the order and take the credit (one transaction, once per key), then invoice it in
        finance with the order id as idempotency key. A retry of the same request resumes an order
        whose invoicing failed; a period that closed meanwhile refuses a new order cleanly."""
        req = pb.PlaceOrderRequest(period_id=period_id, student_id=student_id, item_ids=item_ids)
        key = key or str(uuid.uuid4())

        made: list[_Recorded] = []  # the order this call recorded (none when it replays one)

        def record(s: Session) -> pb.PlaceOrderResponse:
            period = open_period_for(s, who, period_id, student_id, self.rt.clock())
            summary = _summarize(s, who, period_id, student_id, item_ids, lock=True)
            now = self.rt.clock()
            order_id = db.insert_order(
                s,
                school_id=who.school_id,
                period_id=period_id,
                student_id=student_id,
                account_id=who.account_id,
                summary=summary,
                created_at=now,
            )
            if summary.credit_cents:
                db.take_credit(s, who.school_id, student_id, summary.credit_cents, order_id, now)
            made[:] = [
                _Recorded(
                    order_id,
                    who.school_id,
                    period_id,
                    student_id,
                    summary.grand_total_cents,
                    summary.credit_cents,
                    period.title,
                    summary.lines,
                )
            ]
            return pb.PlaceOrderResponse(
                order_id=order_id,
                grand_total_cents=summary.grand_total_cents,
                summary=views.summary_pb(summary),
            )

        recorded = run_idempotent(
            self.rt.db,
            db.idempotency_keys,
            idempotency_scope(who.account_id),
            key,
            request_hash(req),
            pb.PlaceOrderResponse,
            record,
        )
        done = pb.PlaceOrderResponse()
        done.CopyFrom(recorded)
        if made and made[0].id == recorded.order_id:  # recorded just now: invoicing, as written
            return self._send_invoice(who, done, made[0], return_url)
        return self._resume(who, done, return_url)

    def _resume(self, who: Identity, done: pb.PlaceOrderResponse, return_url: str) -> pb.PlaceOrderResponse:
        """A replayed order (same key): its invoice when it has one, else invoiced now."""
        with self.rt.db.unit_of_work() as s:
            order, lines = db.order_with_lines(s, done.order_id)
            period = load_period(s, who, order.period_id)
        if order.status == "placed":
            done.invoice_id, done.checkout_url = order.invoice_id, order.checkout_url or ""
            return done
        recorded = _Recorded(
            order.id,
            order.school_id,
            order.period_id,
            order.student_id,
            order.grand_total_cents,
            order.credit_cents,
            period.title,
            tuple(lines),
        )
        return self._send_invoice(who, done, recorded, return_url)

    def _send_invoice(
        self, who: Identity, done: pb.PlaceOrderResponse, order: _Recorded, return_url: str
    ) -> pb.PlaceOrderResponse:
        """The recorded order invoiced in finance (once: finance keys it by the order id) and announced."""
        if self.invoicer is None:
            raise Unavailable("invoicing is not configured")
        invoiced = self.invoicer(
            who,
            order.student_id,
            order.period_title,
            [(invoice_label(ln.subject, ln.title, ln.type), 1, ln.price_cents) for ln in order.lines],
            order.credit_cents,
            f"order:{order.id}",
            return_url,
        )
        with self.rt.db.unit_of_work() as s:
            if db.mark_placed(s, order.id, invoiced.invoice_id, invoiced.checkout_url):
                events.order_placed(self.rt, s, order, order.lines, order.period_title, invoiced.invoice_id)
        done.invoice_id, done.checkout_url = invoiced.invoice_id, invoiced.checkout_url
        return done
