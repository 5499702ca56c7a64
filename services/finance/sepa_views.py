"""SEPA direct debit's rows as DirectDebitService's messages (issue #18), beside ``views.py`` (which
holds FinanceService's and the refunds'). No queries: the caller reads the rows (``db``)."""

from __future__ import annotations

from cartable.finance.v1 import sepa_pb2 as spb
from kit.ogm import format_ogm
from services.finance.db import utc
from services.finance.domain.sepa import batch_status, mask_iban


def rfc3339(dt) -> str:
    return utc(dt).isoformat() if dt is not None else ""


def mandate(r, student_ids: list[str]) -> spb.Mandate:
    """A ``mandates`` row and the students it covers; the full IBAN never leaves finance."""
    return spb.Mandate(
        id=r.id,
        reference=r.reference,
        iban_last4=r.iban[-4:],
        holder_name=r.holder_name,
        signed_at=rfc3339(r.signed_at),
        status=r.status,
        revoked_at=rfc3339(r.revoked_at),
        revoked_reason=r.revoked_reason or "",
        student_ids=student_ids,
        parent_account_id=r.parent_account_id,
        creditor_id=r.creditor_id,
        school_name=r.school_name,
        mandate_text=r.mandate_text,
        first_collected=r.first_collected,
        iban_masked=mask_iban(r.iban),
        bic=r.bic,
    )


def auto_top_up(wallet_id: str, row, pending_cents: int, mandate_id: str) -> spb.AutoTopUp:
    """A wallet's automatic top-up (``row`` None: never set, so off with zeros)."""
    return spb.AutoTopUp(
        wallet_id=wallet_id,
        enabled=bool(row is not None and row.enabled),
        threshold_cents=row.threshold_cents if row is not None else 0,
        amount_cents=row.amount_cents if row is not None else 0,
        pending_cents=pending_cents,
        mandate_id=mandate_id,
    )


def item(r) -> spb.DirectDebitItem:
    """An item read with ``db.direct_debit_queries.items_of`` (mandate, invoice number, wallet name)."""
    return spb.DirectDebitItem(
        id=r.id,
        kind=r.kind,
        student_id=r.student_id,
        invoice_id=r.invoice_id or "",
        invoice_number=r.invoice_number or "",
        wallet_id=r.wallet_id or "",
        wallet_name=r.wallet_name or "",
        amount_cents=r.amount_cents,
        mandate_id=r.mandate_id,
        mandate_reference=r.mandate_reference,
        sequence_type=r.sequence_type,
        end_to_end_id=r.end_to_end_id,
        remittance=format_ogm(r.remittance) if len(r.remittance) == 12 else r.remittance,
        status=r.status,
        return_reason=r.return_reason or "",
        holder_name=r.holder_name,
    )


def batch(r, totals: dict[str, int], items=()) -> spb.DirectDebitBatch:
    """A batch row with its totals (``db.direct_debit_queries.batch_totals``) and, for one batch, its
    items."""
    return spb.DirectDebitBatch(
        id=r.id,
        collection_date=r.collection_date.isoformat(),
        invoices_due_by=r.invoices_due_by.isoformat(),
        count=totals["count"],
        total_cents=totals["total_cents"],
        status=batch_status(totals["pending"], totals["collected_cents"], totals["returned_cents"]),
        message_id=r.message_id,
        created_at=rfc3339(r.created_at),
        collected_cents=totals["collected_cents"],
        returned_cents=totals["returned_cents"],
        items=[item(i) for i in items],
    )
