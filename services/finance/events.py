"""What the finance service publishes: each event's routing key written once, beside its message.

Each builder answers an :class:`Event` (routing key, message); :func:`record` writes events into the
outbox of the caller's transaction, and a statement import gathers thousands of them for
``kit.bus.record_events``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from google.protobuf.message import Message
from sqlalchemy import Table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from kit import bus
from kit.service import Runtime


class Event(NamedTuple):
    routing_key: str
    message: Message


class Recorder(Protocol):
    """Where events go: the runtime (its outbox, at once) or a :class:`Pending` (together, later)."""

    def record(self, session: Session, name: str, payload: Message, school_id: str) -> Any: ...


def record(rt: Recorder, s: Session, school_id: str, event: Event) -> None:
    """Write ``event`` into the outbox in the caller's transaction; the relay publishes it after commit."""
    rt.record(s, event.routing_key, event.message, school_id)


class Pending:
    """The events and audit entries of one unit of work that moves money, written to the outbox with
    one multi-row INSERT by :meth:`flush` (in the order they were recorded) instead of one INSERT each.
    It is a ``kit.audit.record`` target (it has the runtime's ``spec`` and ``clock``) and a
    :class:`Recorder`. Whatever was not flushed when the work ends is lost: call :meth:`flush` last."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.spec = rt.spec
        self._rows: list[dict[str, Any]] = []

    def clock(self) -> datetime:
        return self.rt.clock()

    def record(self, session: Session, name: str, payload: Message, school_id: str) -> envelope_pb2.Envelope:
        env = bus.make_envelope(name, payload, school_id)
        self._rows.append(
            {
                "event_id": env.event_id,
                "event_name": name,
                "body": env.SerializeToString(),
                "created_at": datetime.now(UTC),
            }
        )
        return env

    def flush(self, s: Session) -> None:
        """Write what was recorded into the outbox, in the caller's transaction: one statement."""
        if self._rows:
            params = {f"{k}{i}": v for i, row in enumerate(self._rows) for k, v in row.items()}
            # On PostgreSQL the same statement wakes the relays at the commit (kit.bus).
            s.execute(_outbox_statement(self.spec.outbox, len(self._rows), bus.claim_wake(s)), params)
            self._rows = []


_OUTBOX_STATEMENTS: dict[tuple[str, int, bool], TextClause] = {}


def _outbox_statement(outbox: Table, rows: int, wake: bool = False) -> TextClause:
    """A multi-row INSERT of ``rows`` outbox rows (parameters ``event_id0``, ``body0``, ...), as text
    built once per number of rows: SQLAlchemy does not cache a multi-row ``insert().values([...])``
    (it compiles it again on every call)."""
    key = (outbox.name, rows, wake)
    found = _OUTBOX_STATEMENTS.get(key)
    if found is None:
        columns = ("event_id", "event_name", "body", "created_at")
        values = ", ".join("(" + ", ".join(f":{c}{i}" for c in columns) + ")" for i in range(rows))
        insert = f"INSERT INTO {outbox.name} ({', '.join(columns)}) VALUES {values}"  # noqa: S608 - placeholders only
        found = _OUTBOX_STATEMENTS[key] = text(bus.WAKE_SQL.format(insert=insert) if wake else insert)
    return found


def record_many(rt: Runtime, s: Session, school_id: str, batch: list[Event]) -> None:
    """:func:`record` for thousands of events at once (one multi-row insert, in order)."""
    bus.record_events(s, rt.spec.outbox, [(e.routing_key, e.message, school_id) for e in batch])


def invoice_issued(**fields) -> Event:
    """An invoice was issued (documents renders it, notifications mail it): ``ev.InvoiceIssued``'s
    fields."""
    return Event("finance.invoice.issued.v1", ev.InvoiceIssued(**fields))


def invoice_cancelled(**fields) -> Event:
    """A credit note cancelled an invoice: ``ev.InvoiceCancelled``'s fields."""
    return Event("finance.invoice.cancelled.v1", ev.InvoiceCancelled(**fields))


def payment_received(
    payment_id: str,
    student_id: str,
    amount_cents: int,
    method: str,
    purpose: str,
    *,
    wallet_id: str = "",
    invoice_id: str = "",
    balance_after: int | None = None,
    wallet_name: str = "",
    invoice_number: str = "",
) -> Event:
    """Money was booked for a student: a wallet top-up or an invoice payment (``balance_after``: the
    wallet's balance afterwards, when a wallet moved)."""
    msg = ev.PaymentReceived(
        payment_id=payment_id,
        student_id=student_id,
        amount_cents=amount_cents,
        method=method,
        purpose=purpose,
        wallet_id=wallet_id,
        invoice_id=invoice_id,
        wallet_name=wallet_name,
        invoice_number=invoice_number,
    )
    if balance_after is not None:
        msg.balance_after_cents = balance_after
    return Event("finance.payment.received.v1", msg)


def payment_reversed(**fields) -> Event:
    """A refund or chargeback of an online payment was booked, with where its money was taken back:
    ``ev.PaymentReversed``'s fields."""
    return Event("finance.payment.reversed.v1", ev.PaymentReversed(**fields))


def sale_recorded(**fields) -> Event:
    """A purchase at school was paid from a wallet: ``ev.SaleRecorded``'s fields."""
    return Event("finance.sale.recorded.v1", ev.SaleRecorded(**fields))


def iban_changed(**fields) -> Event:
    """The school's IBAN changed (notifications mail every manager): ``ev.IbanChanged``'s fields, the
    IBANs masked."""
    return Event("finance.settings.iban_changed.v1", ev.IbanChanged(**fields))


def refund_created(**fields) -> Event:
    """A manager refunded a wallet to a bank account (debited now, paid by a credit-transfer batch):
    ``ev.RefundCreated``'s fields, the IBAN masked."""
    return Event("finance.refund.created.v1", ev.RefundCreated(**fields))


# --- SEPA direct debit (issue #18) -------------------------------------------------------------------


def mandate_signed(**fields) -> Event:
    """A parent signed an e-mandate (documents files its PDF copy): ``ev.MandateSigned``'s fields."""
    return Event("finance.mandate.signed.v1", ev.MandateSigned(**fields))


def mandate_revoked(**fields) -> Event:
    """A mandate was revoked (by the parent, staff or a bank's return): ``ev.MandateRevoked``'s fields."""
    return Event("finance.mandate.revoked.v1", ev.MandateRevoked(**fields))


def auto_top_up_triggered(**fields) -> Event:
    """A wallet fell under its automatic top-up threshold (notifications mails the parents):
    ``ev.AutoTopUpTriggered``'s fields."""
    return Event("finance.auto_top_up.triggered.v1", ev.AutoTopUpTriggered(**fields))


def direct_debit_scheduled(collections: list[ev.ScheduledCollection] | None = None, **fields) -> Event:
    """A new batch will collect on a mandate (SEPA's pre-notification; notifications tells the
    parents): ``ev.DirectDebitScheduled``'s fields, its ``items`` the ``collections`` and
    ``total_cents`` their sum."""
    items = list(collections or ())
    msg = ev.DirectDebitScheduled(items=items, total_cents=sum(i.amount_cents for i in items), **fields)
    return Event("finance.direct_debit.scheduled.v1", msg)


def direct_debit_collected(**fields) -> Event:
    """The bank credited a batch item: ``ev.DirectDebitCollected``'s fields."""
    return Event("finance.direct_debit.collected.v1", ev.DirectDebitCollected(**fields))


def direct_debit_returned(**fields) -> Event:
    """The bank returned a collected debit (notifications tells the parents):
    ``ev.DirectDebitReturned``'s fields."""
    return Event("finance.direct_debit.returned.v1", ev.DirectDebitReturned(**fields))
