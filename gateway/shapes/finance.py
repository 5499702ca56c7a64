"""JSON shapes: Wallets, invoices, operations, sales, payments, transfers and statements."""

from __future__ import annotations

from typing import Any

# -- finance: wallets, invoices, operations, sales ------------------------------------------------


def wallet_json(w) -> dict[str, Any]:
    return {
        "id": w.id,
        "name": w.name,
        "balance_cents": w.balance_cents,
        "structured_communication": w.structured_communication,
        # issue #18: the automatic top-up (enabled false when never set) and what a direct-debit
        # batch is collecting for the wallet
        "auto_top_up": auto_top_up_json(w.auto_top_up),
        "collection_pending_cents": w.collection_pending_cents,
    }


def auto_top_up_json(a) -> dict[str, Any]:
    """A wallet's automatic top-up (finance's ``AutoTopUpState`` or sepa's ``AutoTopUp``)."""
    return {
        "enabled": a.enabled,
        "threshold_cents": a.threshold_cents,
        "amount_cents": a.amount_cents,
        "pending_cents": a.pending_cents,
    }


def invoice_json(i, *, with_lines: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": i.id,
        "number": i.number,
        "title": i.title,
        "issued_on": i.issued_on,
        "due_on": i.due_on,
        "total_cents": i.total_cents,
        "paid_cents": i.paid_cents,
        "status": i.status,
        "structured_communication": i.structured_communication,
        "collection_pending": i.collection_pending,  # in a direct-debit batch not yet credited
    }
    if with_lines:
        out["student_id"] = i.student_id
        out["credit_cents"] = i.credit_cents
        out["lines"] = [
            {
                "label": ln.label,
                "quantity": ln.quantity,
                "unit_price_cents": ln.unit_price_cents,
                "amount_cents": ln.amount_cents,
                "childcare": ln.childcare,
                "days": ln.days,
                "optional": ln.optional,
                "max_bill": ln.max_bill,
            }
            for ln in i.lines
        ]
    return out


def credit_note_json(note, invoice) -> dict[str, Any]:
    return {
        "id": note.id,
        "number": note.number,
        "invoice_id": note.invoice_id,
        "reason": note.reason,
        "credited_cents": note.credited_cents,
        "created_at": note.created_at,
        "invoice": invoice_json(invoice),
    }


def settings_json(st) -> dict[str, Any]:
    return {
        "iban": st.iban,
        "bic": st.bic,
        "beneficiary": st.beneficiary,
        "top_up_methods": list(st.top_up_methods),
        "internal_wallet_payments": st.internal_wallet_payments,
        "online_payment_for_orders": st.online_payment_for_orders,
        "school_name": st.school_name,
        "reminders": {
            "enabled": st.reminders.enabled,
            "first_after_days": st.reminders.first_after_days,
            "repeat_every_days": st.reminders.repeat_every_days,
            "max_count": st.reminders.max_count,
        },
        "creditor_id": st.creditor_id,
        "enterprise_number": st.enterprise_number,
        "address": {
            "street": st.address.street,
            "postal_code": st.address.postal_code,
            "city": st.address.city,
        },
    }


def wallet_type_json(t) -> dict[str, str]:
    return {"id": t.id, "name": t.name}


def operation_json(o) -> dict[str, Any]:
    return {
        "id": o.id,
        "at": o.at,
        "type": o.type,
        "label": o.label,
        "amount_cents": o.amount_cents,
        "payment_method": o.payment_method or None,
        "wallet_id": o.wallet_id,
        "wallet_name": o.wallet_name,
    }


def sale_line_json(ln) -> dict[str, Any]:
    return {
        "id": ln.id,
        "at": ln.at,
        "label": ln.label,
        "quantity": ln.quantity,
        "unit_price_cents": ln.unit_price_cents,
        "amount_cents": ln.amount_cents,
        "wallet_id": ln.wallet_id,
        "wallet_name": ln.wallet_name,
        "sale_id": ln.sale_id,
        "student_id": ln.student_id,
        "childcare": ln.childcare,  # out-of-school care (the tax certificate counts it)
        "days": ln.days,  # its days of care
    }


# -- finance: paying for real -----------------------------------------------------------------------


def payment_json(p) -> dict[str, Any]:
    return {
        "id": p.id,
        "status": p.status,
        "amount_cents": p.amount_cents,
        "purpose": p.purpose,
        "method": p.method,
        "wallet_id": p.wallet_id or None,
        "invoice_id": p.invoice_id or None,
        "created_at": p.created_at,
        "paid_at": p.paid_at or None,
    }


def started_payment_json(resp) -> dict[str, Any]:
    """An online payment just started (``StartPaymentResponse``): where to send the payer."""
    return {
        "payment_id": resp.payment.id,
        "checkout_url": resp.checkout_url or None,
        "status": resp.payment.status,
        "amount_cents": resp.payment.amount_cents,
        "purpose": resp.payment.purpose,
    }


def transfer_json(t, *, with_amount: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iban": t.iban,
        "bic": t.bic,
        "beneficiary": t.beneficiary,
        "structured_communication": t.structured_communication,
        "epc_qr_svg": t.epc_qr_svg or None,
        "epc_payload": t.epc_payload or None,
    }
    if with_amount:
        out["amount_cents"] = t.amount_cents
        out["open_amount_cents"] = t.amount_cents
    return out


def statement_json(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "format": r.format,
        "filename": r.filename,
        "statements": r.statements,
        "accounts": list(r.accounts),
        "movements": r.movements,
        "credited": r.credited,
        "unmatched": r.unmatched,
        "duplicates": r.duplicates,
        "debits": r.debits,
        "returned_debits": r.returned_debits,
        "credited_cents": r.credited_cents,
        "unmatched_cents": r.unmatched_cents,
        "created_at": r.created_at,
    }


def unmatched_json(t) -> dict[str, Any]:
    return {
        "id": t.id,
        "amount_cents": t.amount_cents,
        "communication": t.communication,
        "counterparty_name": t.counterparty_name,
        "counterparty_iban": t.counterparty_iban,
        "booked_on": t.booked_on,
        "reason": t.reason,
        "status": t.status,
        "source": t.source,
        "assigned_wallet_id": t.assigned_wallet_id or None,
        "assigned_invoice_id": t.assigned_invoice_id or None,
        "assigned_at": t.assigned_at or None,
        "payment_id": t.payment_id or None,
    }
