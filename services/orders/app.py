"""The orders service's composition root: the invoicer (finance over gRPC unless the runtime brings
one), the use cases, the servicers (its own and its part of a family's data), the event bindings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartable.orders.v1 import orders_pb2_grpc as pb_grpc
from kit import family_data as kit_family_data
from kit.bus import Binding
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.orders import db, family_data, handlers
from services.orders.grpc_api import Servicer
from services.orders.invoicing import FinanceInvoicer
from services.orders.use_cases.catalog import Catalog
from services.orders.use_cases.ordering import Invoicer, Ordering
from services.orders.use_cases.periods import Periods
from services.orders.use_cases.returns import Returns
from services.orders.use_cases.staff_orders import StaffOrders


@dataclass(frozen=True)
class UseCases:
    periods: Periods
    catalog: Catalog
    ordering: Ordering
    returns: Returns
    staff_orders: StaffOrders


def use_cases(rt: Runtime, invoicer: Invoicer | None = None) -> UseCases:
    """Every use case of the service; orders are invoiced by ``invoicer``, by default the one the
    runtime brings (``rt.extras["invoicer"]``, a stand-in) or finance over gRPC."""
    invoicer = invoicer or rt.extras.get("invoicer") or FinanceInvoicer(rt)
    return UseCases(Periods(rt), Catalog(rt), Ordering(rt, invoicer), Returns(rt), StaffOrders(rt))


def registrations(rt: Runtime) -> list[Registration]:
    uc = use_cases(rt)
    return [
        Registration(
            pb_grpc.add_OrdersServiceServicer_to_server,
            Servicer(uc.periods, uc.catalog, uc.ordering, uc.returns, uc.staff_orders),
            "cartable.orders.v1.OrdersService",
        ),
        kit_family_data.registration(family_data.exporter(rt.db)),
    ]


def bindings(rt: Runtime) -> dict[str, Binding[Any]]:
    """Every event the service consumes (``handlers.py``)."""
    return handlers.bindings()


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="orders",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=bindings,
    )
