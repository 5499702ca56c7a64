"""The finance service's composition: tables, servicers, event bindings, commands."""

from pathlib import Path

from cartable.finance.v1 import finance_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.finance import db, demo, handlers
from services.finance.grpc_api import Servicer
from services.finance.service import FinanceService


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_FinanceServiceServicer_to_server,
            Servicer(FinanceService(rt)),
            "cartable.finance.v1.FinanceService",
        )
    ]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="finance",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=handlers.bindings,
        commands={"seed-demo": demo.seed_demo},
    )
