"""The finance service's composition: tables, servicers, event bindings, commands."""

import logging
from pathlib import Path

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.finance import db, demo, handlers
from services.finance.grpc_api import Servicer
from services.finance.payments import PaymentsService
from services.finance.service import FinanceService

SERVICE = "cartable.finance.v1.FinanceService"
# The provider's webhook carries no identity: the payment's status is fetched from the provider.
PUBLIC_METHODS = frozenset({f"/{SERVICE}/HandlePaymentWebhook"})


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_FinanceServiceServicer_to_server,
            Servicer(FinanceService(rt)),
            SERVICE,
        )
    ]


def sync_payments(rt: Runtime, args: list[str]) -> int:
    """``python -m services.finance sync-payments [seconds]``: fetch the status of online payments
    still open after ``seconds`` (default 120) from the provider and book them as the webhook would
    (for a webhook lost on the way; run it from a cron job)."""
    older = int(args[0]) if args else 120
    n = PaymentsService(rt).sync_open_payments(older_than_seconds=older)
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
        bindings=handlers.bindings,
        public_methods=PUBLIC_METHODS,
        commands={"seed-demo": demo.seed_demo, "sync-payments": sync_payments},
    )
