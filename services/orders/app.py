"""The orders service's composition: tables, servicers, commands."""

from pathlib import Path

from cartable.orders.v1 import orders_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.orders import db
from services.orders.grpc_api import Servicer
from services.orders.invoicing import FinanceInvoicer
from services.orders.service import OrdersService


def registrations(rt: Runtime) -> list[Registration]:
    invoicer = rt.extras.get("invoicer") or FinanceInvoicer(rt)
    return [
        Registration(
            pb_grpc.add_OrdersServiceServicer_to_server,
            Servicer(OrdersService(rt, invoicer)),
            "cartable.orders.v1.OrdersService",
        )
    ]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="orders",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
    )
