"""What one bank statement import books, gathered in memory and written together at the end
(``statements.py``): the ledger transactions, the payments, the movements, the unmatched transfers and
the events, with the locked wallets' and invoices' state kept up to date as movements credit them."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy.orm import Session

from services.finance import db, events
from services.finance.domain import ledger
from services.finance.domain.invoices import CANCELLED, open_amount, settle
from services.finance.domain.payments import invoice_purpose
from services.finance.use_cases.transfers import transfer_label

# uuid.uuid4()'s variant bits (10xx) on the 17th hex digit, from any random one
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def new_ids(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text, as ``str(uuid.uuid4())`` writes them, from one
    ``os.urandom`` call (the source uuid4 reads 16 bytes from each time): an import names a few
    hundred thousand rows, and uuid4 builds a UUID object for each."""
    h = os.urandom(16 * n).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


class Batch:
    """The rows one import writes (see the module's docstring)."""

    def __init__(self, school: str, import_id: str, now: datetime, account_id: str) -> None:
        self.school = school
        self.import_id = import_id
        self.now = now
        self.account_id = account_id
        self.entries: list = []  # for db.book_many
        self.payments: list[dict] = []
        self.movements: list[dict] = []
        self.unmatched_rows: list[dict] = []
        self.events: list[events.Event] = []
        self.credited = 0
        self.credited_cents = 0
        self.debits = 0  # debits reported, never booked
        self.returned_debits = 0  # a direct-debit batch's debits the bank returned: booked
        self.invoices: dict[str, dict] = {}
        self.wallets: dict[str, dict] = {}
        self.wallet_names: dict[str, str] = {}
        self._ids: list[str] = []

    def new_id(self) -> str:
        """A fresh random UUID for a row (drawn 4,096 at a time: :func:`new_ids`)."""
        if not self._ids:
            self._ids = new_ids(4096)
        return self._ids.pop()

    def lock(self, s: Session, invoice_ids: set[str], wallet_ids: set[str]) -> None:
        """Lock the invoices and wallets the file's communications name (invoices first, as everywhere
        in finance) and keep their state."""
        for r in db.lock_invoices(s, self.school, invoice_ids):
            self.invoices[r.id] = {
                "id": r.id,
                "student_id": r.student_id,
                "number": r.number,
                "title": r.title,
                "total": r.total_cents,
                "paid": r.paid_cents,
                "paid_before": r.paid_cents,
                "status": r.status,
                "source": r.source,
            }
        for r in db.lock_wallets(s, self.school, wallet_ids):
            self.wallets[r.id] = {
                "id": r.id,
                "student_id": r.student_id,
                "balance": r.balance_cents,
                "type_id": r.wallet_type_id,
            }
        self.wallet_names = db.wallet_type_names(s, self.school)

    def movement(self, m, key: str) -> dict:
        """The movement's row (a debit until a credit says otherwise)."""
        row = {
            "id": self.new_id(),
            "school_id": self.school,
            "import_id": self.import_id,
            "dedup_key": key,
            "direction": m.direction,
            "amount_cents": m.amount_cents,
            "booked_on": m.booked_on,
            "account": m.account_iban[:64],
            "bank_reference": m.bank_reference[:64],
            "structured_communication": m.structured_communication,
            "free_communication": m.free_communication,
            "counterparty_name": m.counterparty_name[:140],
            "counterparty_iban": m.counterparty_iban[:64],
            "reversal": m.reversal,
            "outcome": "debit",
            "wallet_id": None,
            "invoice_id": None,
            "payment_id": None,
        }
        self.movements.append(row)
        return row

    def _tx(self, tx: ledger.Transaction, label: str, student_id: str | None) -> str:
        tx_id = self.new_id()
        self.entries.append((tx_id, tx, self.now, label, student_id))
        return tx_id

    def _payment(
        self, student_id: str, purpose: str, amount: int, tx_id: str, *, wallet_id=None, invoice_id=None
    ) -> str:
        payment_id = self.new_id()
        self.payments.append(
            {
                "id": payment_id,
                "school_id": self.school,
                "student_id": student_id,
                "purpose": purpose,
                "method": "transfer",
                "status": "paid",
                "amount_cents": amount,
                "wallet_id": wallet_id,
                "invoice_id": invoice_id,
                "transaction_id": tx_id,
                "provider_id": None,
                "checkout_url": None,
                "created_at": self.now,
                "paid_at": self.now,
                "provider_status": None,
                "created_by": self.account_id,
                "updated_at": self.now,
            }
        )
        return payment_id

    def unmatched(
        self, row: dict, m, amount: int, reason: str, communication: str, *, outcome: str = "unmatched"
    ) -> None:
        """Receive ``amount`` on the unallocated account and list it for the manager."""
        tx_id = self._tx(
            ledger.receive_unallocated(self.school, amount, "transfer"),
            f"Non attribué – {m.counterparty_name or communication}"[:300],
            None,
        )
        self.unmatched_rows.append(
            {
                "id": self.new_id(),
                "school_id": self.school,
                "source": "statement",
                "method": "transfer",
                "movement_id": row["id"],
                "online_payment_id": None,
                "amount_cents": amount,
                "communication": communication,
                "counterparty_name": m.counterparty_name[:140],
                "counterparty_iban": m.counterparty_iban[:64],
                "booked_on": m.booked_on,
                "reason": reason,
                "status": "open",
                "transaction_id": tx_id,
                "assigned_wallet_id": None,
                "assigned_invoice_id": None,
                "assigned_by": None,
                "assigned_at": None,
                "payment_id": None,
                "created_at": self.now,
            }
        )
        row["outcome"] = outcome

    def credit_wallet(self, row: dict, m, wallet_id: str) -> None:
        """A top-up by transfer: the whole credit goes to the wallet."""
        wallet = self.wallets[wallet_id]
        amount = m.amount_cents
        tx_id = self._tx(
            ledger.top_up(wallet["id"], self.school, amount, "transfer"),
            transfer_label(m.counterparty_name),
            wallet["student_id"],
        )
        payment_id = self._payment(wallet["student_id"], "top_up", amount, tx_id, wallet_id=wallet["id"])
        wallet["balance"] += amount
        self.events.append(
            events.payment_received(
                payment_id,
                wallet["student_id"],
                amount,
                "transfer",
                "top_up",
                wallet_id=wallet["id"],
                balance_after=wallet["balance"],
                wallet_name=self.wallet_names.get(wallet["type_id"], ""),
            )
        )
        row.update(outcome="wallet", wallet_id=wallet["id"], payment_id=payment_id)
        self.credited += 1
        self.credited_cents += amount

    def pay_invoice(self, row: dict, m, invoice_id: str, communication: str) -> None:
        """A credit naming an invoice: what it settles is paid, what is left over is unmatched."""
        inv = self.invoices[invoice_id]
        settlement = settle(
            open_amount(inv["total"], inv["paid"], inv["status"]),
            m.amount_cents,
            cancelled=inv["status"] == CANCELLED,
        )
        applied = settlement.applied_cents
        row["invoice_id"] = inv["id"]
        if applied:
            purpose = invoice_purpose(inv["source"])
            tx_id = self._tx(
                ledger.pay_invoice_external(inv["id"], self.school, applied, "transfer"),
                transfer_label(m.counterparty_name, inv["number"]),
                inv["student_id"],
            )
            payment_id = self._payment(inv["student_id"], purpose, applied, tx_id, invoice_id=inv["id"])
            inv["paid"] += applied
            self.events.append(
                events.payment_received(
                    payment_id,
                    inv["student_id"],
                    applied,
                    "transfer",
                    purpose,
                    invoice_id=inv["id"],
                    invoice_number=inv["number"],
                )
            )
            row.update(outcome="invoice", payment_id=payment_id)
            self.credited += 1
            self.credited_cents += applied
        if settlement.left_over_cents:
            self.unmatched(
                row,
                m,
                settlement.left_over_cents,
                settlement.reason,
                communication,
                outcome="invoice" if applied else "unmatched",
            )
