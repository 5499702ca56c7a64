"""The double-entry ledger's values: postings, balanced transactions, account names, and one factory
per kind of money movement.

Sign convention (credit-positive, from the school's books): a posting's amount is positive when it
credits the account and negative when it debits it; an account's balance is the sum of its postings
and every transaction's postings sum to zero. It follows that

* ``wallet:<id>``: positive = money the parent holds at school (the school owes it to them);
* ``school:<id>:revenue``: positive = income earned (sales, invoices);
* ``invoice:<id>:receivable``: negative = what the parent still owes on the invoice, 0 = settled;
* ``school:<id>:bank`` / ``:psp`` / ``:cash``: money received on the bank account, through the online
  payment provider, in cash; negative = money the school has there (an asset is a debit);
* ``school:<id>:credit_notes``: negative = total credited back to parents by credit notes.
* ``school:<id>:unallocated``: positive = money received (transfer or online) that names no wallet or
  invoice yet; the manager assigns it, which moves it on to a wallet or an invoice.
* ``school:<id>:refunds_payable``: positive = wallet money the school is to pay back by credit transfer
  (a refund to a bank account, until the bank carries out the batch's file).

Nothing here reads or writes a database: the service layer stores the transactions and computes
balances as sums of postings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "KINDS",
    "KIND_CREDIT_NOTE",
    "KIND_INVOICE_ISSUED",
    "KIND_INVOICE_PAYMENT",
    "KIND_REFUND",
    "KIND_SALE",
    "KIND_TOP_UP",
    "KIND_UNALLOCATED",
    "METHODS",
    "WALLET",
    "InsufficientBalance",
    "InvalidTransaction",
    "Posting",
    "Transaction",
    "allocate_invoice_payment",
    "allocate_top_up",
    "bank_clearing_account",
    "cash_account",
    "check_can_debit",
    "clearing_account",
    "credit_note",
    "credit_note_account",
    "invoice_receivable_account",
    "issue_invoice",
    "pay_invoice_external",
    "pay_invoice_from_wallet",
    "psp_clearing_account",
    "receive_unallocated",
    "refund",
    "refund_to_bank_account",
    "refunds_payable_account",
    "reverse_invoice_payment",
    "reverse_unallocated",
    "reverse_uncovered",
    "sale",
    "school_revenue_account",
    "top_up",
    "unallocated_account",
    "wallet_account",
]

KIND_TOP_UP = "top_up"
KIND_SALE = "sale"
KIND_INVOICE_ISSUED = "invoice_issued"
KIND_INVOICE_PAYMENT = "invoice_payment"
KIND_CREDIT_NOTE = "credit_note"
KIND_REFUND = "refund"
KIND_UNALLOCATED = "unallocated_receipt"
KINDS = frozenset(
    {
        KIND_TOP_UP,
        KIND_SALE,
        KIND_INVOICE_ISSUED,
        KIND_INVOICE_PAYMENT,
        KIND_CREDIT_NOTE,
        KIND_REFUND,
        KIND_UNALLOCATED,
    }
)

# How money from outside enters (or leaves): the provider's checkout, a bank transfer, cash at school.
# ``direct_debit``: collected from the parent's account by a SEPA direct-debit batch (issue #18); it
# arrives on, and a returned debit leaves, the school's bank account like a transfer.
METHODS = frozenset({"online", "transfer", "cash", "direct_debit"})
# A transaction's ``method`` may also be "wallet": paid with money already in a wallet (sales and
# internal invoice payments), which is how the operations list labels them.
WALLET = "wallet"


class InvalidTransaction(ValueError):
    """A transaction that would break the ledger: unbalanced, empty, or with a zero posting."""


class InsufficientBalance(Exception):
    """The wallet does not hold enough to pay; the caller answers ``insufficient_balance``."""

    def __init__(self, balance_cents: int, amount_cents: int) -> None:
        super().__init__(
            f"insufficient balance: {balance_cents} cents available, {amount_cents} cents needed"
        )
        self.balance_cents = balance_cents
        self.amount_cents = amount_cents


def _require_int(value: object, label: str) -> int:
    # bool is an int subclass; True cents is always a bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be an int of cents, got {type(value).__name__}")
    return value


def _require_positive(value: object, label: str) -> int:
    amount = _require_int(value, label)
    if amount <= 0:
        raise ValueError(f"{label} must be positive, got {amount}")
    return amount


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount_cents: int

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account.strip():
            raise InvalidTransaction("a posting needs an account name")
        _require_int(self.amount_cents, "a posting's amount")
        if self.amount_cents == 0:
            raise InvalidTransaction(f"a posting of 0 cents on {self.account} moves nothing")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A balanced set of postings. ``method`` says how outside money moved (online, transfer, cash)
    when it did; ``memo`` is a free label for the statement."""

    kind: str
    postings: tuple[Posting, ...]
    method: str | None = None
    memo: str = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidTransaction(f"unknown transaction kind {self.kind!r}")
        if self.method is not None and self.method not in METHODS | {WALLET}:
            raise InvalidTransaction(f"unknown payment method {self.method!r}")
        postings = tuple(self.postings)
        object.__setattr__(self, "postings", postings)
        if not postings:
            raise InvalidTransaction("a transaction needs postings")
        for posting in postings:
            if not isinstance(posting, Posting):
                raise TypeError(f"postings must be Posting values, got {type(posting).__name__}")
        total = sum(p.amount_cents for p in postings)
        if total != 0:
            raise InvalidTransaction(f"the postings of a {self.kind} sum to {total} cents, not 0")

    def amount_for(self, account: str) -> int:
        """What this transaction moves on ``account`` (0 when it does not touch it)."""
        return sum(p.amount_cents for p in self.postings if p.account == account)

    @property
    def accounts(self) -> frozenset[str]:
        return frozenset(p.account for p in self.postings)


# --- account names -------------------------------------------------------------------------------


def _ident(value: object, label: str) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{label} is missing")
    text = str(value)
    # ":" separates the parts of an account name; whitespace would make names that look alike differ.
    if not text or ":" in text or "".join(text.split()) != text:  # split(): any whitespace, in C
        raise ValueError(f"{label} {text!r} cannot name an account")
    return text


def wallet_account(wallet_id: object) -> str:
    return f"wallet:{_ident(wallet_id, 'wallet id')}"


def invoice_receivable_account(invoice_id: object) -> str:
    return f"invoice:{_ident(invoice_id, 'invoice id')}:receivable"


def school_revenue_account(school_id: object) -> str:
    return f"school:{_ident(school_id, 'school id')}:revenue"


def bank_clearing_account(school_id: object) -> str:
    """Money received on (or paid from) the school's bank account, as bank statements report it."""
    return f"school:{_ident(school_id, 'school id')}:bank"


def psp_clearing_account(school_id: object) -> str:
    """Money collected by the online payment provider on the school's behalf."""
    return f"school:{_ident(school_id, 'school id')}:psp"


def cash_account(school_id: object) -> str:
    """Cash handed over at the school's office."""
    return f"school:{_ident(school_id, 'school id')}:cash"


def credit_note_account(school_id: object) -> str:
    return f"school:{_ident(school_id, 'school id')}:credit_notes"


def unallocated_account(school_id: object) -> str:
    """Money received that waits for the manager to say whose it is (unmatched transfers)."""
    return f"school:{_ident(school_id, 'school id')}:unallocated"


def refunds_payable_account(school_id: object) -> str:
    """Wallet money refunded to a bank account that the school's bank has not paid out yet."""
    return f"school:{_ident(school_id, 'school id')}:refunds_payable"


def clearing_account(school_id: object, method: str) -> str:
    """Where outside money arrives for ``method``: online → provider, transfer and direct debit →
    bank, cash → cash."""
    if method == "online":
        return psp_clearing_account(school_id)
    if method in ("transfer", "direct_debit"):
        return bank_clearing_account(school_id)
    if method == "cash":
        return cash_account(school_id)
    raise ValueError(f"unknown payment method {method!r}: use one of {', '.join(sorted(METHODS))}")


# --- movements -----------------------------------------------------------------------------------


def _move(
    kind: str, to_account: str, from_account: str, amount: int, *, method: str | None = None, memo: str = ""
) -> Transaction:
    """Credit ``to_account`` and debit ``from_account`` by ``amount``."""
    return Transaction(
        kind=kind,
        postings=(Posting(to_account, amount), Posting(from_account, -amount)),
        method=method,
        memo=memo,
    )


def top_up(
    wallet_id: object, school_id: object, amount_cents: int, method: str, *, memo: str = ""
) -> Transaction:
    """The parent adds money to a wallet: the wallet is credited, the money sits in the clearing account
    of ``method``."""
    amount = _require_positive(amount_cents, "a top-up")
    return _move(
        KIND_TOP_UP,
        wallet_account(wallet_id),
        clearing_account(school_id, method),
        amount,
        method=method,
        memo=memo,
    )


def sale(wallet_id: object, school_id: object, amount_cents: int, *, memo: str = "") -> Transaction:
    """The school sells something paid from the wallet. Check the balance first (:func:`check_can_debit`)."""
    amount = _require_positive(amount_cents, "a sale")
    return _move(
        KIND_SALE,
        school_revenue_account(school_id),
        wallet_account(wallet_id),
        amount,
        method=WALLET,
        memo=memo,
    )


def issue_invoice(invoice_id: object, school_id: object, total_cents: int, *, memo: str = "") -> Transaction:
    """The parent now owes ``total_cents`` on the invoice; the school books the revenue."""
    total = _require_positive(total_cents, "an invoice total")
    return _move(
        KIND_INVOICE_ISSUED,
        school_revenue_account(school_id),
        invoice_receivable_account(invoice_id),
        total,
        memo=memo,
    )


def pay_invoice_from_wallet(
    invoice_id: object, wallet_id: object, amount_cents: int, *, memo: str = ""
) -> Transaction:
    """Part or all of an invoice paid with the wallet's money (an internal payment)."""
    amount = _require_positive(amount_cents, "an invoice payment")
    return _move(
        KIND_INVOICE_PAYMENT,
        invoice_receivable_account(invoice_id),
        wallet_account(wallet_id),
        amount,
        method=WALLET,
        memo=memo,
    )


def pay_invoice_external(
    invoice_id: object, school_id: object, amount_cents: int, method: str, *, memo: str = ""
) -> Transaction:
    """Part or all of an invoice paid with outside money (online, transfer or cash)."""
    amount = _require_positive(amount_cents, "an invoice payment")
    return _move(
        KIND_INVOICE_PAYMENT,
        invoice_receivable_account(invoice_id),
        clearing_account(school_id, method),
        amount,
        method=method,
        memo=memo,
    )


def credit_note(
    invoice_id: object, school_id: object, open_amount_cents: int, *, memo: str = ""
) -> Transaction:
    """Cancel what remains due on an invoice: the receivable is cleared by ``open_amount_cents``, booked
    on the school's credit notes. What was already paid stays paid."""
    amount = _require_positive(open_amount_cents, "a credit note")
    return _move(
        KIND_CREDIT_NOTE,
        invoice_receivable_account(invoice_id),
        credit_note_account(school_id),
        amount,
        memo=memo,
    )


def refund(
    wallet_id: object, school_id: object, amount_cents: int, *, method: str = "transfer", memo: str = ""
) -> Transaction:
    """Give wallet money back to the parent (by bank transfer unless ``method`` says otherwise). Check
    the balance first (:func:`check_can_debit`)."""
    amount = _require_positive(amount_cents, "a refund")
    return _move(
        KIND_REFUND,
        clearing_account(school_id, method),
        wallet_account(wallet_id),
        amount,
        method=method,
        memo=memo,
    )


def refund_to_bank_account(
    wallet_id: object, school_id: object, amount_cents: int, *, memo: str = ""
) -> Transaction:
    """A manager refunds wallet money to a bank account (a leaver's balance): the wallet is debited at
    once and the school owes it on refunds payable until its credit-transfer batch is paid out. Check
    the balance first (:func:`check_can_debit`)."""
    amount = _require_positive(amount_cents, "a refund")
    return _move(
        KIND_REFUND,
        refunds_payable_account(school_id),
        wallet_account(wallet_id),
        amount,
        method="transfer",
        memo=memo,
    )


def receive_unallocated(school_id: object, amount_cents: int, method: str, *, memo: str = "") -> Transaction:
    """Outside money (a transfer, or the excess of an online payment) that names no wallet or invoice:
    it arrives in the clearing account of ``method`` and waits on the school's unallocated account."""
    amount = _require_positive(amount_cents, "an unallocated receipt")
    return _move(
        KIND_UNALLOCATED,
        unallocated_account(school_id),
        clearing_account(school_id, method),
        amount,
        method=method,
        memo=memo,
    )


def allocate_top_up(
    wallet_id: object, school_id: object, amount_cents: int, method: str, *, memo: str = ""
) -> Transaction:
    """The manager assigns unallocated money to a wallet: a top-up paid by ``method``, taken from the
    unallocated account (the money already arrived with :func:`receive_unallocated`)."""
    amount = _require_positive(amount_cents, "a top-up")
    clearing_account(school_id, method)  # the method must be one outside money comes by
    return _move(
        KIND_TOP_UP,
        wallet_account(wallet_id),
        unallocated_account(school_id),
        amount,
        method=method,
        memo=memo,
    )


def allocate_invoice_payment(
    invoice_id: object, school_id: object, amount_cents: int, method: str, *, memo: str = ""
) -> Transaction:
    """The manager assigns unallocated money to an invoice (part or all of its open amount)."""
    amount = _require_positive(amount_cents, "an invoice payment")
    clearing_account(school_id, method)
    return _move(
        KIND_INVOICE_PAYMENT,
        invoice_receivable_account(invoice_id),
        unallocated_account(school_id),
        amount,
        method=method,
        memo=memo,
    )


# --- money the payment provider gave back to the payer (refunds, chargebacks) ---------------------
# Each takes the money out of the clearing account of ``method`` (the provider's, for online payments):
# a wallet's share is :func:`refund`; the rest comes from where the payment had put it.


def reverse_invoice_payment(
    invoice_id: object, school_id: object, amount_cents: int, method: str, *, memo: str = ""
) -> Transaction:
    """Part or all of an invoice payment went back to the payer: the invoice is owed again by
    ``amount_cents``. An invoice payment with the signs turned, so an invoice's paid amount stays the
    sum of its ``invoice_payment`` postings."""
    amount = _require_positive(amount_cents, "a reversed invoice payment")
    return _move(
        KIND_INVOICE_PAYMENT,
        clearing_account(school_id, method),
        invoice_receivable_account(invoice_id),
        amount,
        method=method,
        memo=memo,
    )


def reverse_unallocated(school_id: object, amount_cents: int, method: str, *, memo: str = "") -> Transaction:
    """Money waiting on the unallocated account (a payment's excess not assigned yet) went back to
    the payer."""
    amount = _require_positive(amount_cents, "a reversed unallocated receipt")
    return _move(
        KIND_REFUND,
        clearing_account(school_id, method),
        unallocated_account(school_id),
        amount,
        method=method,
        memo=memo,
    )


def reverse_uncovered(school_id: object, amount_cents: int, method: str, *, memo: str = "") -> Transaction:
    """Money that went back to the payer although it was already used (spent from the wallet, or
    paid on an invoice since cancelled): taken off the revenue. The invoice the school issues for it
    (:func:`issue_invoice`) books that revenue again and makes it owed."""
    amount = _require_positive(amount_cents, "an uncovered reversal")
    return _move(
        KIND_REFUND,
        clearing_account(school_id, method),
        school_revenue_account(school_id),
        amount,
        method=method,
        memo=memo,
    )


def check_can_debit(balance_cents: int, amount_cents: int) -> int:
    """Refuse to take ``amount_cents`` from a wallet holding ``balance_cents`` when that would make it
    negative (raises :class:`InsufficientBalance`); otherwise return the balance left afterwards."""
    balance = _require_int(balance_cents, "a balance")
    amount = _require_positive(amount_cents, "a debit")
    if amount > balance:
        raise InsufficientBalance(balance, amount)
    return balance - amount
