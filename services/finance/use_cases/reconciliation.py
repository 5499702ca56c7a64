"""The bank reconciliation of one imported statement (issue #17): the import's counts and every
movement it recorded with what it became: credited to a wallet (a top-up by transfer) or to an
invoice (and what of it the invoice could not take), left unmatched (why, and whether the manager
has assigned it since, to which wallet or invoice), or a debit (reported, never booked).

Duplicates (movements imported before) booked nothing and are not kept per import: the import's
``duplicates`` count is all there is (``statement_imports.duplicates``); the movements of the import
that first recorded them are in that import's view."""

from __future__ import annotations

from datetime import date

from cartable.finance.v1 import exports_pb2 as pb
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance.db import export_queries as q
from services.finance.db import utc
from services.finance.use_cases.exports import cursor_text, decode_cursor, encode_cursor

DEFAULT_LIMIT, MAX_LIMIT = 200, 1000


def _name(r) -> str:
    return " ".join(p for p in (r.first_name, r.last_name) if p)


def import_detail(r, recorded: int) -> pb.StatementImportDetail:
    return pb.StatementImportDetail(
        id=r.id,
        format=r.format,
        filename=r.filename,
        created_at=utc(r.created_at).isoformat(),
        statements=r.statements,
        accounts=[a for a in r.accounts.split(",") if a],
        movements=r.movements,
        credited=r.credited,
        unmatched=r.unmatched,
        duplicates=r.duplicates,
        debits=r.debits,
        returned_debits=r.returned_debits,
        credited_cents=r.credited_cents,
        unmatched_cents=r.unmatched_cents,
        recorded=recorded,
    )


def unmatched_part(u) -> pb.UnmatchedPart:
    return pb.UnmatchedPart(
        transfer_id=u.id,
        amount_cents=u.amount_cents,
        reason=u.reason,
        status=u.status,
        assigned_at=utc(u.assigned_at).isoformat() if u.assigned_at else "",
        assigned_wallet_id=u.assigned_wallet_id or "",
        assigned_wallet_name=(u.wallet_name or "") if u.assigned_wallet_id else "",
        assigned_invoice_id=u.assigned_invoice_id or "",
        assigned_invoice_number=(u.invoice_number or "") if u.assigned_invoice_id else "",
        assigned_student_id=u.owner_id or "",
        assigned_student_name=_name(u) if u.owner_id else "",
    )


def movement(r, parts: list) -> pb.StatementMovement:
    """A movement row (with its payment's amount, wallet, invoice and student) and its unmatched
    transfers."""
    return pb.StatementMovement(
        id=r.id,
        booked_on=r.booked_on.isoformat(),
        direction=r.direction,
        amount_cents=r.amount_cents,
        account=r.account,
        bank_reference=r.bank_reference,
        communication=(
            format_ogm(r.structured_communication) if r.structured_communication else r.free_communication
        ),
        counterparty_name=r.counterparty_name,
        counterparty_iban=r.counterparty_iban,
        reversal=r.reversal,
        outcome=r.outcome,
        wallet_id=r.wallet_id or "",
        wallet_name=r.wallet_name or "",
        invoice_id=r.invoice_id or "",
        invoice_number=r.invoice_number or "",
        student_id=r.owner_id or "",
        student_name=_name(r) if r.owner_id else "",
        class_name=(r.class_name or "") if r.owner_id else "",
        payment_id=r.payment_id or "",
        credited_cents=r.credited_cents or 0,
        unmatched_cents=sum(u.amount_cents for u in parts),
        unmatched=[unmatched_part(u) for u in parts],
    )


class Reconciliation:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_statement_import(
        self, who: Identity, req: pb.GetStatementImportRequest
    ) -> pb.GetStatementImportResponse:
        """Staff: one of the school's statement imports (another school's: not found) and ``limit``
        of the movements it recorded (default 200, at most 1000) by booking day after ``cursor``,
        each with its outcome."""
        who.require_staff()
        if not 0 <= req.limit <= MAX_LIMIT:
            raise InvalidRequest("bad limit", fields={"limit": f"1 to {MAX_LIMIT}"})
        limit = req.limit or DEFAULT_LIMIT
        after = decode_cursor(
            "movements", req.cursor, lambda v: (date.fromisoformat(cursor_text(v[0])), cursor_text(v[1]))
        )
        with self.rt.db.unit_of_work() as s:
            imp = q.statement_import(s, who.school_id, req.import_id)
            if imp is None:
                raise NotFound("no such statement import")
            rows = q.import_movements_page(s, imp.id, after, limit + 1)
            page = rows[:limit]
            parts = q.unmatched_of_movements(s, [r.id for r in page])
            recorded = q.import_movement_count(s, imp.id)
        nxt = ""
        if len(rows) > limit:
            nxt = encode_cursor("movements", [page[-1].booked_on.isoformat(), page[-1].id])
        return pb.GetStatementImportResponse(
            statement_import=import_detail(imp, recorded),
            movements=[movement(r, parts.get(r.id, [])) for r in page],
            next_cursor=nxt,
        )
