"""What the family-data tests share (issue #21): two families of one school with data in every corner of
finance (wallets, a sale, an invoice paid from the wallet and a childcare one paid by the parent, a bank
transfer on the wallet and one that named nothing from the family's IBAN, a mandate, a refund in a
pain.001 file, a tax certificate), each with names found nowhere else, and the auth events that erase one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import sepa_pb2 as spb
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit import bus
from kit.identity import Identity
from kit.service import make_consumer
from services.finance.db import outbox
from services.finance.domain import ledger
from services.finance.tests.conftest import SCHOOL, STAFF, World, reauthenticated, settings
from services.finance.tests.statement_builders import SCHOOL_IBAN, Mv, build_camt053
from services.finance.use_cases import common
from services.finance.use_cases.mandates import Mandates
from services.finance.use_cases.refunds import Refunds
from services.finance.use_cases.tax_certificates import TaxCertificates

CREDITOR_ID = "BE69ZZZ050D000000008"
YEAR = 2024  # a year whose legal daily maximum the code knows (tax certificates)


@dataclass(frozen=True)
class Person:
    student_id: str
    first_name: str
    last_name: str
    parent_id: str
    parent_first: str
    iban: str
    child_nn: str
    parent_nn: str

    @property
    def parent(self) -> Identity:
        return Identity(
            account_id=self.parent_id, role="parent", school_id=SCHOOL, students={self.student_id: "4A"}
        )

    @property
    def names(self) -> list[str]:
        """What must not be found anywhere once the family is erased (the accent-less spelling is how
        SEPA files and bank statements write it)."""
        plain = self.first_name.replace("é", "e")
        return [self.first_name, plain, self.last_name, self.parent_first]

    @property
    def numbers(self) -> list[str]:
        spaced = " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))
        return [self.iban, spaced, self.child_nn, self.parent_nn]


ZEPH = Person(
    student_id="5a1d0000-0000-4000-8000-00000000ze01",
    first_name="Zéphyrine",
    last_name="Quorndel",
    parent_id="5a1d0000-0000-4000-8000-00000000ma01",
    parent_first="Marguerite",
    iban="BE62510007547061",
    child_nn="16021733344",
    parent_nn="86072455566",
)
BARNABE = Person(
    student_id="5a1d0000-0000-4000-8000-00000000ba02",
    first_name="Barnabé",
    last_name="Vélocourt",
    parent_id="5a1d0000-0000-4000-8000-00000000ot02",
    parent_first="Ottilie",
    iban="BE43068999999501",
    child_nn="15112233377",
    parent_nn="85010199988",
)


@dataclass
class Family:
    person: Person
    repas: str  # wallet ids
    activites: str
    invoice: pb.Invoice
    childcare: pb.Invoice
    mandate: spb.Mandate
    refund: spb.Refund


def _leaves(rt, student_id: str, on: date) -> None:
    said = auth_events.StudentUpdated(
        student_id=student_id, status="left", left_on=on.isoformat(), class_name="4A", level="primary"
    )
    body = bus.make_envelope("auth.student.updated.v1", said, SCHOOL).SerializeToString()
    assert make_consumer(rt).handle(body) == "handled"


def _statement(finance, rt, moves: list[Mv], n: int) -> None:
    content = build_camt053(moves, statement_id=f"STMT-FAM-{n}", created_on=rt.clock().date())
    result = finance.statements.import_statement(
        STAFF, pb.ImportStatementRequest(content=content, filename=f"extrait-{n}.xml")
    ).result
    assert (result.credited, result.unmatched, result.duplicates) == (1, 1, 0)


def _family(world: World, rt, p: Person, n: int) -> Family:
    finance = world.finance
    opened = finance.wallets.open_student_wallets(
        STAFF,
        pb.OpenStudentWalletsRequest(
            student_id=p.student_id,
            level="primary",
            first_name=p.first_name,
            last_name=p.last_name,
            class_name="4A",
        ),
    ).wallets
    wallets = {w.name: w for w in opened}
    repas, activites = wallets["Repas"], wallets["Activités"]
    finance.operations.record_top_up(
        STAFF, pb.RecordTopUpRequest(wallet_id=repas.id, amount_cents=20000, method="cash")
    )
    finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id=p.student_id,
            wallet_id=repas.id,
            lines=[
                pb.SaleLineInput(
                    label=f"Gâteau d'anniversaire de {p.first_name}", quantity=1, unit_price_cents=450
                )
            ],
        ),
    )
    title = f"Classe de neige – {p.first_name} {p.last_name}"
    invoice = finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id=p.student_id,
            title=title,
            lines=[pb.InvoiceLineInput(label=f"Séjour de {p.first_name}", quantity=1, unit_price_cents=3000)],
        ),
    ).invoice
    finance.wallet_payments.pay_invoice(
        STAFF, pb.PayInvoiceRequest(invoice_id=invoice.id, method="wallet", wallet_id=repas.id)
    )
    childcare = finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id=p.student_id,
            title="Garderie, trimestre 1",
            lines=[
                pb.InvoiceLineInput(
                    label="Garderie du soir", quantity=1, unit_price_cents=8000, childcare=True, days=10
                )
            ],
        ),
    ).invoice
    with rt.db.unit_of_work() as s:
        common.credit_invoice(
            rt, s, SCHOOL, childcare.id, 8000, "online", common.now(rt),
            counter_account=ledger.psp_clearing_account(SCHOOL), created_by=p.parent_id,
        )  # fmt: skip
    # a transfer naming the wallet, and one naming nothing, both from the family's account
    comm = (
        next(w.structured_communication for w in opened if w.id == activites.id).strip("+").replace("/", "")
    )
    payer = f"{p.parent_first.upper()} {p.last_name.upper()}".replace("É", "E")
    _statement(
        finance,
        rt,
        [
            Mv(
                2500,
                ogm=comm,
                counterparty_name=payer,
                counterparty_iban=p.iban,
                booked_on=rt.clock().date(),
                bank_reference=f"FAM{n}-1",
            ),
            Mv(
                1200,
                free_text=f"repas {p.first_name}".replace("é", "e"),
                counterparty_name=payer,
                counterparty_iban=p.iban,
                booked_on=rt.clock().date(),
                bank_reference=f"FAM{n}-2",
            ),
        ],
        n,
    )
    mandate = (
        Mandates(rt)
        .sign_mandate(
            p.parent,
            spb.SignMandateRequest(
                iban=p.iban,
                holder_name=f"{p.parent_first} {p.last_name}",
                accept=True,
                signed_from="203.0.113.7",
                user_agent="Firefox/140",
                language="fr",
            ),
        )
        .mandate
    )
    certs = TaxCertificates(rt).generate(
        STAFF,
        tpb.GenerateTaxCertificatesRequest(
            year=YEAR,
            children=[
                tpb.TaxChild(
                    student_id=p.student_id,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    birth_date="2016-02-17",
                    national_number=p.child_nn,
                    parents=[
                        tpb.TaxPerson(
                            id=p.parent_id,
                            first_name=p.parent_first,
                            last_name=p.last_name,
                            national_number=p.parent_nn,
                        )
                    ],
                )
            ],
        ),
    )
    assert certs.created == 1
    return Family(p, repas.id, activites.id, invoice, childcare, mandate, spb.Refund())


@dataclass
class Families:
    rt: object
    zeph: Family
    other: Family


def two_families(world: World, rt) -> Families:
    """ZEPH's family and BARNABE's in our school (the clock at 1 March 2024); both children leave and
    get the Repas wallet's balance refunded to the family's IBAN, in one pain.001 file."""
    rt.clock.set(datetime(YEAR, 3, 1, 9, 0, tzinfo=UTC))
    world.finance.settings.update_settings(
        reauthenticated(STAFF, rt),
        settings(iban=SCHOOL_IBAN, creditor_id=CREDITOR_ID, enterprise_number="0203201340"),
    )
    zeph, other = _family(world, rt, ZEPH, 1), _family(world, rt, BARNABE, 2)
    refunds = Refunds(rt)
    for fam in (zeph, other):
        _leaves(rt, fam.person.student_id, rt.clock().date() - timedelta(days=1))
        fam.refund = refunds.create_refund(
            STAFF,
            spb.CreateRefundRequest(
                wallet_id=fam.repas,
                iban=fam.person.iban,
                holder_name=f"{fam.person.parent_first} {fam.person.last_name}",
                idempotency_key=f"refund-{fam.person.student_id}",
            ),
        ).refund
    made = refunds.create_batch(STAFF, spb.CreateRefundBatchRequest(idempotency_key="family-batch"))
    assert made.batch.count == 2
    return Families(rt, zeph, other)


def all_published(rt) -> None:
    """What the relay does: every outbox row published (an erasure purges those)."""
    with rt.db.unit_of_work() as s:
        s.execute(outbox.update().values(published_at=common.now(rt)))


def erased_event(p: Person, keep_until: str = "2031-12-31") -> bytes:
    ev = auth_events.FamilyErased(
        school_id=SCHOOL,
        parent_ids=[p.parent_id],
        student_ids=[p.student_id],
        reason="request",
        erased_at="2024-03-02T10:00:00+00:00",
        keep_financial_until=keep_until,
    )
    return bus.make_envelope("auth.family.erased.v1", ev, SCHOOL).SerializeToString()


def outbox_count(rt) -> int:
    with rt.db.unit_of_work() as s:
        return len(s.execute(select(outbox.c.id)).all())
