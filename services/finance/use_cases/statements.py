"""The manager imports a bank statement file (CODA or camt.053) and the transfers it holds are booked.
Parsing is ``domain.statements.parse_statement``; matching and booking are here.

One database transaction for the whole file: a malformed file is refused before anything is written,
and any failure while booking rolls everything back. Each movement is written once in
``bank_movements`` under its dedup key (unique per school): a file or a movement imported again is
reported as a duplicate and books nothing; two imports racing on the same movements collide on that
unique index and the loser is run again, finding them known.

What happens to each new movement:

- a direct-debit batch's credit or returned debit (``direct_debit_returns.py``): its items are
  collected or returned;
- a debit (money leaving the account): recorded and reported, never booked;
- a credit whose structured communication names one of the school's wallets (its current
  communication, or an older one still valid on the booking day): a top-up by transfer;
- a credit naming an invoice: what it ``settle``s of the invoice is paid (partly paid when the credit
  is smaller); the excess, or the whole credit when the invoice is paid or cancelled, is received on
  the school's unallocated account and listed as an unmatched transfer;
- anything else (no or an unknown communication, an expired one, a reversal): received on the
  unallocated account and listed as an unmatched transfer for the manager to assign.

Wallets and invoices are locked (PostgreSQL ``FOR UPDATE``, in id order, invoices before wallets as
everywhere in finance) before anything is booked, and rows are written with multi-row inserts so that
a 50,000-movement file imports in seconds (see ``bench/bench_statements.py``). The rows one import
writes are gathered by ``statement_batch.Batch``.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.money import format_eur
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.domain.invoices import invoice_status
from services.finance.domain.statements import CREDIT, ParsedStatement, StatementError, parse_statement
from services.finance.use_cases import common
from services.finance.use_cases.direct_debit_returns import StatementDirectDebits
from services.finance.use_cases.statement_batch import Batch

log = logging.getLogger("finance.bank")


class Statements:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

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
                return common.idempotent(
                    self.rt,
                    f"import:{who.school_id}",
                    req.idempotency_key,
                    req,
                    pb.ImportStatementResponse,
                    work,
                )
            except IntegrityError:
                # Another import of the same movements committed first: run again, they are known now.
                log.info("concurrent import of the same movements, importing again")
        raise Conflict("another import of this file is in progress; try again", code="import_in_progress")

    def list_imports(
        self, who: Identity, req: pb.ListStatementImportsRequest
    ) -> pb.ListStatementImportsResponse:
        """Staff: the school's statement imports, newest first (at most ``limit``, default 50)."""
        who.require_staff()
        limit = req.limit if 0 < req.limit <= 200 else 50
        with self.rt.db.unit_of_work() as s:
            rows = db.recent_imports(s, who.school_id, limit)
            return pb.ListStatementImportsResponse(imports=[views.statement_import(r) for r in rows])

    def _import(
        self, s: Session, who: Identity, parsed: ParsedStatement, filename: str, sha: str
    ) -> pb.StatementImport:
        school = who.school_id
        at = common.now(self.rt)
        import_id = str(uuid.uuid4())
        db.insert_import(
            s,
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
            returned_debits=0,
            credited_cents=0,
            unmatched_cents=0,
            imported_by=who.account_id,
            created_at=at,
        )
        keyed = [(m, db.dedup_key(m.dedup_key)) for m in parsed.movements]
        known = db.known_dedup_keys(s, school, {k for _m, k in keyed})
        new, duplicates = [], 0
        for m, k in keyed:
            if k in known:
                duplicates += 1
                continue
            known.add(k)
            new.append((m, k))

        credits = [m for m, _k in new if m.direction == CREDIT and not m.reversal]
        targets = db.communication_targets(
            s, school, {m.structured_communication for m in credits if m.structured_communication}
        )
        invoice_ids = {t[1] for t in targets.values() if t[1]}
        wallet_ids = {t[0] for t in targets.values() if t[0]}
        # The direct-debit batches' credits and returns first (they lock what the transfers lock too,
        # in order), so the transfers below read the invoices and wallets as they left them.
        sepa = StatementDirectDebits(self.rt, s, school, at, new)
        sepa.book(invoice_ids, wallet_ids)
        b = Batch(school, import_id, at, who.account_id)
        b.lock(s, invoice_ids, wallet_ids)
        for m, k in new:
            row = b.movement(m, k)
            if sepa.fill(b, row, m, k):
                continue
            if m.direction != CREDIT:
                b.debits += 1
                continue
            target = targets.get(m.structured_communication) if m.structured_communication else None
            if m.reversal:
                b.unmatched(row, m, m.amount_cents, "reversal", _communication(m))
            elif target is None:
                reason = "unknown_communication" if m.structured_communication else "no_communication"
                b.unmatched(row, m, m.amount_cents, reason, _communication(m))
            else:
                wallet_id, invoice_id, valid_until = target
                if wallet_id is None:
                    b.pay_invoice(row, m, str(invoice_id), _communication(m))
                elif valid_until is not None and db.utc(valid_until).date() < m.booked_on:
                    b.unmatched(row, m, m.amount_cents, "expired_communication", _communication(m))
                else:
                    b.credit_wallet(row, m, wallet_id)

        db.book_many(s, school, b.entries)
        db.insert_statement_rows(
            s, payment_rows=b.payments, movement_rows=b.movements, unmatched_rows=b.unmatched_rows
        )
        db.set_invoices_paid(
            s,
            {
                i: (st["paid"], invoice_status(st["total"], st["paid"], st["status"] == "cancelled"))
                for i, st in b.invoices.items()
                if st["paid"] != st["paid_before"]
            },
        )
        events.record_many(self.rt, s, school, b.events)
        counts = dict(
            credited=b.credited,
            unmatched=len(b.unmatched_rows),
            duplicates=duplicates,
            debits=b.debits,
            returned_debits=b.returned_debits,
            credited_cents=b.credited_cents,
            unmatched_cents=sum(r["amount_cents"] for r in b.unmatched_rows),
        )
        audit.record(
            self.rt,
            s,
            who,
            "finance.statement.imported",
            "statement_import",
            import_id,
            f"{filename} ({parsed.format}): {b.credited} credited, {len(b.unmatched_rows)} unmatched, {duplicates} duplicates, {format_eur(b.credited_cents)}",
        )
        db.update_import(s, import_id, **counts)
        log.info(
            "statement imported", extra={"import_id": import_id, "movements": len(parsed.movements), **counts}
        )
        return views.statement_import(db.import_row(s, import_id))


def _communication(m) -> str:
    """The movement's communication as the unmatched list shows it: its structured communication
    written ``+++123/4567/89002+++`` (the parser checked its 12 digits: formatted directly, not
    checked again by ``kit.ogm.format_ogm`` for every movement), else its free text."""
    digits = m.structured_communication
    if not digits:
        return m.free_communication
    if len(digits) == 12 and digits.isascii() and digits.isdigit():
        return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"
    return format_ogm(digits)
