"""Automatic top-ups (issue #18): under a threshold, a wallet is topped up by a fixed amount, collected
by direct debit in the school's next batch.

Setting one: the wallet's student is one of the caller's children (or staff of the school); enabling
needs an active mandate covering the student (409 ``no_mandate``) and a student still at school
(409 ``student_left``); threshold 0 to 100 000 cents, amount 100 to 50 000. Disabling withdraws a
top-up triggered and still waiting for a batch (one in a batch already stays: it may be on its way to
the bank).

Triggering (:func:`after_debit`): when a movement takes a wallet under its threshold (a sale, an
invoice paid from the wallet), in that movement's transaction and under its wallet lock, a pending
trigger is recorded (at most one pending or batched per wallet: a partial unique index, the insert
does nothing when one is live) and ``finance.auto_top_up.triggered.v1`` is published (notifications
mails the parents). Only with an active mandate covering the student: without one nothing could
collect it. A batch also triggers the wallets under their threshold that have no live trigger
(:func:`trigger_wallets`), e.g. a top-up enabled on a wallet already under its threshold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row
from sqlalchemy.orm import Session

from cartable.finance.v1 import sepa_pb2 as spb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.finance import db, events, sepa_views
from services.finance.db import direct_debit_queries as ddq
from services.finance.db import mandate_queries as mq
from services.finance.domain import sepa
from services.finance.use_cases import common


def _trigger(
    rt: Runtime,
    s: Session,
    school_id: str,
    *,
    wallet_id: str,
    student_id: str,
    wallet_name: str,
    balance: int,
    threshold: int,
    amount: int,
    reference: str,
    source: str,
    at: datetime,
    outbox: events.Recorder | None = None,
) -> bool:
    """Record a pending trigger and its event (into ``outbox``, else the runtime's), unless the wallet
    has a live one (False then)."""
    inserted = ddq.insert_trigger(
        s,
        id=str(uuid.uuid4()),
        school_id=school_id,
        wallet_id=wallet_id,
        student_id=student_id,
        amount_cents=amount,
        balance_cents=balance,
        threshold_cents=threshold,
        source=source,
        created_at=at,
        updated_at=at,
    )
    if inserted:
        events.record(
            outbox or rt,
            s,
            school_id,
            events.auto_top_up_triggered(
                wallet_id=wallet_id,
                student_id=student_id,
                wallet_name=wallet_name,
                balance_cents=balance,
                threshold_cents=threshold,
                amount_cents=amount,
                mandate_reference=reference,
            ),
        )
    return inserted


def after_debit(
    rt: Runtime,
    s: Session,
    school_id: str,
    wallet,
    balance_after: int,
    source: str,
    *,
    outbox: events.Recorder | None = None,
) -> bool:
    """A movement took money from ``wallet`` (its row, locked, read with its type's ``name``), which
    now holds ``balance_after``: trigger its automatic top-up when that is under the threshold. A row
    read by ``db.lock_wallet_for_movement`` carries the wallet's automatic top-up already (none:
    nothing to read); the event goes into ``outbox`` when given."""
    auto: _Auto | Row[Any] | None
    if "auto_enabled" in wallet._fields:
        if wallet.auto_enabled is None:  # the wallet has no automatic top-up
            return False
        auto = _Auto(wallet.auto_enabled, wallet.auto_threshold_cents, wallet.auto_amount_cents)
    else:
        auto = ddq.auto_top_up(s, wallet.id)
    if auto is None or not auto.enabled or balance_after >= auto.threshold_cents:
        return False
    mandate = mq.active_mandates(s, school_id, [wallet.student_id]).get(wallet.student_id)
    if mandate is None:
        return False
    return _trigger(
        rt,
        s,
        school_id,
        wallet_id=wallet.id,
        student_id=wallet.student_id,
        wallet_name=wallet.name,
        balance=balance_after,
        threshold=auto.threshold_cents,
        amount=auto.amount_cents,
        reference=mandate.reference,
        source=source,
        at=common.now(rt),
        outbox=outbox,
    )


class _Auto(NamedTuple):
    enabled: bool
    threshold_cents: int
    amount_cents: int


def trigger_wallets(
    rt: Runtime, s: Session, school_id: str, mandates: dict, student_ids: Iterable[str], at: datetime
) -> int:
    """Trigger the students' wallets under their threshold with no live trigger (a batch's start);
    ``mandates``: the active mandate of each student. How many were triggered."""
    n = 0
    for w in ddq.wallets_to_trigger(s, school_id, student_ids):
        n += _trigger(
            rt,
            s,
            school_id,
            wallet_id=w.id,
            student_id=w.student_id,
            wallet_name=w.name,
            balance=w.balance_cents,
            threshold=w.threshold_cents,
            amount=w.amount_cents,
            reference=mandates[w.student_id].reference,
            source="batch",
            at=at,
        )
    return n


def auto_top_up_message(s: Session, school_id: str, wallet) -> spb.AutoTopUp:
    row = ddq.auto_top_up(s, wallet.id)
    live = ddq.live_triggers(s, [wallet.id]).get(wallet.id)
    mandate = mq.active_mandates(s, school_id, [wallet.student_id]).get(wallet.student_id)
    return sepa_views.auto_top_up(
        wallet.id,
        row,
        live.amount_cents if live is not None else 0,
        mandate.id if mandate is not None else "",
    )


class AutoTopUps:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_auto_top_up(self, who: Identity, req: spb.GetAutoTopUpRequest) -> spb.GetAutoTopUpResponse:
        """A wallet's automatic top-up (a wallet not the caller's: not found)."""
        with self.rt.db.unit_of_work() as s:
            wallet = common.wallet_of(who, db.find_wallet(s, who.school_id, req.wallet_id))
            return spb.GetAutoTopUpResponse(auto_top_up=auto_top_up_message(s, who.school_id, wallet))

    def set_auto_top_up(self, who: Identity, req: spb.SetAutoTopUpRequest) -> spb.SetAutoTopUpResponse:
        """Enable, change or disable a wallet's automatic top-up (see the module)."""
        errors = sepa.auto_top_up_errors(req.threshold_cents, req.amount_cents)
        if req.enabled and errors:
            raise InvalidRequest("the automatic top-up is not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            wallet = common.wallet_of(
                who, db.lock_wallet(s, who.school_id, req.wallet_id) if req.wallet_id else None
            )
            at = common.now(self.rt)
            stored = ddq.auto_top_up(s, wallet.id)
            if req.enabled:
                common.refuse_left(s, who, wallet.student_id)
                if wallet.student_id not in mq.active_mandates(s, who.school_id, [wallet.student_id]):
                    raise Conflict("no active mandate covers this student", code="no_mandate")
                threshold, amount = req.threshold_cents, req.amount_cents
            elif not errors:  # disabled: the amounts given are kept when they are valid
                threshold, amount = req.threshold_cents, req.amount_cents
            elif stored is not None:
                threshold, amount = stored.threshold_cents, stored.amount_cents
            else:
                threshold, amount = 0, sepa.MIN_AMOUNT_CENTS
            ddq.save_auto_top_up(
                s,
                wallet.id,
                school_id=who.school_id,
                enabled=req.enabled,
                threshold_cents=threshold,
                amount_cents=amount,
                updated_by=who.account_id,
                updated_at=at,
            )
            if not req.enabled:
                ddq.withdraw_pending_triggers(s, who.school_id, wallet_ids=[wallet.id], at=at)
            if who.is_staff:
                audit.record(
                    self.rt,
                    s,
                    who,
                    "finance.auto_top_up.updated",
                    "wallet",
                    wallet.id,
                    f"{'on' if req.enabled else 'off'}: under {format_eur(threshold)} add {format_eur(amount)}",
                )
            return spb.SetAutoTopUpResponse(auto_top_up=auto_top_up_message(s, who.school_id, wallet))
