"""The catalog of a period: parents read the order form; staff add items (once per idempotency key)
and take items off sale by reference (e.g. a withdrawn photo, ``photo:<id>``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.orders.v1 import orders_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.orders import db, db_staff, views
from services.orders.domain.pricing import ITEM_TYPES, MAX_PRICE_CENTS, catalog_order
from services.orders.use_cases.common import load_period, open_period_for

MAX_REFERENCES = 5000


class Catalog:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_catalog(self, who: Identity, period_id: str, student_id: str) -> pb.GetCatalogResponse:
        """The order form: the open period and its items on sale, by subject then title, with each
        item's comment."""
        with self.rt.db.unit_of_work() as s:
            period = open_period_for(s, who, period_id, student_id, self.rt.clock())
            rows = db.items_on_sale(s, period_id)
        return pb.GetCatalogResponse(
            period=views.period_pb(period),
            items=[views.catalog_item_pb(r) for r in sorted(rows, key=catalog_order)],
        )

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
    ) -> pb.AddItemResponse:
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
        if price_cents < 0 or price_cents > MAX_PRICE_CENTS:
            fields["price_cents"] = f"0 to {MAX_PRICE_CENTS}"
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
            load_period(s, who, period_id)
            item_id = db.insert_item(
                s,
                period_id=period_id,
                subject=subject.strip(),
                title=title.strip(),
                comment=(comment or "").strip(),
                type_=type_,
                price_cents=price_cents,
                reference=reference or None,
                created_at=self.rt.clock(),
            )
            if not reference:  # an album's photos are audited once, as the album's offer (documents)
                audit.record(
                    self.rt,
                    s,
                    who,
                    "orders.item.added",
                    "order_item",
                    item_id,
                    f"{title.strip()}, {format_eur(price_cents)}",
                )
            return pb.AddItemResponse(id=item_id)

        return run_idempotent(
            self.rt.db,
            db.idempotency_keys,
            f"item:{who.school_id}",
            idempotency_key,
            request_hash(req),
            pb.AddItemResponse,
            work,
        )

    def withdraw_items(self, who: Identity, references: list[str]) -> pb.WithdrawItemsResponse:
        """Take the school's items with these references off sale (every period); answers the number
        withdrawn now. Orders already placed keep their lines; a new order cannot choose them."""
        who.require_staff()
        refs = sorted({r for r in references if r})
        if not refs:
            return pb.WithdrawItemsResponse(count=0)
        if len(refs) > MAX_REFERENCES:
            raise InvalidRequest("too many references", fields={"references": f"at most {MAX_REFERENCES}"})
        with self.rt.db.unit_of_work() as s:
            count = db.withdraw_items(s, who.school_id, refs, self.rt.clock())
            if count:
                audit.record(
                    self.rt,
                    s,
                    who,
                    "orders.items.withdrawn",
                    "order_items",
                    refs[0],
                    f"{count} off sale: {', '.join(refs)}",
                )
        return pb.WithdrawItemsResponse(count=count)

    def withdraw_item(self, who: Identity, period_id: str, item_id: str) -> pb.WithdrawItemResponse:
        """Staff: one item of the period off the catalog; orders already placed keep their lines. An
        item withdrawn before stays so (answers withdrawn_now false); an item not of this period of
        the caller's school is not found."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            load_period(s, who, period_id)
            row = db_staff.find_item(s, period_id, item_id)
            if row is None:
                raise NotFound("no such item in this ordering period")
            now = db_staff.withdraw_item(s, row.id, self.rt.clock())
            if now:
                audit.record(
                    self.rt,
                    s,
                    who,
                    "orders.item.withdrawn",
                    "order_item",
                    row.id,
                    f"{row.title}, {format_eur(row.price_cents)}",
                )
        return pb.WithdrawItemResponse(withdrawn_now=now)
