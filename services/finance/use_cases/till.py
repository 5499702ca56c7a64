"""The till's price list (issue #17): what the canteen or the shop's counter sells, per school. Staff
list it, add and change items, and archive them. A sale at the till is ``Operations.record_sale``,
whose lines the gateway takes from these items (label, price, childcare flag and days of care per
unit, issue #19): the sales journal keeps
what was sold even after an item changes or is archived.

Staff only; everything is the caller's school's: an item or a wallet type of another school is not
found, as one that never existed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cartable.finance.v1 import till_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.finance import views
from services.finance.db import till_queries as q
from services.finance.domain import lines
from services.finance.use_cases import common

MAX_LABEL = 120
MAX_POSITION = 100_000


def item_message(r) -> pb.TillItem:
    """A ``till_items`` row read with its wallet type's name."""
    return pb.TillItem(
        id=r.id,
        label=r.label,
        price_cents=r.price_cents,
        wallet_type_id=r.wallet_type_id or "",
        wallet_type_name=r.wallet_type_name or "",
        childcare=r.childcare,
        days=r.days,
        position=r.position,
        active=r.active,
        archived=r.archived_at is not None,
        updated_at=views.rfc3339(r.updated_at),
    )


def _changes(req: pb.SaveTillItemRequest) -> dict[str, Any]:
    """The fields the request sets, checked (InvalidRequest naming each bad one)."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if req.HasField("label"):
        label = " ".join(req.label.split())
        if not 1 <= len(label) <= MAX_LABEL:
            errors["label"] = f"required, at most {MAX_LABEL} characters"
        out["label"] = label
    if req.HasField("price_cents"):
        if not 1 <= req.price_cents <= common.MAX_UNIT_CENTS:
            errors["price_cents"] = f"1 to {common.MAX_UNIT_CENTS}"
        out["price_cents"] = req.price_cents
    if req.HasField("wallet_type_id"):
        if len(req.wallet_type_id) > 36:
            errors["wallet_type_id"] = "a wallet type's id"
        out["wallet_type_id"] = req.wallet_type_id or None
    if req.HasField("position"):
        if not 0 <= req.position <= MAX_POSITION:
            errors["position"] = f"0 to {MAX_POSITION}"
        out["position"] = req.position
    if req.HasField("days"):
        if not 0 <= req.days <= lines.MAX_DAYS:
            errors["days"] = f"0 to {lines.MAX_DAYS}"
        out["days"] = req.days
    for name in ("childcare", "active"):
        if req.HasField(name):
            out[name] = getattr(req, name)
    if errors:
        raise InvalidRequest("some fields are not valid", fields=errors)
    return out


def _care(changes: dict[str, Any], row=None) -> dict[str, Any]:
    """``changes`` with the item's childcare days settled and checked (the rules of invoice and sale
    lines, ``domain/lines.py``): a new childcare item without days has 1 per unit, one made childcare
    without days keeps its days or gets 1, one no longer childcare has 0. InvalidRequest ``days``."""
    childcare = changes.get("childcare", row.childcare if row is not None else False)
    if "days" in changes:
        days = changes["days"]
    elif not childcare:
        days = 0
    elif row is None or not row.childcare:
        days = (row.days if row is not None else 0) or 1
    else:
        days = row.days
    errors = lines.attribute_errors(childcare, days)
    if errors:
        detail = (
            "only on a childcare item (childcare: true)" if 0 <= days <= lines.MAX_DAYS else errors["days"]
        )
        raise InvalidRequest("some fields are not valid", fields={"days": detail})
    return {**changes, "days": days}


def _describe(r) -> str:
    care = (
        ("childcare", r.childcare and not r.days),
        (f"childcare, {r.days} day(s) per unit", r.childcare and r.days),
    )
    flags = [f for f, on in (*care, ("inactive", not r.active)) if on]
    sold_from = f" from {r.wallet_type_name}" if r.wallet_type_name else ""
    return f"{r.label}, {format_eur(r.price_cents)}{sold_from}" + (f" ({', '.join(flags)})" if flags else "")


class Till:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_items(self, who: Identity, req: pb.ListTillItemsRequest) -> pb.ListTillItemsResponse:
        """The school's price list by position then label; with ``include_archived`` the archived
        items too, after the others."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = q.items_of(s, who.school_id, include_archived=req.include_archived)
        return pb.ListTillItemsResponse(items=[item_message(r) for r in rows])

    def save_item(self, who: Identity, req: pb.SaveTillItemRequest) -> pb.SaveTillItemResponse:
        """A new item (no ``item_id``: label and price required, at the end of the list and active
        unless said otherwise; once per idempotency key) or the fields set changed on an existing one
        (an archived item: 409 ``item_archived``). A wallet type or an item of another school: not
        found."""
        who.require_staff()
        changes = _changes(req)
        if not req.item_id:
            missing = {n: "required" for n in ("label", "price_cents") if n not in changes}
            if missing:
                raise InvalidRequest("label and price_cents are required", fields=missing)

        def work(s: Session) -> pb.SaveTillItemResponse:
            type_id = changes.get("wallet_type_id")
            if type_id and not q.wallet_type_of_school(s, who.school_id, type_id):
                raise NotFound("no such wallet type")
            at = common.now(self.rt)
            if req.item_id:
                return self._update(s, who, req.item_id, changes, at)
            new = _care(changes)
            item_id = q.insert_item(
                s,
                who.school_id,
                label=changes["label"],
                price_cents=changes["price_cents"],
                wallet_type_id=type_id,
                childcare=new.get("childcare", False),
                days=new["days"],
                position=changes["position"] if "position" in changes else q.next_position(s, who.school_id),
                active=changes.get("active", True),
                now=at,
            )
            row = q.item_of(s, who.school_id, item_id)
            audit.record(self.rt, s, who, "finance.till_item.created", "till_item", item_id, _describe(row))
            return pb.SaveTillItemResponse(item=item_message(row), created=True)

        return common.idempotent(
            self.rt, f"till-item:{who.account_id}", req.idempotency_key, req, pb.SaveTillItemResponse, work
        )

    def _update(self, s: Session, who: Identity, item_id: str, changes: dict, at) -> pb.SaveTillItemResponse:
        row = q.item_of(s, who.school_id, item_id, lock=True)
        if row is None:
            raise NotFound("no such till item")
        if row.archived_at is not None:
            raise Conflict("this item was archived", code="item_archived")
        changes = _care(changes, row)
        changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if changed:
            q.update_item(s, who.school_id, item_id, **changed, updated_at=at)
            row = q.item_of(s, who.school_id, item_id)
            audit.record(
                self.rt,
                s,
                who,
                "finance.till_item.updated",
                "till_item",
                item_id,
                f"{_describe(row)}; changed {', '.join(sorted(changed))}",
            )
        return pb.SaveTillItemResponse(item=item_message(row), created=False)

    def remove_item(self, who: Identity, item_id: str) -> pb.RemoveTillItemResponse:
        """Archive the item: off the price list for good, the sales that sold it keep their lines.
        Archiving it again changes nothing (``archived_now`` false)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = q.item_of(s, who.school_id, item_id, lock=True) if item_id else None
            if row is None:
                raise NotFound("no such till item")
            if row.archived_at is not None:
                return pb.RemoveTillItemResponse(item=item_message(row), archived_now=False)
            at = common.now(self.rt)
            q.update_item(s, who.school_id, item_id, archived_at=at, updated_at=at)
            row = q.item_of(s, who.school_id, item_id)
            audit.record(self.rt, s, who, "finance.till_item.archived", "till_item", item_id, _describe(row))
            return pb.RemoveTillItemResponse(item=item_message(row), archived_now=True)
