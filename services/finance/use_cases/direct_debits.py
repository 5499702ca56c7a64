"""Collection batches (issue #18): the manager builds a batch for a collection date, lists them, reads
one with its items, and downloads its pain.008.001.02 file. Staff only, their school.

Building a batch (one transaction, once per idempotency key): the collection date is at least
tomorrow (Brussels); ``invoices_due_by`` defaults to it. The school needs a creditor identifier and an
IBAN (409 ``method_disabled``). The school's active mandates are locked first (a revocation then
waits, or is seen), each student collected on the newest active mandate covering them. Then:

1. wallets under their automatic top-up threshold with no live trigger are triggered (students still
   at school);
2. every open invoice due by ``invoices_due_by`` of a student with a mandate, not already in a live
   item, is locked and taken for its open amount; every pending trigger of those students is claimed
   (pending -> batched);
3. the items are inserted with ``ON CONFLICT DO NOTHING`` on the live partial unique indexes: what a
   concurrent batch took first is skipped, so no invoice or trigger is ever in two live batches;
4. each item's sequence type is FRST while its mandate had no collection, RCUR after; the mandates
   are then marked first collected;
5. SEPA's pre-notification: one ``finance.direct_debit.scheduled.v1`` per mandate collected on (the
   amount, the collection date, the mandate and creditor, each item), in the batch's transaction
   through the outbox; a replay of the key answers the stored batch and publishes nothing again.

Nothing to collect: 409 ``batch_empty`` (and nothing is written). Triggers left pending for a student
who has no active mandate any more are withdrawn on the way (a revocation racing a sale).

The file (``GetDirectDebitFile``): every item not withdrawn, FRST and RCUR in their own payment
information blocks, the school's creditor id, each invoice's structured communication; validated
against the schema. Its first download marks the batch sent (``file_fetched_at``): from then on a
revoked mandate's items are no longer withdrawn from it (the bank has them).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from schwifty import IBAN
from sqlalchemy.orm import Session

from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import sepa_pb2 as spb
from kit import audit
from kit.db import aware
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.paging import decode_cursor, encode_cursor, page_size
from kit.service import Runtime
from services.finance import db, events, sepa_views
from services.finance.db import direct_debit_queries as ddq
from services.finance.db import mandate_queries as mq
from services.finance.domain import pain008, sepa
from services.finance.domain.invoices import open_amount
from services.finance.use_cases import auto_top_ups, common


def _creditor(s: Session, school_id: str) -> pain008.Creditor:
    """The school as the file's creditor; 409 method_disabled without a creditor id or an IBAN."""
    row = db.settings_row(s, school_id)
    if row is None or not row.creditor_id or not row.iban:
        raise Conflict("the school has no SEPA creditor identifier or IBAN", code="method_disabled")
    bic = row.bic
    if not bic:
        derived = IBAN(row.iban).bic
        bic = derived.compact if derived is not None else ""
    return pain008.Creditor(
        name=row.beneficiary or row.school_name, iban=row.iban, bic=bic, creditor_id=row.creditor_id
    )


def _batch_message(s: Session, row, *, with_items: bool = False) -> spb.DirectDebitBatch:
    totals = ddq.batch_totals(s, [row.id])[row.id]
    return sepa_views.batch(row, totals, ddq.items_of(s, [row.id]) if with_items else ())


def _pre_notifications(
    items: list[dict],
    invoices: list,
    triggers: list,
    mandates: dict,
    creditor: pain008.Creditor,
    collection: date,
) -> list[events.Event]:
    """SEPA's pre-notification of a new batch: one ``finance.direct_debit.scheduled.v1`` per mandate
    it collects on, with that mandate's ``items`` (the rows inserted), their amounts and what each is
    (``invoices`` and ``triggers``: the rows they were made from; ``mandates``: by student)."""
    by_invoice = {r.id: r for r in invoices}
    by_trigger = {r.id: r for r in triggers}
    mandate_rows = {m.id: m for m in mandates.values()}
    grouped: dict[str, list[ev.ScheduledCollection]] = {}
    for item in items:
        inv = by_invoice.get(item["invoice_id"]) if item["invoice_id"] else None
        trigger = by_trigger.get(item["trigger_id"]) if item["trigger_id"] else None
        grouped.setdefault(item["mandate_id"], []).append(
            ev.ScheduledCollection(
                kind=item["kind"],
                student_id=item["student_id"],
                amount_cents=item["amount_cents"],
                invoice_id=item["invoice_id"] or "",
                invoice_number=inv.number if inv is not None else "",
                invoice_title=inv.title if inv is not None else "",
                wallet_id=item["wallet_id"] or "",
                wallet_name=trigger.name if trigger is not None else "",
            )
        )
    out = []
    for mandate_id in sorted(grouped):
        m = mandate_rows[mandate_id]
        out.append(
            events.direct_debit_scheduled(
                grouped[mandate_id],
                school_id=m.school_id,
                batch_id=items[0]["batch_id"],
                mandate_id=m.id,
                mandate_reference=m.reference,
                parent_account_id=m.parent_account_id,
                holder_name=m.holder_name,
                iban_last4=m.iban[-4:],
                iban_masked=sepa.mask_iban(m.iban),
                creditor_id=creditor.creditor_id,
                school_name=creditor.name,
                collection_date=collection.isoformat(),
            )
        )
    return out


class DirectDebits:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def create_batch(
        self, who: Identity, req: spb.CreateDirectDebitBatchRequest
    ) -> spb.CreateDirectDebitBatchResponse:
        """Build a collection batch (see the module)."""
        who.require_staff()
        collection = common.parse_date(req.collection_date, "collection_date")
        if collection is None:
            raise InvalidRequest("collection_date is required", fields={"collection_date": "YYYY-MM-DD"})
        if collection < common.today(self.rt) + timedelta(days=1):
            raise InvalidRequest(
                "the collection date must be tomorrow or later",
                fields={"collection_date": "at least tomorrow"},
            )
        due_by = common.parse_date(req.invoices_due_by, "invoices_due_by") or collection

        def work(s: Session) -> spb.CreateDirectDebitBatchResponse:
            creditor = _creditor(s, who.school_id)
            at = common.now(self.rt)
            mandates = mq.active_mandates(s, who.school_id, lock="update")
            students = sorted(mandates)
            known = db.students_by_ids(s, who.school_id, students)
            at_school = [sid for sid in students if sid in known and known[sid].status != "left"]
            ddq.withdraw_orphan_triggers(s, who.school_id, students, at)
            auto_top_ups.trigger_wallets(self.rt, s, who.school_id, mandates, at_school, at)
            invoices = ddq.invoices_to_collect(s, who.school_id, due_by, students)
            triggers = ddq.claim_pending_triggers(s, who.school_id, students, at)
            batch_id = str(uuid.uuid4())
            rows = [
                self._invoice_item(batch_id, who.school_id, r, mandates[r.student_id], at) for r in invoices
            ]
            rows += [
                self._top_up_item(batch_id, who.school_id, r, mandates[r.student_id], at) for r in triggers
            ]
            if not rows:
                raise Conflict("nothing to collect", code="batch_empty")
            ddq.insert_batch(
                s,
                id=batch_id,
                school_id=who.school_id,
                message_id=sepa.message_id(at.astimezone(common.BRUSSELS)),
                collection_date=collection,
                invoices_due_by=due_by,
                status="created",
                created_by=who.account_id,
                created_at=at,
            )
            inserted = ddq.insert_items(s, rows)
            if not inserted:
                raise Conflict("nothing to collect", code="batch_empty")
            mq.set_first_collected(s, {r["mandate_id"] for r in rows if r["id"] in inserted})
            taken = [r for r in rows if r["id"] in inserted]
            for event in _pre_notifications(taken, invoices, triggers, mandates, creditor, collection):
                events.record(self.rt, s, who.school_id, event)
            batch = _batch_message(s, ddq.batch_row(s, who.school_id, batch_id))
            audit.record(
                self.rt,
                s,
                who,
                "finance.direct_debits.batch_created",
                "direct_debit_batch",
                batch_id,
                f"{batch.count} collections, {format_eur(batch.total_cents)}, on {collection.isoformat()}",
            )
            return spb.CreateDirectDebitBatchResponse(batch=batch, created=True)

        return common.idempotent(
            self.rt,
            f"dd-batch:{who.school_id}",
            req.idempotency_key,
            req,
            spb.CreateDirectDebitBatchResponse,
            work,
        )

    @staticmethod
    def _item(batch_id: str, school_id: str, mandate, at: datetime, **values) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "school_id": school_id,
            "batch_id": batch_id,
            "mandate_id": mandate.id,
            "sequence_type": sepa.sequence_type(mandate.first_collected),
            "end_to_end_id": sepa.end_to_end_id(),
            "status": "pending",
            "applied_cents": 0,
            "excess_cents": 0,
            "return_reason": "",
            "return_bank_reference": "",
            "created_at": at,
            **values,
        }

    def _invoice_item(self, batch_id: str, school_id: str, inv, mandate, at: datetime) -> dict:
        return self._item(
            batch_id,
            school_id,
            mandate,
            at,
            kind="invoice",
            student_id=inv.student_id,
            invoice_id=inv.id,
            trigger_id=None,
            wallet_id=None,
            amount_cents=open_amount(inv.total_cents, inv.paid_cents, inv.status),
            remittance=inv.digits,
        )

    def _top_up_item(self, batch_id: str, school_id: str, trigger, mandate, at: datetime) -> dict:
        return self._item(
            batch_id,
            school_id,
            mandate,
            at,
            kind="top_up",
            student_id=trigger.student_id,
            invoice_id=None,
            trigger_id=trigger.id,
            wallet_id=trigger.wallet_id,
            amount_cents=trigger.amount_cents,
            remittance=trigger.digits or sepa.sepa_text(f"Recharge {trigger.name}", 140),
        )

    def list_batches(
        self, who: Identity, req: spb.ListDirectDebitBatchesRequest
    ) -> spb.ListDirectDebitBatchesResponse:
        """The school's batches, newest first, by keyset pages (limit 1-200, default 50)."""
        who.require_staff()
        try:
            size = page_size(req.limit, paged=True) or 50
        except ValueError as e:
            raise InvalidRequest("bad limit", fields={"limit": str(e)}) from None
        after = None
        if req.cursor:
            try:
                at, batch_id = decode_cursor(req.cursor, 2)
                after = (aware(datetime.fromisoformat(at)), batch_id)
            except ValueError:
                raise InvalidRequest(
                    "bad cursor", fields={"cursor": "a previous page's next_cursor"}
                ) from None
        with self.rt.db.unit_of_work() as s:
            rows = ddq.batches_page(s, who.school_id, after, size + 1)
            page = rows[:size]
            totals = ddq.batch_totals(s, [r.id for r in page])
            out = spb.ListDirectDebitBatchesResponse(items=[sepa_views.batch(r, totals[r.id]) for r in page])
        if len(rows) > size:
            out.next_cursor = encode_cursor([aware(page[-1].created_at).isoformat(), page[-1].id])
        return out

    def get_batch(
        self, who: Identity, req: spb.GetDirectDebitBatchRequest
    ) -> spb.GetDirectDebitBatchResponse:
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = ddq.batch_row(s, who.school_id, req.batch_id) if req.batch_id else None
            if row is None:
                raise NotFound("no such batch")
            return spb.GetDirectDebitBatchResponse(batch=_batch_message(s, row, with_items=True))

    def get_file(self, who: Identity, req: spb.GetDirectDebitFileRequest) -> spb.SepaFile:
        """The batch as pain.008.001.02 (see the module); a batch whose items were all withdrawn:
        409 batch_empty."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            row = ddq.batch_row(s, who.school_id, req.batch_id, lock=True) if req.batch_id else None
            if row is None:
                raise NotFound("no such batch")
            creditor = _creditor(s, who.school_id)
            items = [i for i in ddq.items_of(s, [row.id]) if i.status != "withdrawn"]
            if not items:
                raise Conflict("every collection of this batch was withdrawn", code="batch_empty")
            content = pain008.build_pain008(
                creditor,
                row.message_id,
                db.utc(row.created_at).astimezone(common.BRUSSELS),
                row.collection_date,
                [
                    pain008.Collection(
                        end_to_end_id=i.end_to_end_id,
                        amount_cents=i.amount_cents,
                        sequence_type=i.sequence_type,
                        mandate_reference=i.mandate_reference,
                        mandate_signed_on=db.utc(i.mandate_signed_at).astimezone(common.BRUSSELS).date(),
                        debtor_name=i.holder_name,
                        debtor_iban=i.debtor_iban,
                        debtor_bic=i.debtor_bic,
                        communication=i.remittance
                        if len(i.remittance) == 12 and i.remittance.isdigit()
                        else "",
                        text=i.remittance,
                    )
                    for i in items
                ],
            )
            if row.file_fetched_at is None:
                ddq.update_batch(s, row.id, file_fetched_at=common.now(self.rt))
        return spb.SepaFile(
            filename=f"prelevements-{row.collection_date.isoformat()}.xml",
            content=content,
            content_type="application/xml",
        )
