"""The finance service's composition root: the payment provider, the use cases, the servicer, the
event bindings and the commands, each built here and given what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.bus import Binding
from kit.family_data import erasure_binding
from kit.family_data import registration as family_data_registration
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.finance import db, demo, family_data, family_erasure, handlers, national_numbers
from services.finance.grpc_api import Servicer
from services.finance.grpc_exports import registration as exports_registration
from services.finance.max_bill_api import registration as max_bill_registration
from services.finance.periodic_statements_api import registration as periodic_statements_registration
from services.finance.providers import PaymentProvider
from services.finance.providers.mollie import MollieClient
from services.finance.refunds_api import registration as refunds_registration
from services.finance.sepa_api import registration as sepa_registration
from services.finance.tax_certificates_api import registration as tax_certificates_registration
from services.finance.till_api import registration as till_registration
from services.finance.use_cases.bulk_invoices import BulkInvoices
from services.finance.use_cases.invoices import Invoices
from services.finance.use_cases.online_payments import OnlinePayments
from services.finance.use_cases.operations import Operations
from services.finance.use_cases.reversals import Reversals
from services.finance.use_cases.school_invoices import SchoolInvoices
from services.finance.use_cases.settings import PaymentSettings
from services.finance.use_cases.statements import Statements
from services.finance.use_cases.transfers import Transfers
from services.finance.use_cases.wallet_payments import WalletPayments
from services.finance.use_cases.wallets import Wallets
from services.finance.use_cases.webhooks import PaymentWebhooks

SERVICE = "cartable.finance.v1.FinanceService"
# The provider's webhook carries no identity: the payment's status is fetched from the provider.
PUBLIC_METHODS = frozenset({f"/{SERVICE}/HandlePaymentWebhook"})


@dataclass(frozen=True)
class UseCases:
    wallets: Wallets
    settings: PaymentSettings
    invoices: Invoices
    wallet_payments: WalletPayments
    online_payments: OnlinePayments
    webhooks: PaymentWebhooks
    reversals: Reversals
    transfers: Transfers
    statements: Statements
    operations: Operations
    bulk_invoices: BulkInvoices
    school_invoices: SchoolInvoices


def payment_provider(rt: Runtime) -> PaymentProvider:
    """The provider the runtime brings (``rt.extras["payment_provider"]``: a test's fake), else the one
    the settings name (Mollie, or the local stand-in that speaks its API)."""
    given = rt.extras.get("payment_provider")
    if given is not None:
        return given
    return MollieClient(rt.settings.mollie_api_url, rt.settings.mollie_api_key)


def use_cases(rt: Runtime, provider: PaymentProvider) -> UseCases:
    """Every use case of the service; those that talk to the provider get ``provider``."""
    invoices = Invoices(rt)
    reversals = Reversals(rt)
    online_payments = OnlinePayments(rt, provider, invoices)
    return UseCases(
        wallets=Wallets(rt),
        settings=PaymentSettings(rt),
        invoices=invoices,
        wallet_payments=WalletPayments(rt),
        online_payments=online_payments,
        webhooks=PaymentWebhooks(rt, provider, reversals, online_payments),
        reversals=reversals,
        transfers=Transfers(rt),
        statements=Statements(rt),
        operations=Operations(rt),
        bulk_invoices=BulkInvoices(rt),
        school_invoices=SchoolInvoices(rt),
    )


def registrations(rt: Runtime) -> list[Registration]:
    # Outside a local run, no server without the key of the national numbers (NATIONAL_NUMBER_KEY):
    # refused at start, not at the first tax certificate of the year.
    national_numbers.box(rt)
    uc = use_cases(rt, payment_provider(rt))
    servicer = Servicer(
        wallets=uc.wallets,
        settings=uc.settings,
        invoices=uc.invoices,
        wallet_payments=uc.wallet_payments,
        online_payments=uc.online_payments,
        webhooks=uc.webhooks,
        transfers=uc.transfers,
        statements=uc.statements,
        operations=uc.operations,
        bulk_invoices=uc.bulk_invoices,
        school_invoices=uc.school_invoices,
    )
    return [
        Registration(pb_grpc.add_FinanceServiceServicer_to_server, servicer, SERVICE),
        till_registration(rt),
        exports_registration(rt),
        sepa_registration(rt),
        refunds_registration(rt),
        periodic_statements_registration(rt),
        tax_certificates_registration(rt),
        max_bill_registration(rt),
        family_data_registration(family_data.exporter(rt)),
    ]


def bindings(rt: Runtime) -> dict[str, Binding]:
    return {**handlers.bindings(Wallets(rt)), **erasure_binding(family_erasure.eraser(rt))}


def sync_payments(rt: Runtime, args: list[str]) -> int:
    """``python -m services.finance sync-payments [seconds]``: fetch the status of online payments
    still open after ``seconds`` (default 120) from the provider and book them as the webhook would
    (for a webhook lost on the way; run it from a cron job)."""
    older = int(args[0]) if args else 120
    n = use_cases(rt, payment_provider(rt)).webhooks.sync_open_payments(older_than_seconds=older)
    logging.getLogger("finance.payments").info("open payments checked", extra={"checked": n})
    return 0


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="finance",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=bindings,
        public_methods=PUBLIC_METHODS,
        commands={
            "seed-demo": demo.seed_demo,
            "sync-payments": sync_payments,
            "anonymise": family_erasure.anonymise,
        },
    )
