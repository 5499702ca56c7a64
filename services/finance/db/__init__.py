"""The finance service's tables and every query, one module per kind of row; import from here
(``from services.finance import db``; ``db.lock_wallet(...)``, ``db.invoices``).

- ``tables``: the tables (what each holds is written there).
- ``school``: per-school locks and counters, structured communications, settings, students.
- ``booking``: writing balanced ledger transactions (and the wallets' cached balances), summing them.
- ``wallet_queries``, ``payment_queries``: wallets and wallet types; payments and their reversals.

Locks, always in this order: the per-school lock (wallet types vs. new students), the invoice row,
the wallet row. On PostgreSQL they are ``SELECT ... FOR UPDATE``; SQLite transactions are
``BEGIN IMMEDIATE`` and so never interleave.
"""

from services.finance.db.booking import WALLET_PREFIX, book, book_many, update_by_id
from services.finance.db.payment_queries import insert_paid_payment
from services.finance.db.school import (
    insert_ignoring_duplicate,
    issue_communication,
    next_number,
    school_lock,
)
from services.finance.db.tables import (
    LEDGER_TABLES,
    bank_movements,
    counters,
    credit_notes,
    idempotency_keys,
    inbox,
    invoice_lines,
    invoices,
    ledger_postings,
    ledger_transactions,
    metadata,
    outbox,
    payment_reversals,
    payments,
    sale_lines,
    sales,
    school_settings,
    statement_imports,
    structured_communications,
    students,
    unmatched_transfers,
    wallet_types,
    wallets,
)
from services.finance.db.wallet_queries import lock_wallet

__all__ = [
    "LEDGER_TABLES",
    "WALLET_PREFIX",
    "bank_movements",
    "book",
    "book_many",
    "counters",
    "credit_notes",
    "idempotency_keys",
    "inbox",
    "insert_ignoring_duplicate",
    "insert_paid_payment",
    "invoice_lines",
    "invoices",
    "issue_communication",
    "ledger_postings",
    "ledger_transactions",
    "lock_wallet",
    "metadata",
    "next_number",
    "outbox",
    "payment_reversals",
    "payments",
    "sale_lines",
    "sales",
    "school_lock",
    "school_settings",
    "statement_imports",
    "structured_communications",
    "students",
    "unmatched_transfers",
    "update_by_id",
    "wallet_types",
    "wallets",
]
