"""Pure rules of the SEPA direct-debit mails: what a bank's return reason (ISO 20022) means in words.

The templates say each reason in the parent's language from the category named here; the bank's code
is shown beside it, so a parent can quote it to their bank."""

from __future__ import annotations

INSUFFICIENT_FUNDS = "insufficient_funds"
NO_MANDATE = "no_mandate"
ACCOUNT_CLOSED = "account_closed"
ACCOUNT_BLOCKED = "account_blocked"
REFUSED = "refused"
REFUND_REQUESTED = "refund_requested"
OTHER = "other"

RETURN_REASONS = {
    "AM04": INSUFFICIENT_FUNDS,  # insufficient funds
    "MD01": NO_MANDATE,  # no mandate, or the mandate was cancelled at the bank
    "AC04": ACCOUNT_CLOSED,  # closed account number
    "AC06": ACCOUNT_BLOCKED,  # blocked account
    "MS02": REFUSED,  # refused by the debtor (an instruction to their bank)
    "MS03": REFUSED,  # refused by the bank, reason not specified
    "MD06": REFUND_REQUESTED,  # the debtor asked their bank for a refund (within 8 weeks)
}


def return_reason(code: str) -> str:
    """The category of an R-transaction's reason code (``am04`` and `` AM04 `` count as AM04); any
    other code, or none, is ``other``: the mail then says the bank gave another reason."""
    return RETURN_REASONS.get((code or "").strip().upper(), OTHER)


def normalized_code(code: str) -> str:
    """The code as the bank writes it (upper case, at most 4 characters), "" when none was given."""
    return (code or "").strip().upper()[:4]
