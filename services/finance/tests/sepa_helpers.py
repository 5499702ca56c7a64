"""What the SEPA direct-debit tests share (issue #18): the school set up to collect (creditor id),
mandates signed, batches built and their files, statements crediting or returning them, and the
events finance published."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from google.protobuf.message import Message
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2 as spb
from kit.identity import Identity
from services.finance.db import outbox
from services.finance.domain import pain008
from services.finance.tests.conftest import MUM, STAFF, World, reauthenticated, settings
from services.finance.tests.statement_builders import SCHOOL_IBAN, Mv, build_camt053, build_coda
from services.finance.use_cases.auto_top_ups import AutoTopUps
from services.finance.use_cases.direct_debits import DirectDebits
from services.finance.use_cases.mandates import Mandates

CREDITOR_ID = "BE69ZZZ050D000000008"
PARENT_IBAN = "BE71 0961 2345 6769"  # a Belgian account (BIC GKCCBEBB derived from it)
EVENT_TYPES: dict[str, type[Message]] = {
    "finance.mandate.signed.v1": ev.MandateSigned,
    "finance.mandate.revoked.v1": ev.MandateRevoked,
    "finance.auto_top_up.triggered.v1": ev.AutoTopUpTriggered,
    "finance.direct_debit.collected.v1": ev.DirectDebitCollected,
    "finance.direct_debit.returned.v1": ev.DirectDebitReturned,
    "finance.direct_debit.scheduled.v1": ev.DirectDebitScheduled,
    "finance.payment.received.v1": ev.PaymentReceived,
}


def published(rt, name: str) -> list:
    """The events of ``name`` in the outbox, in order."""
    out = []
    with rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body).where(outbox.c.event_name == name).order_by(outbox.c.id)
        ).scalars():
            msg = EVENT_TYPES[name]()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(msg)
            out.append(msg)
    return out


class Sepa:
    """A ``World`` whose school collects by direct debit (creditor id set, SCHOOL_IBAN as its account)."""

    def __init__(self, world: World, *, creditor_id: str = CREDITOR_ID) -> None:
        self.world = world
        self.rt = world.finance.settings.rt
        world.finance.settings.update_settings(
            reauthenticated(STAFF, self.rt), settings(iban=SCHOOL_IBAN, creditor_id=creditor_id)
        )
        self.mandates = Mandates(self.rt)
        self.auto = AutoTopUps(self.rt)
        self.dd = DirectDebits(self.rt)
        self.statements = 0  # the statement files written so far (their numbers)

    def sign(self, who: Identity = MUM, iban: str = PARENT_IBAN, key: str = "", **kw) -> spb.Mandate:
        req = spb.SignMandateRequest(
            iban=iban,
            holder_name=kw.pop("holder_name", "Marie Dupont"),
            accept=kw.pop("accept", True),
            signed_from=kw.pop("signed_from", "203.0.113.7"),
            user_agent=kw.pop("user_agent", "Firefox/140"),
            language=kw.pop("language", "fr"),
            idempotency_key=key,
        )
        return self.mandates.sign_mandate(who, req).mandate

    def set_auto(
        self, wallet_id: str, threshold: int, amount: int, who: Identity = MUM, enabled: bool = True
    ):
        return self.auto.set_auto_top_up(
            who,
            spb.SetAutoTopUpRequest(
                wallet_id=wallet_id, enabled=enabled, threshold_cents=threshold, amount_cents=amount
            ),
        ).auto_top_up

    def collection_day(self, days: int = 3) -> date:
        return self.rt.clock().date() + timedelta(days=days)

    def batch(self, key: str = "", days: int = 3, due_by: str = "") -> spb.DirectDebitBatch:
        return self.dd.create_batch(
            STAFF,
            spb.CreateDirectDebitBatchRequest(
                collection_date=self.collection_day(days).isoformat(),
                invoices_due_by=due_by,
                idempotency_key=key,
            ),
        ).batch

    def items(self, batch_id: str) -> list[spb.DirectDebitItem]:
        return list(self.dd.get_batch(STAFF, spb.GetDirectDebitBatchRequest(batch_id=batch_id)).batch.items)

    def get(self, batch_id: str) -> spb.DirectDebitBatch:
        return self.dd.get_batch(STAFF, spb.GetDirectDebitBatchRequest(batch_id=batch_id)).batch

    def file(self, batch_id: str) -> bytes:
        got = self.dd.get_file(STAFF, spb.GetDirectDebitFileRequest(batch_id=batch_id))
        pain008.validate(got.content)
        return got.content

    def import_file(self, content: bytes, filename: str = "extrait.cod") -> pb.StatementImport:
        return self.world.finance.statements.import_statement(
            STAFF, pb.ImportStatementRequest(content=content, filename=filename)
        ).result

    def statement(self, moves: list, fmt: str = "coda", n: int | None = None) -> bytes:
        """A statement file holding ``moves``: the ``n``-th of the account (each call the next one
        unless given: the same ``n`` writes the same file again)."""
        if n is None:
            self.statements += 1
            n = self.statements

        def ref(m, i: int):
            if isinstance(m, tuple):  # a batch entry: its details keep the builder's references
                return m
            return replace(m, bank_reference=f"REF{n:04d}{i:03d}")

        moves = [ref(m, i) for i, m in enumerate(moves)]
        if fmt == "coda":
            return build_coda(moves, statement_number=n)
        return build_camt053(moves, statement_id=f"STMT-{n}")

    def credit_batch(
        self, batch: spb.DirectDebitBatch, fmt: str = "coda", n: int | None = None, **mv
    ) -> pb.StatementImport:
        """The bank's credit of the whole batch, its message id in the communication."""
        move = Mv(batch.total_cents, free_text=f"SEPA DD {batch.message_id}", counterparty_name="BANK", **mv)
        return self.import_file(self.statement([move], fmt, n))

    def return_item(
        self, item: spb.DirectDebitItem, reason: str = "AM04", fmt: str = "coda", n: int | None = None, **mv
    ) -> pb.StatementImport:
        """The bank's return of one collection (an R-transaction)."""
        move = Mv(
            item.amount_cents,
            direction="debit",
            free_text="RETOUR DOMICILIATION",
            end_to_end_id=item.end_to_end_id,
            r_transaction="2",
            return_reason=reason,
            **mv,
        )
        return self.import_file(self.statement([move], fmt, n))

    def wallet(self, student: str, name: str = "Repas") -> pb.Wallet:
        listed = self.world.finance.wallets.list_wallets(STAFF, student).wallets
        return next(w for w in listed if w.name == name)

    def invoice(self, invoice_id: str) -> pb.Invoice:
        return self.world.finance.invoices.get_invoice(STAFF, invoice_id).invoice
