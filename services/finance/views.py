"""Rows as the API's messages: what each answer of the finance service shows of a row. No queries:
the caller reads the rows (``db``) and hands them here."""

from __future__ import annotations

from datetime import datetime

from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2 as spb
from kit.epc import epc_payload, epc_qr_svg
from kit.ogm import format_ogm
from services.finance.db import utc
from services.finance.domain.school_settings import DEFAULT_REMINDERS, mask_iban

DEFAULT_QR_TITLE = "Code QR du virement (EPC / SEPA)"


def rfc3339(dt: datetime) -> str:
    return utc(dt).isoformat()


def wallet(r, collection=None) -> pb.Wallet:
    """A wallet row read with its type's ``name`` and its current communication's ``digits``;
    ``collection``: ``(auto top-up row or None, live trigger cents, cents batches are collecting)``
    (``db.direct_debit_queries.wallet_collection_states``), for the automatic top-up (issue #18)."""
    out = pb.Wallet(
        id=r.id,
        student_id=r.student_id,
        name=r.name,
        balance_cents=r.balance_cents,
        structured_communication=format_ogm(r.digits),
        wallet_type_id=r.wallet_type_id,
    )
    if collection is not None:
        auto, pending_cents, collecting_cents = collection
        out.collection_pending_cents = collecting_cents
        if auto is not None:
            out.auto_top_up.CopyFrom(
                pb.AutoTopUpState(
                    enabled=auto.enabled,
                    threshold_cents=auto.threshold_cents,
                    amount_cents=auto.amount_cents,
                    pending_cents=pending_cents,
                )
            )
    return out


def wallet_type(r) -> pb.WalletType:
    return pb.WalletType(id=r.id, name=r.name)


def settings(row) -> pb.Settings:
    """The school's settings (no row yet: empty, every method off, the default reminders)."""
    if row is None:
        d = DEFAULT_REMINDERS
        return pb.Settings(
            reminders=pb.ReminderSettings(
                enabled=d.enabled,
                first_after_days=d.first_after_days,
                repeat_every_days=d.repeat_every_days,
                max_count=d.max_count,
            ),
            creditor_id="",
            enterprise_number="",
            address=pb.SchoolAddress(),
        )
    return pb.Settings(
        iban=row.iban,
        bic=row.bic,
        beneficiary=row.beneficiary,
        school_name=row.school_name,
        top_up_methods=[m for m in row.top_up_methods.split(",") if m],
        internal_wallet_payments=row.internal_wallet_payments,
        online_payment_for_orders=row.online_payment_for_orders,
        reminders=pb.ReminderSettings(
            enabled=row.reminders_enabled,
            first_after_days=row.reminders_first_after_days,
            repeat_every_days=row.reminders_repeat_every_days,
            max_count=row.reminders_max_count,
        ),
        creditor_id=row.creditor_id,
        enterprise_number=row.enterprise_number,
        address=pb.SchoolAddress(
            street=row.address_street, postal_code=row.address_postal_code, city=row.address_city
        ),
    )


def invoice_line(ln) -> ev.InvoiceLine:
    return ev.InvoiceLine(
        label=ln.label,
        quantity=ln.quantity,
        unit_price_cents=ln.unit_price_cents,
        amount_cents=ln.amount_cents,
        childcare=bool(ln.childcare),
        days=ln.days,
        optional=bool(ln.optional),
        max_bill=ln.max_bill,
    )


def invoice(r, digits: str, lines=(), collection_pending: bool = False) -> pb.Invoice:
    """An invoice row with its communication's ``digits`` and its line rows; ``collection_pending``:
    in a direct-debit batch the bank has not credited yet."""
    return pb.Invoice(
        id=r.id,
        student_id=r.student_id,
        number=r.number,
        title=r.title,
        issued_on=r.issued_on.isoformat(),
        due_on=r.due_on.isoformat(),
        total_cents=r.total_cents,
        paid_cents=r.paid_cents,
        status=r.status,
        structured_communication=format_ogm(digits),
        lines=[invoice_line(ln) for ln in lines],
        credit_cents=r.credit_cents,
        credited_cents=r.credited_cents,
        collection_pending=collection_pending,
    )


def payment(
    row, *, wallet=None, reversed_cents: dict[str, int] | None = None, invoice_number: str = ""
) -> pb.Payment:
    """A payment row; ``wallet`` (its balance and name) when it names one, what its reversals took
    back by kind, and its invoice's number. The checkout URL is shown only while it is open."""
    out = pb.Payment(
        id=row.id,
        status=row.status,
        amount_cents=row.amount_cents,
        purpose=row.purpose,
        method=row.method,
        student_id=row.student_id,
        wallet_id=row.wallet_id or "",
        invoice_id=row.invoice_id or "",
        created_at=rfc3339(row.created_at),
        paid_at=rfc3339(row.paid_at) if row.paid_at else "",
        checkout_url=(row.checkout_url or "") if row.status == "open" else "",
    )
    if wallet is not None:
        out.wallet_name, out.wallet_balance_cents = wallet.name, wallet.balance_cents
    for kind, cents in (reversed_cents or {}).items():
        if kind == "refund":
            out.refunded_cents = cents
        elif kind == "chargeback":
            out.charged_back_cents = cents
    if row.invoice_id:
        out.invoice_number = invoice_number
    return out


def unmatched_transfer(r) -> pb.UnmatchedTransfer:
    return pb.UnmatchedTransfer(
        id=r.id,
        amount_cents=r.amount_cents,
        communication=r.communication,
        counterparty_name=r.counterparty_name,
        counterparty_iban=r.counterparty_iban,
        booked_on=r.booked_on.isoformat(),
        reason=r.reason,
        status=r.status,
        source=r.source,
        assigned_wallet_id=r.assigned_wallet_id or "",
        assigned_invoice_id=r.assigned_invoice_id or "",
        assigned_at=rfc3339(r.assigned_at) if r.assigned_at else "",
        payment_id=r.payment_id or "",
    )


def statement_import(r) -> pb.StatementImport:
    return pb.StatementImport(
        id=r.id,
        format=r.format,
        filename=r.filename,
        movements=r.movements,
        credited=r.credited,
        unmatched=r.unmatched,
        duplicates=r.duplicates,
        debits=r.debits,
        returned_debits=r.returned_debits,
        credited_cents=r.credited_cents,
        unmatched_cents=r.unmatched_cents,
        created_at=rfc3339(r.created_at),
        statements=r.statements,
        accounts=[a for a in r.accounts.split(",") if a],
    )


def transfer_details(
    settings_row, digits: str, amount: int | None, qr_title: str, *, qr: bool = True
) -> pb.TransferDetails:
    """The school's account, the communication to give and the amount (None: the payer chooses),
    with the EPC QR code unless ``qr`` is false."""
    out = pb.TransferDetails(
        iban=settings_row.iban,
        bic=settings_row.bic,
        beneficiary=settings_row.beneficiary,
        structured_communication=format_ogm(digits),
        amount_cents=amount or 0,
    )
    if qr:
        args = dict(
            name=settings_row.beneficiary,
            iban=settings_row.iban,
            bic=settings_row.bic or None,
            amount_cents=amount or None,
            structured_communication=digits,
        )
        out.epc_payload = epc_payload(**args)
        out.epc_qr_svg = epc_qr_svg(**args, title=(qr_title or DEFAULT_QR_TITLE)[:200])
    return out


def operation(r, operation_type: str, wallet_id: str, wallet_name: str) -> pb.Operation:
    """A posting on a wallet, with its transaction's time, label and method."""
    return pb.Operation(
        id=str(r.id),
        at=rfc3339(r.created_at),
        type=operation_type,
        label=r.label,
        amount_cents=r.amount_cents,
        payment_method=r.method or "",
        wallet_id=wallet_id,
        wallet_name=wallet_name,
    )


def sale_line(r) -> pb.SaleLine:
    """A sale line read with its sale's time, wallet (and type ``name``) and student."""
    return pb.SaleLine(
        id=r.id,
        sale_id=r.sale_id,
        at=rfc3339(r.created_at),
        label=r.label,
        quantity=r.quantity,
        unit_price_cents=r.unit_price_cents,
        amount_cents=r.amount_cents,
        wallet_id=r.wallet_id,
        wallet_name=r.name,
        student_id=r.student_id,
        childcare=r.childcare,
        days=r.days,
    )


def refund(r) -> spb.Refund:
    """A ``refunds`` row read with its wallet's ``wallet_name`` (the IBAN masked)."""
    return spb.Refund(
        id=r.id,
        wallet_id=r.wallet_id,
        student_id=r.student_id,
        wallet_name=r.wallet_name,
        amount_cents=r.amount_cents,
        iban_masked=mask_iban(r.iban),
        holder_name=r.holder_name,
        status="batched" if r.batch_id else "pending",
        batch_id=r.batch_id or "",
        created_at=rfc3339(r.created_at),
        reason=r.reason,
        balance_after_cents=r.balance_after_cents,
    )


def refund_batch(r) -> spb.RefundBatch:
    return spb.RefundBatch(
        id=r.id,
        count=r.count,
        total_cents=r.total_cents,
        created_at=rfc3339(r.created_at),
        message_id=r.message_id,
        execution_date=r.execution_date.isoformat(),
    )
