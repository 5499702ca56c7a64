"""A payment's rules: our statuses and how the provider's map onto them, which methods a school's
settings allow, and where a refund or chargeback takes its money back from (``split_*_reversal``).
Nothing here reads or writes a database or calls the provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.finance.domain.invoices import CANCELLED, settle

__all__ = [
    "MAX_ONLINE_CENTS",
    "METHODS",
    "MIN_ONLINE_CENTS",
    "STATUSES",
    "TERMINAL",
    "TOP_UP_METHODS",
    "UNMATCHED_REASONS",
    "ReversalSplit",
    "invoice_purpose",
    "online_enabled",
    "our_status",
    "reopenable_cents",
    "split_invoice_reversal",
    "split_top_up_reversal",
]

OPEN = "open"
PAID = "paid"
STATUSES = (OPEN, PAID, "failed", "canceled", "expired")
# Once there, a payment never changes status again (a late webhook changes nothing).
TERMINAL = frozenset({PAID, "failed", "canceled", "expired"})
METHODS = ("online", "transfer", "wallet", "cash", "direct_debit")
# What a school may offer parents to top up a wallet themselves (its settings).
TOP_UP_METHODS = ("online", "transfer")
# An online top-up: at least 1 €, at most 5 000 € (a school wallet, not a bank account).
MIN_ONLINE_CENTS = 100
MAX_ONLINE_CENTS = 500_000
UNMATCHED_REASONS = (
    "no_communication",
    "unknown_communication",
    "expired_communication",
    "invoice_settled",
    "invoice_cancelled",
    "overpayment",
    "reversal",
)


def our_status(provider_status: str) -> str | None:
    """The provider's status as ours: None while the payment may still succeed (open, pending,
    authorized)."""
    return provider_status if provider_status in TERMINAL else None


def invoice_purpose(source: str) -> str:
    """A payment of an invoice is an ``order`` payment when the invoice came from an order."""
    return "order" if source == "order" else "invoice"


def online_enabled(
    top_up_methods: Iterable[str], online_payment_for_orders: bool, *, order: bool = False
) -> bool:
    """Whether parents may pay online: top-ups and invoices when the school takes online top-ups,
    an order's invoice also when it takes orders online."""
    return "online" in top_up_methods or (order and online_payment_for_orders)


@dataclass(frozen=True, slots=True)
class ReversalSplit:
    """Where the money of one refund or chargeback is taken back from (cents): the wallet the payment
    topped up, each of the payment's excesses still unassigned (in order), the invoice it paid (owed
    again), and what none of these covered, invoiced to the student. The parts sum to the amount."""

    amount_cents: int
    wallet_cents: int = 0
    unallocated_takes: tuple[int, ...] = ()
    invoice_cents: int = 0
    invoiced_cents: int = 0

    @property
    def unallocated_cents(self) -> int:
        return sum(self.unallocated_takes)


def split_top_up_reversal(amount_cents: int, wallet_balance_cents: int) -> ReversalSplit:
    """A top-up taken back: from its wallet, at most what the wallet still holds (never below zero);
    what was already spent is invoiced."""
    wallet = min(max(wallet_balance_cents, 0), amount_cents)
    return ReversalSplit(amount_cents, wallet_cents=wallet, invoiced_cents=amount_cents - wallet)


def reopenable_cents(paid_by_payment: int, already_reopened: int, invoice_paid: int, status: str) -> int:
    """What a reversal may take off the invoice a payment paid: what this payment put on it and no
    earlier reversal took back, at most what the invoice shows paid. A cancelled invoice is not
    reopened (what it had received is invoiced again instead)."""
    if status == CANCELLED:
        return 0
    return max(min(paid_by_payment - already_reopened, invoice_paid), 0)


def split_invoice_reversal(amount_cents: int, excess_cents: Sequence[int], reopenable: int) -> ReversalSplit:
    """An invoice payment taken back: first from the payment's excess still unassigned (what a school
    refunds after a double payment), then off the invoice (``settle`` against what can be reopened);
    the rest is invoiced."""
    left = amount_cents
    takes = []
    for excess in excess_cents:
        if not left:
            break
        take = min(excess, left)
        takes.append(take)
        left -= take
    off_invoice = settle(reopenable, left)
    return ReversalSplit(
        amount_cents,
        unallocated_takes=tuple(takes),
        invoice_cents=off_invoice.applied_cents,
        invoiced_cents=off_invoice.left_over_cents,
    )
