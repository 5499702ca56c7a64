"""OrdersService servicer: proto in, use case, proto out."""

from cartable.orders.v1 import orders_pb2 as pb
from cartable.orders.v1 import orders_pb2_grpc as pb_grpc
from kit.identity import current
from services.orders.service import OrdersService


def period_pb(p) -> pb.OrderPeriod:
    return pb.OrderPeriod(
        id=p.id,
        title=p.title,
        notes=p.notes,
        opens_at=p.opens_at.isoformat(),
        closes_at=p.closes_at.isoformat(),
        class_names=list(p.class_names),
    )


class Servicer(pb_grpc.OrdersServiceServicer):
    def __init__(self, svc: OrdersService) -> None:
        self.svc = svc

    def ListOpenPeriods(self, request, context):
        periods = self.svc.list_open_periods(current(), request.student_id)
        return pb.ListOpenPeriodsResponse(periods=[period_pb(p) for p in periods])
