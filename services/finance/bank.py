"""Use case: the manager imports a bank statement file (CODA or camt.053) and the transfers it holds are
booked. Parsing is ``domain.statements.parse_statement``; matching and booking are here.

One database transaction for the whole file: a malformed file is refused before anything is written,
and any failure while booking rolls everything back. Each movement is written once in
``bank_movements`` under its dedup key (unique per school): a file or a movement imported again is
reported as a duplicate and books nothing; two imports racing on the same movements collide on that
unique index and the loser is run again, finding them known.

What happens to each new movement:

- a debit (money leaving the account): recorded and reported, never booked;
- a credit whose structured communication names one of the school's wallets (its current
  communication, or an older one still valid on the booking day): a top-up by transfer;
- a credit naming an invoice: the invoice's open amount is paid (partly paid when the credit is
  smaller); the excess, or the whole credit when the invoice is paid or cancelled, is received on the
  school's unallocated account and listed as an unmatched transfer;
- anything else (no or an unknown communication, an expired one, a reversal): received on the
  unallocated account and listed as an unmatched transfer for the manager to assign.

Wallets and invoices are locked (PostgreSQL ``FOR UPDATE``, in id order, invoices before wallets as
everywhere in finance) before anything is booked, and rows are written with multi-row inserts so that
a 50,000-movement file imports in seconds (see ``bench/bench_statements.py``).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import bus
from kit.db import bulk_insert
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db
from services.finance.db import (
    bank_movements,
    invoices,
    payments,
    statement_imports,
    structured_communications,
    unmatched_transfers,
    wallet_types,
    wallets,
)
from services.finance.domain import ledger
from services.finance.domain.statements import CREDIT, ParsedStatement, StatementError, parse_statement
from services.finance.payments import payment_received, transfer_label, unmatched_pb
from services.finance.service import FinanceService, invoice_status, rfc3339, utc

log = logging.getLogger("finance.bank")

CHUNK = 1000  # ids per IN (...) list
MAX_DEDUP_KEY = 300


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def dedup_key(key: str) -> str:
    """The movement's key as stored (a hash when a bank's references make it longer than the column)."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def import_pb(r) -> pb.StatementImport:
    return pb.StatementImport(
        id=r.id,
        format=r.format,
        filename=r.filename,
        movements=r.movements,
        credited=r.credited,
        unmatched=r.unmatched,
        duplicates=r.duplicates,
        debits=r.debits,
        credited_cents=r.credited_cents,
        unmatched_cents=r.unmatched_cents,
        created_at=rfc3339(r.created_at),
        statements=r.statements,
        accounts=[a for a in r.accounts.split(",") if a],
    )


class BankStatements:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.core = FinanceService(rt)

    def import_statement(self, who: Identity, req: pb.ImportStatementRequest) -> pb.ImportStatementResponse:
        """Staff: import a CODA or camt.053 file (detected by content). 400 invalid_statement (with the
        line and the reason) books nothing; otherwise every new movement is booked or listed once."""
        who.require_staff()
        if not req.content:
            raise InvalidRequest(
                "the file is empty",
                code="invalid_statement",
                fields={"file": "the file is empty", "line": "", "reason": "the file is empty"},
            )
        try:
            parsed = parse_statement(req.content)
        except StatementError as e:
            where = f"line {e.line}: " if e.line is not None else ""
            raise InvalidRequest(
                f"{where}{e.reason}",
                code="invalid_statement",
                fields={
                    "file": f"{where}{e.reason}",
                    "line": "" if e.line is None else str(e.line),
                    "reason": e.reason,
                },
            ) from None
        sha = hashlib.sha256(req.content).hexdigest()
        filename = (req.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255]

        def work(s: Session) -> pb.ImportStatementResponse:
            return pb.ImportStatementResponse(result=self._import(s, who, parsed, filename, sha))

        for _attempt in range(3):
            try:
                return self.core._idempotent(
                    f"import:{who.school_id}", req.idempotency_key, req, pb.ImportStatementResponse, work
                )
            except IntegrityError:
                # Another import of the same movements committed first: run again, they are known now.
                log.info("concurrent import of the same movements, importing again")
        raise Conflict("another import of this file is in progress; try again", code="import_in_progress")

    def list_imports(
        self, who: Identity, req: pb.ListStatementImportsRequest
    ) -> pb.ListStatementImportsResponse:
        who.require_staff()
        limit = req.limit if 0 < req.limit <= 200 else 50
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(statement_imports)
                .where(statement_imports.c.school_id == who.school_id)
                .order_by(statement_imports.c.created_at.desc())
                .limit(limit)
            ).all()
            return pb.ListStatementImportsResponse(imports=[import_pb(r) for r in rows])

    # -- the import ---------------------------------------------------------------------------------

    def _import(
        self, s: Session, who: Identity, parsed: ParsedStatement, filename: str, sha: str
    ) -> pb.StatementImport:
        school = who.school_id
        now = self.core._now()
        import_id = str(uuid.uuid4())
        s.execute(
            statement_imports.insert().values(
                id=import_id,
                school_id=school,
                format=parsed.format,
                filename=filename,
                sha256=sha,
                accounts=",".join(parsed.accounts)[:500],
                statements=parsed.statement_count,
                movements=len(parsed.movements),
                credited=0,
                unmatched=0,
                duplicates=0,
                debits=0,
                credited_cents=0,
                unmatched_cents=0,
                imported_by=who.account_id,
                created_at=now,
            )
        )
        keyed = [(m, dedup_key(m.dedup_key)) for m in parsed.movements]
        known = self._known_keys(s, school, {k for _m, k in keyed})
        new, duplicates = [], 0
        for m, k in keyed:
            if k in known:
                duplicates += 1
                continue
            known.add(k)
            new.append((m, k))

        credits = [m for m, _k in new if m.direction == CREDIT and not m.reversal]
        targets = self._targets(
            s, school, {m.structured_communication for m in credits if m.structured_communication}
        )
        inv_state = self._lock_invoices(s, school, {t[1] for t in targets.values() if t[1]})
        wallet_state, names = self._lock_wallets(s, school, {t[0] for t in targets.values() if t[0]})

        b = _Batch(school, import_id, now, who.account_id)
        for m, k in new:
            movement_id = str(uuid.uuid4())
            row = {
                "id": movement_id,
                "school_id": school,
                "import_id": import_id,
                "dedup_key": k,
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
            b.movements.append(row)
            if m.direction != CREDIT:
                b.debits += 1
                continue
            comm = (
                format_ogm(m.structured_communication) if m.structured_communication else m.free_communication
            )
            target = targets.get(m.structured_communication) if m.structured_communication else None
            if m.reversal:
                b.unmatched(row, m, m.amount_cents, "reversal", comm)
            elif target is None:
                reason = "unknown_communication" if m.structured_communication else "no_communication"
                b.unmatched(row, m, m.amount_cents, reason, comm)
            elif target[0]:
                wallet_id, _inv, valid_until = target
                if valid_until is not None and utc(valid_until).date() < m.booked_on:
                    b.unmatched(row, m, m.amount_cents, "expired_communication", comm)
                else:
                    b.credit_wallet(row, m, wallet_state[wallet_id], names)
            else:
                b.pay_invoice(row, m, inv_state[target[1]], comm)

        db.book_many(s, school, b.entries)
        bulk_insert(s, payments, b.payments)
        bulk_insert(s, bank_movements, b.movements)
        bulk_insert(s, unmatched_transfers, b.unmatched_rows)
        changed = {i: st for i, st in inv_state.items() if st["paid"] != st["paid_before"]}
        db.update_by_id(s, invoices, "paid_cents", {i: st["paid"] for i, st in changed.items()})
        db.update_by_id(
            s,
            invoices,
            "status",
            {
                i: invoice_status(st["total"], st["paid"], st["status"] == "cancelled")
                for i, st in changed.items()
            },
        )
        bus.record_events(s, self.rt.spec.outbox, b.events)
        counts = dict(
            credited=b.credited,
            unmatched=len(b.unmatched_rows),
            duplicates=duplicates,
            debits=b.debits,
            credited_cents=b.credited_cents,
            unmatched_cents=sum(r["amount_cents"] for r in b.unmatched_rows),
        )
        s.execute(update(statement_imports).where(statement_imports.c.id == import_id).values(**counts))
        log.info(
            "statement imported", extra={"import_id": import_id, "movements": len(parsed.movements), **counts}
        )
        return import_pb(
            s.execute(select(statement_imports).where(statement_imports.c.id == import_id)).one()
        )

    @staticmethod
    def _known_keys(s: Session, school: str, keys: Iterable[str]) -> set[str]:
        bm = bank_movements
        known: set[str] = set()
        for chunk in _chunks(sorted(keys)):
            known.update(
                s.execute(
                    select(bm.c.dedup_key).where(bm.c.school_id == school, bm.c.dedup_key.in_(chunk))
                ).scalars()
            )
        return known

    @staticmethod
    def _targets(
        s: Session, school: str, digits: set[str]
    ) -> dict[str, tuple[str | None, str | None, datetime | None]]:
        """What each structured communication names: (wallet id, invoice id, valid until)."""
        sc = structured_communications
        out = {}
        for chunk in _chunks(sorted(digits)):
            for r in s.execute(
                select(sc.c.digits, sc.c.wallet_id, sc.c.invoice_id, sc.c.valid_until).where(
                    sc.c.school_id == school, sc.c.digits.in_(chunk)
                )
            ):
                out[r.digits] = (r.wallet_id, r.invoice_id, r.valid_until)
        return out

    @staticmethod
    def _lock_invoices(s: Session, school: str, ids: set[str]) -> dict[str, dict]:
        state = {}
        for chunk in _chunks(sorted(ids)):
            for r in s.execute(
                select(
                    invoices.c.id,
                    invoices.c.student_id,
                    invoices.c.number,
                    invoices.c.title,
                    invoices.c.total_cents,
                    invoices.c.paid_cents,
                    invoices.c.status,
                    invoices.c.source,
                )
                .where(invoices.c.school_id == school, invoices.c.id.in_(chunk))
                .order_by(invoices.c.id)
                .with_for_update()
            ):
                state[r.id] = {
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
        return state

    @staticmethod
    def _lock_wallets(s: Session, school: str, ids: set[str]) -> tuple[dict[str, dict], dict[str, str]]:
        state = {}
        for chunk in _chunks(sorted(ids)):
            for r in s.execute(
                select(wallets.c.id, wallets.c.student_id, wallets.c.balance_cents, wallets.c.wallet_type_id)
                .where(wallets.c.school_id == school, wallets.c.id.in_(chunk))
                .order_by(wallets.c.id)
                .with_for_update()
            ):
                state[r.id] = {
                    "id": r.id,
                    "student_id": r.student_id,
                    "balance": r.balance_cents,
                    "type_id": r.wallet_type_id,
                }
        names = dict(
            s.execute(
                select(wallet_types.c.id, wallet_types.c.name).where(wallet_types.c.school_id == school)
            ).all()
        )
        return state, names


class _Batch:
    """The rows one import writes, gathered in memory and inserted together at the end."""

    def __init__(self, school: str, import_id: str, now: datetime, account_id: str) -> None:
        self.school = school
        self.import_id = import_id
        self.now = now
        self.account_id = account_id
        self.entries: list = []  # for db.book_many
        self.payments: list[dict] = []
        self.movements: list[dict] = []
        self.unmatched_rows: list[dict] = []
        self.events: list = []
        self.credited = 0
        self.credited_cents = 0
        self.debits = 0

    def _tx(self, tx: ledger.Transaction, label: str, student_id: str | None) -> str:
        tx_id = str(uuid.uuid4())
        self.entries.append((tx_id, tx, self.now, label, student_id))
        return tx_id

    def _payment(
        self, student_id: str, purpose: str, amount: int, tx_id: str, *, wallet_id=None, invoice_id=None
    ) -> str:
        payment_id = str(uuid.uuid4())
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
        tx_id = self._tx(
            ledger.receive_unallocated(self.school, amount, "transfer"),
            f"Non attribué – {m.counterparty_name or communication}"[:300],
            None,
        )
        self.unmatched_rows.append(
            {
                "id": str(uuid.uuid4()),
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

    def credit_wallet(self, row: dict, m, wallet: dict, names: dict[str, str]) -> None:
        amount = m.amount_cents
        tx_id = self._tx(
            ledger.top_up(wallet["id"], self.school, amount, "transfer"),
            transfer_label(m.counterparty_name),
            wallet["student_id"],
        )
        payment_id = self._payment(wallet["student_id"], "top_up", amount, tx_id, wallet_id=wallet["id"])
        wallet["balance"] += amount
        self.events.append(
            (
                "finance.payment.received.v1",
                payment_received(
                    payment_id,
                    wallet["student_id"],
                    amount,
                    "transfer",
                    "top_up",
                    wallet_id=wallet["id"],
                    balance_after=wallet["balance"],
                    wallet_name=names.get(wallet["type_id"], ""),
                ),
                self.school,
            )
        )
        row.update(outcome="wallet", wallet_id=wallet["id"], payment_id=payment_id)
        self.credited += 1
        self.credited_cents += amount

    def pay_invoice(self, row: dict, m, inv: dict, communication: str) -> None:
        open_cents = 0 if inv["status"] == "cancelled" else max(inv["total"] - inv["paid"], 0)
        applied = min(open_cents, m.amount_cents)
        row["invoice_id"] = inv["id"]
        if applied:
            purpose = "order" if inv["source"] == "order" else "invoice"
            tx_id = self._tx(
                ledger.pay_invoice_external(inv["id"], self.school, applied, "transfer"),
                transfer_label(m.counterparty_name, inv["number"]),
                inv["student_id"],
            )
            payment_id = self._payment(inv["student_id"], purpose, applied, tx_id, invoice_id=inv["id"])
            inv["paid"] += applied
            self.events.append(
                (
                    "finance.payment.received.v1",
                    payment_received(
                        payment_id,
                        inv["student_id"],
                        applied,
                        "transfer",
                        purpose,
                        invoice_id=inv["id"],
                        invoice_number=inv["number"],
                    ),
                    self.school,
                )
            )
            row.update(outcome="invoice", payment_id=payment_id)
            self.credited += 1
            self.credited_cents += applied
        rest = m.amount_cents - applied
        if rest:
            reason = (
                "invoice_cancelled"
                if inv["status"] == "cancelled"
                else "overpayment"
                if applied
                else "invoice_settled"
            )
            self.unmatched(row, m, rest, reason, communication, outcome="invoice" if applied else "unmatched")


__all__ = ["BankStatements", "dedup_key", "import_pb", "unmatched_pb"]
