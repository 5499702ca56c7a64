"""Use cases of the finance service, one unit of work each.

Each use case takes the verified caller and its request message and answers the response message;
the money-moving ones run through ``kit.idempotency.run_idempotent`` so a key replays its first
answer. Money rules (balanced transactions, no overdraft) come from ``domain.ledger``; rows are
written through ``db.book`` which keeps the wallets' cached balances in the same transaction.

Locks, always in this order: the per-school lock (wallet types vs. new students), the invoice row,
the wallet row. On PostgreSQL they are ``SELECT ... FOR UPDATE``; SQLite transactions are
``BEGIN IMMEDIATE`` and so never interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from kit.epc import validate_bic, validate_iban
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.idempotency import request_hash, run_idempotent
from kit.identity import Identity
from kit.money import MAX_CENTS
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db
from services.finance.db import (
    credit_notes,
    idempotency_keys,
    invoice_lines,
    invoices,
    ledger_postings,
    ledger_transactions,
    sale_lines,
    sales,
    school_settings,
    structured_communications,
    students,
    wallet_types,
    wallets,
)
from services.finance.domain import ledger
from services.finance.domain.periods import resolve_period

BRUSSELS = ZoneInfo("Europe/Brussels")
LEVELS = ("primary", "secondary")
TOP_UP_METHODS = ("online", "transfer")
INVOICE_STATUSES = ("unpaid", "partially_paid", "paid", "cancelled")
PAYMENT_METHODS = ("online", "transfer", "wallet", "cash")
# Operation types as API.md names them, and the ledger kinds behind them; anything else is an adjustment.
OPERATION_TYPES = {
    "top_up": ledger.KIND_TOP_UP,
    "purchase": ledger.KIND_SALE,
    "invoice_payment": ledger.KIND_INVOICE_PAYMENT,
    "refund": ledger.KIND_REFUND,
}
OPERATION_TYPE_OF_KIND = {kind: name for name, kind in OPERATION_TYPES.items()}
DEFAULT_PERIOD = "last_30_days"
# After primary -> secondary, transfers with the old communication still credit the wallet this long.
OLD_COMMUNICATION_GRACE = timedelta(days=365)
PAYMENT_TERM = timedelta(days=30)
MAX_LINES = 100
MAX_QUANTITY = 10_000
MAX_UNIT_CENTS = 10_000_000  # 100 000,00 € per unit is far above any school price


def utc(dt: datetime) -> datetime:
    """Datetimes read back from SQLite are naive: they were written in UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def rfc3339(dt: datetime) -> str:
    return utc(dt).isoformat()


def invoice_status(total_cents: int, paid_cents: int, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    if paid_cents >= total_cents:
        return "paid"
    return "partially_paid" if paid_cents > 0 else "unpaid"


def _lines(lines: Sequence, field: str = "lines") -> list[tuple[str, int, int, int]]:
    """(label, quantity, unit price, amount) of each line, or InvalidRequest naming the bad field."""
    if not lines:
        raise InvalidRequest("at least one line is required", fields={field: "at least one line"})
    if len(lines) > MAX_LINES:
        raise InvalidRequest("too many lines", fields={field: f"at most {MAX_LINES} lines"})
    out, errors = [], {}
    for i, line in enumerate(lines):
        label = (line.label or "").strip()
        if not label or len(label) > 300:
            errors[f"{field}[{i}].label"] = "required, at most 300 characters"
        if not 1 <= line.quantity <= MAX_QUANTITY:
            errors[f"{field}[{i}].quantity"] = f"1 to {MAX_QUANTITY}"
        if not 0 <= line.unit_price_cents <= MAX_UNIT_CENTS:
            errors[f"{field}[{i}].unit_price_cents"] = f"0 to {MAX_UNIT_CENTS}"
        out.append((label, line.quantity, line.unit_price_cents, line.quantity * line.unit_price_cents))
    if errors:
        raise InvalidRequest("some lines are not valid", fields=errors)
    if sum(a for *_, a in out) > MAX_CENTS:
        raise InvalidRequest("the total is too large", fields={field: "total too large"})
    return out


def _due_on(text: str, issued_on: date) -> date:
    if not text:
        return issued_on + PAYMENT_TERM
    try:
        due = date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("due_on must be a date", fields={"due_on": "YYYY-MM-DD"}) from None
    if due < issued_on:
        raise InvalidRequest("the due date is before the invoice date", fields={"due_on": "today or later"})
    return due


def _date(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date", fields={name: "YYYY-MM-DD"}) from None


class FinanceService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- helpers ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return utc(self.rt.clock())

    def _today(self) -> date:
        return self._now().astimezone(BRUSSELS).date()

    def _idempotent(self, scope: str, key: str, request, response_type, work, exclude: tuple[str, ...] = ()):
        req_hash = request_hash(request, exclude=("idempotency_key", *exclude))
        return run_idempotent(self.rt.db, idempotency_keys, scope, key, req_hash, response_type, work)

    def _period(self, f: pb.PeriodFilter) -> tuple[datetime, datetime]:
        first, last = _date(f.from_date, "from"), _date(f.to_date, "to")
        try:
            return resolve_period(f.period or DEFAULT_PERIOD, self._now(), first, last)
        except ValueError as e:
            raise InvalidRequest(str(e), fields={"period": str(e)}) from None

    @staticmethod
    def _settings_row(s: Session, school_id: str):
        return s.execute(select(school_settings).where(school_settings.c.school_id == school_id)).first()

    @staticmethod
    def _student(s: Session, who: Identity, student_id: str):
        row = s.execute(
            select(students).where(students.c.id == student_id, students.c.school_id == who.school_id)
        ).first()
        if row is None:
            raise NotFound("this student is unknown to finance")
        return row

    # -- students and wallets -------------------------------------------------------------------

    def list_wallets(self, who: Identity, student_id: str) -> pb.ListWalletsResponse:
        """The student's wallets, one per wallet type, with their balances and communications."""
        who.require_student(student_id)
        with self.rt.db.unit_of_work() as s:
            return pb.ListWalletsResponse(wallets=self._wallets(s, who.school_id, student_id))

    @staticmethod
    def _wallets(s: Session, school_id: str, student_id: str) -> list[pb.Wallet]:
        sc = structured_communications
        rows = s.execute(
            select(wallets, wallet_types.c.name, sc.c.digits)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .outerjoin(sc, and_(sc.c.wallet_id == wallets.c.id, sc.c.valid_until.is_(None)))
            .where(wallets.c.student_id == student_id, wallets.c.school_id == school_id)
            .order_by(wallet_types.c.position)
        ).all()
        return [
            pb.Wallet(
                id=r.id,
                student_id=r.student_id,
                name=r.name,
                balance_cents=r.balance_cents,
                structured_communication=format_ogm(r.digits),
                wallet_type_id=r.wallet_type_id,
            )
            for r in rows
        ]

    def open_student_wallets(
        self, who: Identity, req: pb.OpenStudentWalletsRequest
    ) -> pb.OpenStudentWalletsResponse:
        """Make sure the student has one wallet per wallet type (idempotent). A new level gives every
        wallet a new structured communication; the old one keeps crediting it for a while."""
        who.require_staff()
        if not req.student_id or len(req.student_id) > 36:
            raise InvalidRequest("student_id is required", fields={"student_id": "required"})
        if req.level not in LEVELS:
            raise InvalidRequest(
                "level must be primary or secondary", fields={"level": "primary | secondary"}
            )
        with self.rt.db.unit_of_work() as s:
            self.open_wallets_in(
                s,
                who.school_id,
                req.student_id,
                req.level,
                first_name=req.first_name,
                last_name=req.last_name,
                class_name=req.class_name,
            )
            return pb.OpenStudentWalletsResponse(wallets=self._wallets(s, who.school_id, req.student_id))

    def open_wallets_in(
        self,
        s: Session,
        school_id: str,
        student_id: str,
        level: str,
        *,
        first_name: str = "",
        last_name: str = "",
        class_name: str = "",
        update_existing: bool = True,
    ) -> int:
        """In the caller's transaction (the RPC, or the auth.student.created.v1 handler): record the
        student and open its missing wallets. Returns how many wallets were opened. With
        ``update_existing`` false (a possibly late event) a known student's level and names stay."""
        now = self._now()
        db.school_lock(s, school_id, "wallets")
        db.insert_ignoring_duplicate(
            s,
            students,
            id=student_id,
            school_id=school_id,
            level=level,
            first_name=first_name[:100],
            last_name=last_name[:100],
            class_name=class_name[:50],
            created_at=now,
        )
        student = s.execute(select(students).where(students.c.id == student_id)).one()
        if student.school_id != school_id:
            raise NotFound("not found")
        changes = (
            {}
            if not update_existing
            else {
                k: v[:100]
                for k, v in (("first_name", first_name), ("last_name", last_name), ("class_name", class_name))
                if v and v != getattr(student, k)
            }
        )
        if update_existing and level != student.level:
            changes["level"] = level
            self._renew_communications(s, school_id, student_id, level, now)
        if changes:
            s.execute(update(students).where(students.c.id == student_id).values(**changes))
        have = set(
            s.execute(select(wallets.c.wallet_type_id).where(wallets.c.student_id == student_id)).scalars()
        )
        types = (
            s.execute(select(wallet_types.c.id).where(wallet_types.c.school_id == school_id)).scalars().all()
        )
        opened = 0
        for type_id in types:
            if type_id not in have:
                self._open_wallet(s, school_id, student_id, type_id, level, now)
                opened += 1
        return opened

    @staticmethod
    def _open_wallet(
        s: Session, school_id: str, student_id: str, type_id: str, level: str, now: datetime
    ) -> None:
        wallet_id = str(uuid.uuid4())
        s.execute(
            wallets.insert().values(
                id=wallet_id,
                school_id=school_id,
                student_id=student_id,
                wallet_type_id=type_id,
                balance_cents=0,
                created_at=now,
            )
        )
        db.issue_communication(s, school_id, now, wallet_id=wallet_id, level=level)

    @staticmethod
    def _renew_communications(s: Session, school_id: str, student_id: str, level: str, now: datetime) -> None:
        sc = structured_communications
        wallet_ids = s.execute(select(wallets.c.id).where(wallets.c.student_id == student_id)).scalars().all()
        for wallet_id in wallet_ids:
            s.execute(
                update(sc)
                .where(sc.c.wallet_id == wallet_id, sc.c.valid_until.is_(None))
                .values(valid_until=now + OLD_COMMUNICATION_GRACE)
            )
            db.issue_communication(s, school_id, now, wallet_id=wallet_id, level=level)

    def create_wallet_type(
        self, who: Identity, req: pb.CreateWalletTypeRequest
    ) -> pb.CreateWalletTypeResponse:
        """A wallet type for the school, opened at once for every student finance knows. An existing
        name (any case) answers the existing type."""
        who.require_staff()
        name = " ".join((req.name or "").split())
        if not name or len(name) > 100:
            raise InvalidRequest(
                "name is required (at most 100 characters)", fields={"name": "1 to 100 characters"}
            )
        now = self._now()
        with self.rt.db.unit_of_work() as s:
            db.school_lock(s, who.school_id, "wallets")
            found = s.execute(
                select(wallet_types).where(
                    wallet_types.c.school_id == who.school_id, wallet_types.c.name_key == name.casefold()
                )
            ).first()
            if found is not None:
                return pb.CreateWalletTypeResponse(wallet_type=pb.WalletType(id=found.id, name=found.name))
            type_id = str(uuid.uuid4())
            position = s.execute(
                select(func.count())
                .select_from(wallet_types)
                .where(wallet_types.c.school_id == who.school_id)
            ).scalar_one()
            s.execute(
                wallet_types.insert().values(
                    id=type_id,
                    school_id=who.school_id,
                    name=name,
                    name_key=name.casefold(),
                    position=position,
                    created_at=now,
                )
            )
            known = s.execute(
                select(students.c.id, students.c.level).where(students.c.school_id == who.school_id)
            ).all()
            for st in known:
                self._open_wallet(s, who.school_id, st.id, type_id, st.level, now)
            return pb.CreateWalletTypeResponse(
                wallet_type=pb.WalletType(id=type_id, name=name), wallets_opened=len(known), created=True
            )

    def list_wallet_types(self, who: Identity) -> pb.ListWalletTypesResponse:
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(wallet_types)
                .where(wallet_types.c.school_id == who.school_id)
                .order_by(wallet_types.c.position)
            ).all()
        return pb.ListWalletTypesResponse(wallet_types=[pb.WalletType(id=r.id, name=r.name) for r in rows])

    # -- settings -------------------------------------------------------------------------------

    @staticmethod
    def _settings_pb(row) -> pb.Settings:
        if row is None:
            return pb.Settings()
        return pb.Settings(
            iban=row.iban,
            bic=row.bic,
            beneficiary=row.beneficiary,
            school_name=row.school_name,
            top_up_methods=[m for m in row.top_up_methods.split(",") if m],
            internal_wallet_payments=row.internal_wallet_payments,
            online_payment_for_orders=row.online_payment_for_orders,
        )

    def get_settings(self, who: Identity) -> pb.GetSettingsResponse:
        """The school's payment settings (what is not set yet: empty, every method off)."""
        with self.rt.db.unit_of_work() as s:
            return pb.GetSettingsResponse(settings=self._settings_pb(self._settings_row(s, who.school_id)))

    def update_settings(self, who: Identity, req: pb.UpdateSettingsRequest) -> pb.UpdateSettingsResponse:
        """Replace the school's payment settings: IBAN (checked), BIC, beneficiary, top-up methods,
        wallet payments of invoices, online payment of orders."""
        who.require_staff()
        new, errors = req.settings, {}
        try:
            iban = validate_iban(new.iban)
        except ValueError as e:
            errors["iban"] = str(e)
        try:
            bic = validate_bic(new.bic)
        except ValueError as e:
            errors["bic"] = str(e)
        beneficiary = " ".join(new.beneficiary.split())
        if not beneficiary or len(beneficiary) > 70:
            errors["beneficiary"] = "required, at most 70 characters"
        school_name = " ".join(new.school_name.split())
        if len(school_name) > 200:
            errors["school_name"] = "at most 200 characters"
        unknown = [m for m in new.top_up_methods if m not in TOP_UP_METHODS]
        if unknown:
            errors["top_up_methods"] = "each one of: " + ", ".join(TOP_UP_METHODS)
        if errors:
            raise InvalidRequest("the payment settings are not valid", fields=errors)
        values = {
            "iban": iban,
            "bic": bic,
            "beneficiary": beneficiary,
            "school_name": school_name,
            "top_up_methods": ",".join(m for m in TOP_UP_METHODS if m in new.top_up_methods),
            "internal_wallet_payments": new.internal_wallet_payments,
            "online_payment_for_orders": new.online_payment_for_orders,
            "updated_at": self._now(),
        }
        with self.rt.db.unit_of_work() as s:
            db.insert_ignoring_duplicate(s, school_settings, school_id=who.school_id, **values)
            s.execute(
                update(school_settings).where(school_settings.c.school_id == who.school_id).values(**values)
            )
            return pb.UpdateSettingsResponse(settings=self._settings_pb(self._settings_row(s, who.school_id)))

    # -- invoices -------------------------------------------------------------------------------

    def _load_invoice(self, s: Session, who: Identity, invoice_id: str, *, lock: bool = False):
        q = select(invoices).where(invoices.c.id == invoice_id, invoices.c.school_id == who.school_id)
        row = s.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFound("no such invoice")
        who.require_owner(row.student_id)
        return row

    @staticmethod
    def _invoices_pb(s: Session, rows: Iterable, *, with_lines: bool) -> list[pb.Invoice]:
        rows = list(rows)
        ids = [r.id for r in rows]
        if not ids:
            return []
        sc = structured_communications
        comms = dict(s.execute(select(sc.c.invoice_id, sc.c.digits).where(sc.c.invoice_id.in_(ids))).all())
        lines: dict[str, list] = {}
        if with_lines:
            for ln in s.execute(
                select(invoice_lines)
                .where(invoice_lines.c.invoice_id.in_(ids))
                .order_by(invoice_lines.c.position)
            ):
                lines.setdefault(ln.invoice_id, []).append(
                    ev.InvoiceLine(
                        label=ln.label,
                        quantity=ln.quantity,
                        unit_price_cents=ln.unit_price_cents,
                        amount_cents=ln.amount_cents,
                    )
                )
        return [
            pb.Invoice(
                id=r.id,
                student_id=r.student_id,
                number=r.number,
                title=r.title,
                issued_on=r.issued_on.isoformat(),
                due_on=r.due_on.isoformat(),
                total_cents=r.total_cents,
                paid_cents=r.paid_cents,
                status=r.status,
                structured_communication=format_ogm(comms[r.id]),
                lines=lines.get(r.id, []),
                credit_cents=r.credit_cents,
                credited_cents=r.credited_cents,
            )
            for r in rows
        ]

    def _invoice_pb(self, s: Session, invoice_id: str) -> pb.Invoice:
        row = s.execute(select(invoices).where(invoices.c.id == invoice_id)).one()
        return self._invoices_pb(s, [row], with_lines=True)[0]

    def _issue_invoice(
        self,
        s: Session,
        who: Identity,
        student_id: str,
        title: str,
        due_text: str,
        lines: Sequence,
        credit_cents: int,
        source: str,
    ) -> pb.Invoice:
        """Write the invoice, its lines, its communication, the receivable and the event, in ``s``."""
        title = " ".join((title or "").split())
        if not title or len(title) > 200:
            raise InvalidRequest(
                "title is required (at most 200 characters)", fields={"title": "1 to 200 characters"}
            )
        parsed = _lines(lines)
        subtotal = sum(a for *_, a in parsed)
        if not 0 <= credit_cents <= subtotal:
            raise InvalidRequest(
                "the credit is more than the lines' total", fields={"credit_cents": f"0 to {subtotal}"}
            )
        issued_on = self._today()
        due_on = _due_on(due_text, issued_on)
        student = self._student(s, who, student_id)
        now = self._now()
        total = subtotal - credit_cents
        invoice_id = str(uuid.uuid4())
        number = f"{issued_on.year}-{db.next_number(s, who.school_id, f'invoice:{issued_on.year}'):05d}"
        s.execute(
            invoices.insert().values(
                id=invoice_id,
                school_id=who.school_id,
                student_id=student_id,
                number=number,
                title=title,
                issued_on=issued_on,
                due_on=due_on,
                total_cents=total,
                credit_cents=credit_cents,
                paid_cents=0,
                credited_cents=0,
                status=invoice_status(total, 0, False),
                source=source,
                created_at=now,
            )
        )
        s.execute(
            invoice_lines.insert(),
            [
                {
                    "invoice_id": invoice_id,
                    "position": i,
                    "label": label,
                    "quantity": qty,
                    "unit_price_cents": unit,
                    "amount_cents": amount,
                }
                for i, (label, qty, unit, amount) in enumerate(parsed)
            ],
        )
        digits = db.issue_communication(s, who.school_id, now, invoice_id=invoice_id)
        if total > 0:  # an invoice the credit covers whole owes nothing: nothing to book
            db.book(
                s,
                who.school_id,
                ledger.issue_invoice(invoice_id, who.school_id, total),
                at=now,
                label=f"Facture {number} – {title}",
                student_id=student_id,
            )
        settings = self._settings_pb(self._settings_row(s, who.school_id))
        invoice = self._invoice_pb(s, invoice_id)
        self.rt.record(
            s,
            "finance.invoice.issued.v1",
            ev.InvoiceIssued(
                invoice_id=invoice_id,
                student_id=student_id,
                number=number,
                title=title,
                total_cents=total,
                due_on=due_on.isoformat(),
                structured_communication=digits,
                issued_on=issued_on.isoformat(),
                lines=invoice.lines,
                school_name=settings.school_name or settings.beneficiary,
                beneficiary=settings.beneficiary,
                iban=settings.iban,
                bic=settings.bic,
                student_name=" ".join(p for p in (student.first_name, student.last_name) if p),
                class_name=student.class_name,
                credit_cents=credit_cents,
            ),
            who.school_id,
        )
        return invoice

    def create_invoice(self, who: Identity, req: pb.CreateInvoiceRequest) -> pb.CreateInvoiceResponse:
        """Staff: invoice a student (lines, due date, optional credit); once per idempotency key."""
        who.require_staff()

        def work(s: Session) -> pb.CreateInvoiceResponse:
            return pb.CreateInvoiceResponse(
                invoice=self._issue_invoice(
                    s, who, req.student_id, req.title, req.due_on, req.lines, req.credit_cents, "staff"
                )
            )

        return self._idempotent(
            f"create-invoice:{who.account_id}",
            req.idempotency_key,
            req,
            pb.CreateInvoiceResponse,
            work,
        )

    def create_order_invoice(
        self, who: Identity, req: pb.CreateOrderInvoiceRequest
    ) -> pb.CreateOrderInvoiceResponse:
        """The orders service (with the ordering parent's identity): the order's invoice, the credit
        from returned books already taken off, due in 30 days; once per key (the order id), whoever
        retries it."""
        who.require_student(req.student_id)

        def work(s: Session) -> pb.CreateOrderInvoiceResponse:
            invoice = self._issue_invoice(
                s, who, req.student_id, req.title, "", req.lines, req.credit_cents, "order"
            )
            # When the school takes orders online, the payments capability answers a checkout here;
            # until then the parent pays from the balances page.
            return pb.CreateOrderInvoiceResponse(invoice=invoice, checkout_url="")

        return self._idempotent(
            f"order-invoice:{who.school_id}",
            req.idempotency_key,
            req,
            pb.CreateOrderInvoiceResponse,
            work,
            exclude=("return_url",),
        )

    def list_invoices(self, who: Identity, student_id: str, status: str = "") -> pb.ListInvoicesResponse:
        """The student's invoices, newest first, optionally of one status."""
        who.require_student(student_id)
        if status and status not in INVOICE_STATUSES:
            raise InvalidRequest("unknown status", fields={"status": " | ".join(INVOICE_STATUSES)})
        q = select(invoices).where(invoices.c.student_id == student_id, invoices.c.school_id == who.school_id)
        if status:
            q = q.where(invoices.c.status == status)
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(q.order_by(invoices.c.issued_on.desc(), invoices.c.number.desc())).all()
            return pb.ListInvoicesResponse(invoices=self._invoices_pb(s, rows, with_lines=False))

    def get_invoice(self, who: Identity, invoice_id: str) -> pb.GetInvoiceResponse:
        with self.rt.db.unit_of_work() as s:
            row = self._load_invoice(s, who, invoice_id)
            return pb.GetInvoiceResponse(invoice=self._invoices_pb(s, [row], with_lines=True)[0])

    def pay_invoice(self, who: Identity, req: pb.PayInvoiceRequest) -> pb.PayInvoiceResponse:
        """Settle an invoice ("Payer"). With ``method=wallet`` ("avec portefeuille interne"): only when
        the school allows it, from a wallet of the invoice's student whose balance covers the open
        amount; invoice and wallet are locked, so racing payments never overdraw. Once per key."""
        if req.method == "online":  # an online payment goes through the provider: StartInvoicePayment
            raise InvalidRequest(
                "online payments are started with StartInvoicePayment",
                fields={"method": "use StartInvoicePayment"},
            )
        if req.method != "wallet":
            raise InvalidRequest("method must be wallet or online", fields={"method": "wallet | online"})
        if not req.wallet_id:
            raise InvalidRequest("wallet_id is required", fields={"wallet_id": "required"})

        def work(s: Session) -> pb.PayInvoiceResponse:
            inv = self._load_invoice(s, who, req.invoice_id, lock=True)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            if inv.status == "cancelled":
                raise Conflict("this invoice was cancelled by a credit note", code="invoice_cancelled")
            if inv.status == "paid":
                raise Conflict("this invoice is already paid", code="already_paid")
            settings = self._settings_row(s, who.school_id)
            if settings is None or not settings.internal_wallet_payments:
                raise Conflict(
                    "the school does not take invoice payments from wallets", code="method_disabled"
                )
            # Read what the answer shows before locking the wallet: the wallet lock is what racing
            # payments queue on, so it is held for as few statements as possible.
            invoice = self._invoice_pb(s, inv.id)
            wallet = db.lock_wallet(s, who.school_id, req.wallet_id)
            if wallet is None or wallet.student_id != inv.student_id:
                raise NotFound("no such wallet")
            amount = inv.total_cents - inv.paid_cents
            try:
                balance_after = ledger.check_can_debit(wallet.balance_cents, amount)
            except ledger.InsufficientBalance as e:
                raise Conflict(
                    f"the wallet holds {e.balance_cents} cents, the invoice needs {e.amount_cents}",
                    code="insufficient_balance",
                ) from None
            now = self._now()
            tx_id = db.book(
                s,
                who.school_id,
                ledger.pay_invoice_from_wallet(inv.id, wallet.id, amount),
                at=now,
                label=f"Facture {inv.number} – {inv.title}",
                student_id=inv.student_id,
            )
            invoice.paid_cents = inv.paid_cents + amount
            invoice.status = invoice_status(inv.total_cents, invoice.paid_cents, False)
            s.execute(
                update(invoices)
                .where(invoices.c.id == inv.id)
                .values(paid_cents=invoice.paid_cents, status=invoice.status)
            )
            purpose = "order" if inv.source == "order" else "invoice"
            payment_id = db.insert_paid_payment(
                s,
                who.school_id,
                inv.student_id,
                purpose,
                "wallet",
                amount,
                now,
                tx_id,
                wallet_id=wallet.id,
                invoice_id=inv.id,
            )
            self.rt.record(
                s,
                "finance.payment.received.v1",
                ev.PaymentReceived(
                    payment_id=payment_id,
                    student_id=inv.student_id,
                    amount_cents=amount,
                    method="wallet",
                    purpose=purpose,
                    wallet_id=wallet.id,
                    invoice_id=inv.id,
                    balance_after_cents=balance_after,
                    wallet_name=wallet.name,
                    invoice_number=inv.number,
                ),
                who.school_id,
            )
            return pb.PayInvoiceResponse(
                invoice=invoice, payment_id=payment_id, wallet_balance_cents=balance_after
            )

        return self._idempotent(
            f"pay-invoice:{who.account_id}", req.idempotency_key, req, pb.PayInvoiceResponse, work
        )

    @staticmethod
    def _wallet_name(s: Session, type_id: str) -> str:
        return s.execute(select(wallet_types.c.name).where(wallet_types.c.id == type_id)).scalar_one()

    def issue_credit_note(self, who: Identity, req: pb.IssueCreditNoteRequest) -> pb.IssueCreditNoteResponse:
        """Staff: a credit note cancels the invoice and reverses what was still due on it (what was
        already paid stays paid). A paid or cancelled invoice is refused."""
        who.require_staff()
        reason = " ".join((req.reason or "").split())
        if not reason or len(reason) > 500:
            raise InvalidRequest(
                "a reason is required (at most 500 characters)", fields={"reason": "1 to 500 characters"}
            )

        def work(s: Session) -> pb.IssueCreditNoteResponse:
            inv = self._load_invoice(s, who, req.invoice_id, lock=True)
            if inv.status == "cancelled":
                raise Conflict("this invoice is already cancelled", code="invoice_cancelled")
            if inv.status == "paid":
                raise Conflict("this invoice is paid: nothing is due to cancel", code="already_paid")
            now = self._now()
            year = now.astimezone(BRUSSELS).year
            number = f"NC{year}-{db.next_number(s, who.school_id, f'credit_note:{year}'):05d}"
            open_cents = inv.total_cents - inv.paid_cents
            db.book(
                s,
                who.school_id,
                ledger.credit_note(inv.id, who.school_id, open_cents),
                at=now,
                label=f"Note de crédit {number} – facture {inv.number}",
                student_id=inv.student_id,
            )
            note_id = str(uuid.uuid4())
            s.execute(
                credit_notes.insert().values(
                    id=note_id,
                    school_id=who.school_id,
                    invoice_id=inv.id,
                    number=number,
                    reason=reason,
                    credited_cents=open_cents,
                    created_at=now,
                )
            )
            s.execute(
                update(invoices)
                .where(invoices.c.id == inv.id)
                .values(status="cancelled", credited_cents=open_cents)
            )
            student = self._student(s, who, inv.student_id)
            settings = self._settings_pb(self._settings_row(s, who.school_id))
            self.rt.record(
                s,
                "finance.invoice.cancelled.v1",
                ev.InvoiceCancelled(
                    invoice_id=inv.id,
                    student_id=inv.student_id,
                    credit_note_id=note_id,
                    reason=reason,
                    number=inv.number,
                    title=inv.title,
                    credited_cents=open_cents,
                    school_name=settings.school_name or settings.beneficiary,
                    student_name=" ".join(p for p in (student.first_name, student.last_name) if p),
                    credit_note_number=number,
                ),
                who.school_id,
            )
            return pb.IssueCreditNoteResponse(
                credit_note=pb.CreditNote(
                    id=note_id,
                    number=number,
                    invoice_id=inv.id,
                    reason=reason,
                    credited_cents=open_cents,
                    created_at=rfc3339(now),
                ),
                invoice=self._invoice_pb(s, inv.id),
            )

        return self._idempotent(
            f"credit-note:{who.account_id}",
            req.idempotency_key,
            req,
            pb.IssueCreditNoteResponse,
            work,
        )

    # -- wallet money ---------------------------------------------------------------------------

    def record_top_up(self, who: Identity, req: pb.RecordTopUpRequest) -> pb.RecordTopUpResponse:
        """Staff: cash handed over at the office credits the wallet (online and transfer top-ups come
        through the payment provider and bank statements)."""
        who.require_staff()
        method = req.method or "cash"
        if method != "cash":
            raise InvalidRequest("staff record cash top-ups only", fields={"method": "cash"})
        if not 1 <= req.amount_cents <= MAX_UNIT_CENTS:
            raise InvalidRequest(
                "amount_cents must be positive", fields={"amount_cents": f"1 to {MAX_UNIT_CENTS}"}
            )
        label = " ".join((req.label or "").split())[:300] or "Rechargement en espèces"

        def work(s: Session) -> pb.RecordTopUpResponse:
            wallet = db.lock_wallet(s, who.school_id, req.wallet_id)
            if wallet is None:
                raise NotFound("no such wallet")
            now = self._now()
            tx_id = db.book(
                s,
                who.school_id,
                ledger.top_up(wallet.id, who.school_id, req.amount_cents, method),
                at=now,
                label=label,
                student_id=wallet.student_id,
            )
            payment_id = db.insert_paid_payment(
                s,
                who.school_id,
                wallet.student_id,
                "top_up",
                method,
                req.amount_cents,
                now,
                tx_id,
                wallet_id=wallet.id,
            )
            balance = wallet.balance_cents + req.amount_cents
            self.rt.record(
                s,
                "finance.payment.received.v1",
                ev.PaymentReceived(
                    payment_id=payment_id,
                    student_id=wallet.student_id,
                    amount_cents=req.amount_cents,
                    method=method,
                    purpose="top_up",
                    wallet_id=wallet.id,
                    balance_after_cents=balance,
                    wallet_name=wallet.name,
                ),
                who.school_id,
            )
            return pb.RecordTopUpResponse(payment_id=payment_id, balance_cents=balance)

        return self._idempotent(
            f"top-up:{who.account_id}", req.idempotency_key, req, pb.RecordTopUpResponse, work
        )

    def record_sale(self, who: Identity, req: pb.RecordSaleRequest) -> pb.RecordSaleResponse:
        """Staff: a purchase at school paid from the student's wallet (the sales journal); refused with
        insufficient_balance when the wallet does not cover it."""
        who.require_staff()
        parsed = _lines(req.lines)
        amount = sum(a for *_, a in parsed)
        if amount <= 0:
            raise InvalidRequest("a sale must cost something", fields={"lines": "total above 0"})
        label = ", ".join(f"{lb} ×{q}" if q > 1 else lb for lb, q, _u, _a in parsed)[:300]

        def work(s: Session) -> pb.RecordSaleResponse:
            wallet = db.lock_wallet(s, who.school_id, req.wallet_id)
            if wallet is None or wallet.student_id != req.student_id:
                raise NotFound("no such wallet for this student")
            try:
                balance_after = ledger.check_can_debit(wallet.balance_cents, amount)
            except ledger.InsufficientBalance as e:
                raise Conflict(
                    f"the wallet holds {e.balance_cents} cents, the sale costs {e.amount_cents}",
                    code="insufficient_balance",
                ) from None
            now = self._now()
            tx_id = db.book(
                s,
                who.school_id,
                ledger.sale(wallet.id, who.school_id, amount),
                at=now,
                label=label,
                student_id=wallet.student_id,
            )
            sale_id = str(uuid.uuid4())
            s.execute(
                sales.insert().values(
                    id=sale_id,
                    school_id=who.school_id,
                    student_id=wallet.student_id,
                    wallet_id=wallet.id,
                    transaction_id=tx_id,
                    amount_cents=amount,
                    recorded_by=who.account_id,
                    created_at=now,
                )
            )
            s.execute(
                sale_lines.insert(),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "sale_id": sale_id,
                        "position": i,
                        "label": lb,
                        "quantity": q,
                        "unit_price_cents": u,
                        "amount_cents": a,
                    }
                    for i, (lb, q, u, a) in enumerate(parsed)
                ],
            )
            self.rt.record(
                s,
                "finance.sale.recorded.v1",
                ev.SaleRecorded(
                    sale_id=sale_id,
                    student_id=wallet.student_id,
                    wallet_id=wallet.id,
                    wallet_name=wallet.name,
                    amount_cents=amount,
                    balance_after_cents=balance_after,
                    label=label,
                ),
                who.school_id,
            )
            return pb.RecordSaleResponse(id=sale_id, balance_cents=balance_after, amount_cents=amount)

        return self._idempotent(
            f"sale:{who.account_id}", req.idempotency_key, req, pb.RecordSaleResponse, work
        )

    # -- reports --------------------------------------------------------------------------------

    def list_operations(self, who: Identity, req: pb.ListOperationsRequest) -> pb.ListOperationsResponse:
        """Every movement of the student's wallets in the period, newest first, optionally of one type
        and one payment method; amounts signed (+ in, − out)."""
        who.require_student(req.student_id)
        if req.type and req.type not in (*OPERATION_TYPES, "adjustment"):
            raise InvalidRequest(
                "unknown operation type", fields={"type": " | ".join([*OPERATION_TYPES, "adjustment"])}
            )
        if req.payment_method and req.payment_method not in PAYMENT_METHODS:
            raise InvalidRequest(
                "unknown payment method", fields={"payment_method": " | ".join(PAYMENT_METHODS)}
            )
        start, end = self._period(req.period)
        t, p = ledger_transactions, ledger_postings
        with self.rt.db.unit_of_work() as s:
            names = {
                w.id: w.name
                for w in s.execute(
                    select(wallets.c.id, wallet_types.c.name)
                    .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
                    .where(wallets.c.student_id == req.student_id, wallets.c.school_id == who.school_id)
                )
            }
            if req.wallet_id and req.wallet_id not in names:
                raise NotFound("no such wallet")
            accounts = [ledger.wallet_account(w) for w in ([req.wallet_id] if req.wallet_id else names)]
            q = (
                select(p.c.id, p.c.account, p.c.amount_cents, t.c.kind, t.c.method, t.c.label, t.c.created_at)
                .join(t, t.c.id == p.c.transaction_id)
                .where(p.c.account.in_(accounts), t.c.created_at >= start, t.c.created_at < end)
                .order_by(t.c.created_at.desc(), p.c.id.desc())
            )
            if req.type == "adjustment":
                q = q.where(t.c.kind.not_in(list(OPERATION_TYPES.values())))
            elif req.type:
                q = q.where(t.c.kind == OPERATION_TYPES[req.type])
            if req.payment_method:
                q = q.where(t.c.method == req.payment_method)
            rows = s.execute(q).all() if accounts else []
        ops = []
        for r in rows:
            wallet_id = r.account[len(db.WALLET_PREFIX) :]
            ops.append(
                pb.Operation(
                    id=str(r.id),
                    at=rfc3339(r.created_at),
                    type=OPERATION_TYPE_OF_KIND.get(r.kind, "adjustment"),
                    label=r.label,
                    amount_cents=r.amount_cents,
                    payment_method=r.method or "",
                    wallet_id=wallet_id,
                    wallet_name=names[wallet_id],
                )
            )
        return pb.ListOperationsResponse(operations=ops, starts_at=rfc3339(start), ends_at=rfc3339(end))

    def list_sales(self, who: Identity, req: pb.ListSalesRequest) -> pb.ListSalesResponse:
        """The sales journal in the period, newest first: a student's purchases line by line (staff
        without a student: the whole school's)."""
        if req.student_id or not who.is_staff:
            who.require_student(req.student_id)
        start, end = self._period(req.period)
        sl = sale_lines
        q = (
            select(
                sl.c.id,
                sl.c.sale_id,
                sl.c.label,
                sl.c.quantity,
                sl.c.unit_price_cents,
                sl.c.amount_cents,
                sales.c.created_at,
                sales.c.wallet_id,
                sales.c.student_id,
                wallet_types.c.name,
            )
            .join(sales, sales.c.id == sl.c.sale_id)
            .join(wallets, wallets.c.id == sales.c.wallet_id)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .where(sales.c.school_id == who.school_id, sales.c.created_at >= start, sales.c.created_at < end)
            .order_by(sales.c.created_at.desc(), sales.c.id, sl.c.position)
        )
        if req.student_id:
            q = q.where(sales.c.student_id == req.student_id)
        if req.wallet_id:
            q = q.where(sales.c.wallet_id == req.wallet_id)
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(q).all()
        return pb.ListSalesResponse(
            lines=[
                pb.SaleLine(
                    id=r.id,
                    sale_id=r.sale_id,
                    at=rfc3339(r.created_at),
                    label=r.label,
                    quantity=r.quantity,
                    unit_price_cents=r.unit_price_cents,
                    amount_cents=r.amount_cents,
                    wallet_id=r.wallet_id,
                    wallet_name=r.name,
                    student_id=r.student_id,
                )
                for r in rows
            ],
            starts_at=rfc3339(start),
            ends_at=rfc3339(end),
        )


def ledger_sums(s: Session, school_id: str | None = None) -> dict[str, int]:
    """Every account's balance from the postings (for invariant checks and reconciliation)."""
    t, p = ledger_transactions, ledger_postings
    q = (
        select(p.c.account, func.sum(p.c.amount_cents))
        .join(t, t.c.id == p.c.transaction_id)
        .group_by(p.c.account)
    )
    if school_id:
        q = q.where(t.c.school_id == school_id)
    return {account: int(total) for account, total in s.execute(q).all()}
