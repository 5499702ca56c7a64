"""Use cases of the orders service, one unit of work each."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cartable.orders.v1 import events_pb2
from cartable.orders.v1 import orders_pb2 as pb
from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.service import Runtime
from services.orders.db import (
    catalog_items,
    credit_accounts,
    credit_entries,
    idempotency_keys,
    order_lines,
    order_periods,
    orders,
)
from services.orders.domain.pricing import (
    ITEM_TYPES,
    EmptyOrder,
    Item,
    Summary,
    UnknownItems,
    catalog_order,
    summarize,
)

log = logging.getLogger("orders")


@dataclass(frozen=True)
class Period:
    id: str
    title: str
    notes: str
    opens_at: datetime
    closes_at: datetime
    class_names: tuple[str, ...]

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def serves(self, class_name: str | None) -> bool:
        return not self.class_names or class_name is None or class_name in self.class_names


@dataclass(frozen=True)
class Invoiced:
    invoice_id: str
    checkout_url: str


# (identity token, student id, title, lines [(label, qty, unit cents)], credit cents, key, return url)
Invoicer = Callable[[Identity, str, str, list[tuple[str, int, int]], int, str, str], Invoiced]


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _period(row) -> Period:
    return Period(
        row.id,
        row.title,
        row.notes,
        _aware(row.opens_at),
        _aware(row.closes_at),
        tuple(c for c in row.class_names.split("\n") if c),
    )


def _instant(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequest("invalid date", fields={field: "expected an RFC 3339 instant"}) from None
    if dt.tzinfo is None:
        raise InvalidRequest("invalid date", fields={field: "the instant needs an offset"})
    return dt.astimezone(UTC)


def summary_pb(s: Summary) -> pb.SummarizeOrderResponse:
    return pb.SummarizeOrderResponse(
        lines=[
            pb.SummaryLine(
                item_id=i.id, subject=i.subject, title=i.title, type=i.type, price_cents=i.price_cents
            )
            for i in s.lines
        ],
        subtotal_cents=s.subtotal_cents,
        credit_cents=s.credit_cents,
        grand_total_cents=s.grand_total_cents,
    )


class OrdersService:
    def __init__(self, rt: Runtime, invoicer: Invoicer | None = None) -> None:
        self.rt = rt
        self.invoicer = invoicer

    # -- reading ---------------------------------------------------------------------------------

    def _load_period(self, s: Session, who: Identity, period_id: str) -> Period:
        row = s.execute(
            select(order_periods).where(
                order_periods.c.id == period_id, order_periods.c.school_id == who.school_id
            )
        ).first()
        if row is None:
            raise NotFound("no such ordering period")
        return _period(row)

    def _open_period_for(self, s: Session, who: Identity, period_id: str, student_id: str) -> Period:
        who.require_student(student_id)
        period = self._load_period(s, who, period_id)
        if not period.serves(who.students.get(student_id)):
            raise NotFound("no such ordering period")
        if not period.is_open(self.rt.clock()):
            raise Conflict("this ordering period is closed", code="period_closed")
        return period

    def _items(self, s: Session, period_id: str) -> list[Item]:
        rows = s.execute(
            select(catalog_items).where(
                catalog_items.c.period_id == period_id, catalog_items.c.withdrawn_at.is_(None)
            )
        ).all()
        return [Item(r.id, r.subject, r.title, r.type, r.price_cents) for r in rows]

    def _credit(self, s: Session, student_id: str, lock: bool = False) -> int:
        q = select(credit_accounts.c.balance_cents).where(credit_accounts.c.student_id == student_id)
        if lock and not self.rt.db.is_sqlite:
            q = q.with_for_update()
        return s.execute(q).scalar_one_or_none() or 0

    def list_open_periods(self, who: Identity, student_id: str) -> list[Period]:
        """The periods open now for the student's class (or for every class)."""
        who.require_student(student_id)
        class_name = who.students.get(student_id)
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(order_periods)
                .where(
                    order_periods.c.school_id == who.school_id,
                    order_periods.c.opens_at <= now,
                    order_periods.c.closes_at > now,
                )
                .order_by(order_periods.c.closes_at)
            ).all()
        return [p for p in map(_period, rows) if p.serves(class_name)]

    def catalog(
        self, who: Identity, period_id: str, student_id: str
    ) -> tuple[Period, list[Item], dict[str, str]]:
        """The order form: the period and its items sorted by subject, with each item's comment."""
        with self.rt.db.unit_of_work() as s:
            period = self._open_period_for(s, who, period_id, student_id)
            rows = s.execute(
                select(catalog_items).where(
                    catalog_items.c.period_id == period_id, catalog_items.c.withdrawn_at.is_(None)
                )
            ).all()
        items = sorted(
            (Item(r.id, r.subject, r.title, r.type, r.price_cents) for r in rows),
            key=catalog_order,
        )
        return period, items, {r.id: r.comment for r in rows}

    def summarize(self, who: Identity, period_id: str, student_id: str, item_ids: list[str]) -> Summary:
        """ "Récapitulatif": the order amount, the credit earned by returned books, the grand total."""
        with self.rt.db.unit_of_work() as s:
            self._open_period_for(s, who, period_id, student_id)
            return self._summarize(s, period_id, student_id, item_ids, lock=False)

    def _summarize(
        self, s: Session, period_id: str, student_id: str, item_ids: list[str], lock: bool
    ) -> Summary:
        try:
            return summarize(self._items(s, period_id), item_ids, self._credit(s, student_id, lock=lock))
        except EmptyOrder:
            raise InvalidRequest(
                "choose at least one item", fields={"item_ids": "at least one item"}
            ) from None
        except UnknownItems as e:
            raise InvalidRequest("unknown items", fields={"item_ids": str(e)}) from None

    # -- ordering --------------------------------------------------------------------------------

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

        def record(s: Session) -> pb.PlaceOrderResponse:
            self._open_period_for(s, who, period_id, student_id)
            self._ensure_credit_account(s, who.school_id, student_id)
            summary = self._summarize(s, period_id, student_id, item_ids, lock=True)
            order_id = str(uuid.uuid4())
            now = self.rt.clock()
            s.execute(
                orders.insert().values(
                    id=order_id,
                    school_id=who.school_id,
                    period_id=period_id,
                    student_id=student_id,
                    account_id=who.account_id,
                    status="invoicing",
                    subtotal_cents=summary.subtotal_cents,
                    credit_cents=summary.credit_cents,
                    grand_total_cents=summary.grand_total_cents,
                    created_at=now,
                )
            )
            s.execute(
                order_lines.insert(),
                [
                    {
                        "order_id": order_id,
                        "item_id": i.id,
                        "subject": i.subject,
                        "title": i.title,
                        "type": i.type,
                        "price_cents": i.price_cents,
                    }
                    for i in summary.lines
                ],
            )
            if summary.credit_cents:
                s.execute(
                    update(credit_accounts)
                    .where(credit_accounts.c.student_id == student_id)
                    .values(balance_cents=credit_accounts.c.balance_cents - summary.credit_cents)
                )
                s.execute(
                    credit_entries.insert().values(
                        id=str(uuid.uuid4()),
                        student_id=student_id,
                        amount_cents=-summary.credit_cents,
                        note="order",
                        order_id=order_id,
                        created_at=now,
                    )
                )
            return pb.PlaceOrderResponse(
                order_id=order_id, grand_total_cents=summary.grand_total_cents, summary=summary_pb(summary)
            )

        recorded = run_idempotent(
            self.rt.db,
            idempotency_keys,
            f"order:{who.account_id}",
            key,
            request_hash(req),
            pb.PlaceOrderResponse,
            record,
        )
        return self._invoice(who, recorded, return_url)

    def _invoice(
        self, who: Identity, recorded: pb.PlaceOrderResponse, return_url: str
    ) -> pb.PlaceOrderResponse:
        with self.rt.db.unit_of_work() as s:
            order = s.execute(select(orders).where(orders.c.id == recorded.order_id)).one()
            period = self._load_period(s, who, order.period_id)
            lines = s.execute(
                select(order_lines).where(order_lines.c.order_id == order.id).order_by(order_lines.c.id)
            ).all()
        done = pb.PlaceOrderResponse()
        done.CopyFrom(recorded)
        if order.status == "placed":
            done.invoice_id, done.checkout_url = order.invoice_id, order.checkout_url or ""
            return done
        if self.invoicer is None:
            raise Unavailable("invoicing is not configured")
        invoiced = self.invoicer(
            who,
            order.student_id,
            period.title,
            [
                (
                    f"{ln.subject} – {ln.title}" + (" (location)" if ln.type == "loan" else ""),
                    1,
                    ln.price_cents,
                )
                for ln in lines
            ],
            order.credit_cents,
            f"order:{order.id}",
            return_url,
        )
        with self.rt.db.unit_of_work() as s:
            changed = s.execute(
                update(orders)
                .where(orders.c.id == order.id, orders.c.status == "invoicing")
                .values(
                    status="placed",
                    invoice_id=invoiced.invoice_id,
                    checkout_url=invoiced.checkout_url or None,
                )
            ).rowcount
            if changed:
                self.rt.record(
                    s,
                    "orders.order.placed.v1",
                    events_pb2.OrderPlaced(
                        order_id=order.id,
                        student_id=order.student_id,
                        period_id=order.period_id,
                        invoice_id=invoiced.invoice_id,
                        grand_total_cents=order.grand_total_cents,
                        period_title=period.title,
                        credit_cents=order.credit_cents,
                        items=[
                            events_pb2.OrderedItem(
                                subject=ln.subject, title=ln.title, type=ln.type, price_cents=ln.price_cents
                            )
                            for ln in lines
                        ],
                    ),
                    order.school_id,
                )
        done.invoice_id, done.checkout_url = invoiced.invoice_id, invoiced.checkout_url
        return done

    def _ensure_credit_account(self, s: Session, school_id: str, student_id: str) -> None:
        exists = s.execute(
            select(credit_accounts.c.student_id).where(credit_accounts.c.student_id == student_id)
        ).first()
        if not exists:
            s.execute(
                credit_accounts.insert().values(student_id=student_id, school_id=school_id, balance_cents=0)
            )

    # -- staff -----------------------------------------------------------------------------------

    def create_period(
        self, who: Identity, title: str, notes: str, opens_at: str, closes_at: str, class_names: list[str]
    ) -> str:
        """An ordering period: title, notes, start and end, the classes concerned (none: every class)."""
        who.require_staff()
        fields: dict[str, str] = {}
        title = (title or "").strip()
        if not title or len(title) > 200:
            fields["title"] = "required, at most 200 characters"
        opens = closes = None
        for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
            try:
                dt = _instant(value, name)
            except InvalidRequest as e:
                fields.update(e.fields)
                continue
            if name == "opens_at":
                opens = dt
            else:
                closes = dt
        if opens and closes and closes <= opens:
            fields["closes_at"] = "must be after opens_at"
        if fields:
            raise InvalidRequest("the ordering period is not valid", fields=fields)
        period_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            s.execute(
                order_periods.insert().values(
                    id=period_id,
                    school_id=who.school_id,
                    title=title,
                    notes=(notes or "").strip(),
                    opens_at=opens,
                    closes_at=closes,
                    class_names="\n".join(sorted({c.strip() for c in class_names if c.strip()})),
                    created_at=self.rt.clock(),
                )
            )
        return period_id

    def add_item(
        self,
        who: Identity,
        period_id: str,
        subject: str,
        title: str,
        comment: str,
        type_: str,
        price_cents: int,
        idempotency_key: str = "",
        reference: str = "",
    ) -> str:
        """A catalog item in the period; with ``idempotency_key`` once per key (a retried call, or an
        album offered again after a failure half-way, answers the item already added)."""
        who.require_staff()
        fields = {}
        if not (subject or "").strip():
            fields["subject"] = "required"
        if not (title or "").strip():
            fields["title"] = "required"
        if type_ not in ITEM_TYPES:
            fields["type"] = "purchase | loan"
        if price_cents < 0 or price_cents > 100_000_00:
            fields["price_cents"] = "0 to 10000000"
        if len(reference or "") > 80:
            fields["reference"] = "at most 80 characters"
        if fields:
            raise InvalidRequest("the item is not valid", fields=fields)
        req = pb.AddItemRequest(
            period_id=period_id,
            subject=subject,
            title=title,
            comment=comment,
            type=type_,
            price_cents=price_cents,
            reference=reference,
        )

        def work(s: Session) -> pb.AddItemResponse:
            self._load_period(s, who, period_id)
            item_id = str(uuid.uuid4())
            s.execute(
                catalog_items.insert().values(
                    id=item_id,
                    period_id=period_id,
                    subject=subject.strip(),
                    title=title.strip(),
                    comment=(comment or "").strip(),
                    type=type_,
                    price_cents=price_cents,
                    created_at=self.rt.clock(),
                    reference=reference or None,
                )
            )
            return pb.AddItemResponse(id=item_id)

        return run_idempotent(
            self.rt.db,
            idempotency_keys,
            f"item:{who.school_id}",
            idempotency_key,
            request_hash(req),
            pb.AddItemResponse,
            work,
        ).id

    def withdraw_items(self, who: Identity, references: list[str]) -> int:
        """Take the school's items with these references off sale (every period); the number withdrawn
        now. Orders already placed keep their lines; a new order cannot choose them."""
        who.require_staff()
        refs = sorted({r for r in references if r})
        if not refs:
            return 0
        if len(refs) > 5000:
            raise InvalidRequest("too many references", fields={"references": "at most 5000"})
        school_periods = select(order_periods.c.id).where(order_periods.c.school_id == who.school_id)
        with self.rt.db.unit_of_work() as s:
            done = s.execute(
                update(catalog_items)
                .where(
                    catalog_items.c.reference.in_(refs),
                    catalog_items.c.withdrawn_at.is_(None),
                    catalog_items.c.period_id.in_(school_periods),
                )
                .values(withdrawn_at=self.rt.clock())
            )
            return done.rowcount or 0

    def record_book_return(
        self, who: Identity, student_id: str, credit_cents: int, note: str
    ) -> tuple[str, int]:
        """Books given back earn credit, taken off the student's next order."""
        who.require_staff()
        if credit_cents <= 0 or credit_cents > 100_000_00:
            raise InvalidRequest("credit_cents must be positive", fields={"credit_cents": "1 to 10000000"})
        entry_id = str(uuid.uuid4())
        with self.rt.db.unit_of_work() as s:
            self._ensure_credit_account(s, who.school_id, student_id)
            s.execute(
                update(credit_accounts)
                .where(
                    credit_accounts.c.student_id == student_id, credit_accounts.c.school_id == who.school_id
                )
                .values(balance_cents=credit_accounts.c.balance_cents + credit_cents)
            )
            s.execute(
                credit_entries.insert().values(
                    id=entry_id,
                    student_id=student_id,
                    amount_cents=credit_cents,
                    note=(note or "").strip(),
                    order_id=None,
                    created_at=self.rt.clock(),
                )
            )
            balance = self._credit(s, student_id)
        return entry_id, balance

    def list_periods(self, who: Identity) -> list[Period]:
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(order_periods)
                .where(order_periods.c.school_id == who.school_id)
                .order_by(order_periods.c.opens_at.desc())
            ).all()
        return [_period(r) for r in rows]
