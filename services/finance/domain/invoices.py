"""An invoice's money rules: its status, what is still open on it, and what a payment settles of it.

``settle`` is the one answer to "what does this money cover of the invoice, what is left over, and
why": the wallet payment, the online payment, a transfer read from a bank statement, an unmatched
transfer the manager assigns, and a refund or chargeback taking money back off an invoice all ask it.
Nothing here reads or writes a database.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CANCELLED",
    "INVOICE_CANCELLED",
    "INVOICE_SETTLED",
    "OVERPAYMENT",
    "PAID",
    "PARTIALLY_PAID",
    "STATUSES",
    "UNPAID",
    "Settlement",
    "invoice_status",
    "open_amount",
    "settle",
]

UNPAID = "unpaid"
PARTIALLY_PAID = "partially_paid"
PAID = "paid"
CANCELLED = "cancelled"  # by a credit note
STATUSES = (UNPAID, PARTIALLY_PAID, PAID, CANCELLED)

# Why money is left over once the invoice took what it could (the unmatched transfer's reason).
OVERPAYMENT = "overpayment"  # the invoice took part of it: the rest is beyond its open amount
INVOICE_SETTLED = "invoice_settled"  # nothing was open any more (paid meanwhile)
INVOICE_CANCELLED = "invoice_cancelled"  # a credit note cancelled it: it takes nothing


def invoice_status(total_cents: int, paid_cents: int, cancelled: bool) -> str:
    """The status an invoice of ``total_cents`` has once ``paid_cents`` were paid on it."""
    if cancelled:
        return CANCELLED
    if paid_cents >= total_cents:
        return PAID
    return PARTIALLY_PAID if paid_cents > 0 else UNPAID


def open_amount(total_cents: int, paid_cents: int, status: str) -> int:
    """What the invoice still expects: nothing once cancelled, never below zero."""
    return 0 if status == CANCELLED else max(total_cents - paid_cents, 0)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What ``amount_cents`` did to an invoice: ``applied_cents`` went onto it, ``left_over_cents``
    did not (``applied + left_over == amount``), and ``reason`` says why something is left over
    ("" when nothing is)."""

    applied_cents: int
    left_over_cents: int
    reason: str = ""


def settle(open_cents: int, amount_cents: int, *, cancelled: bool = False) -> Settlement:
    """Apply ``amount_cents`` to an invoice that still expects ``open_cents``: it takes at most its
    open amount (a cancelled invoice takes nothing), and what it cannot take is left over with its
    reason. Used the other way round too: a refund takes back at most what can be reopened."""
    for value, label in ((open_cents, "open_cents"), (amount_cents, "amount_cents")):
        # bool is an int subclass; True cents is always a bug.
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{label} must be an int of cents, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{label} must not be negative, got {value}")
    applied = 0 if cancelled else min(open_cents, amount_cents)
    left_over = amount_cents - applied
    if not left_over:
        reason = ""
    elif cancelled:
        reason = INVOICE_CANCELLED
    elif applied:
        reason = OVERPAYMENT
    else:
        reason = INVOICE_SETTLED
    return Settlement(applied_cents=applied, left_over_cents=left_over, reason=reason)
