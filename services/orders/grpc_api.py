"""OrdersService servicer: proto in, use case, proto out."""

from cartable.orders.v1 import orders_pb2 as pb
from cartable.orders.v1 import orders_pb2_grpc as pb_grpc
from kit.identity import current
from services.orders.service import OrdersService, summary_pb


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

    def GetCatalog(self, request, context):
        period, items, comments = self.svc.catalog(current(), request.period_id, request.student_id)
        return pb.GetCatalogResponse(
            period=period_pb(period),
            items=[
                pb.CatalogItem(
                    id=i.id,
                    subject=i.subject,
                    title=i.title,
                    comment=comments.get(i.id, ""),
                    type=i.type,
                    price_cents=i.price_cents,
                )
                for i in items
            ],
        )

    def SummarizeOrder(self, request, context):
        return summary_pb(
            self.svc.summarize(current(), request.period_id, request.student_id, list(request.item_ids))
        )

    def PlaceOrder(self, request, context):
        return self.svc.place_order(
            current(),
            request.period_id,
            request.student_id,
            list(request.item_ids),
            request.idempotency_key,
            request.return_url,
        )

    def CreatePeriod(self, request, context):
        return pb.CreatePeriodResponse(
            id=self.svc.create_period(
                current(),
                request.title,
                request.notes,
                request.opens_at,
                request.closes_at,
                list(request.class_names),
            )
        )

    def AddItem(self, request, context):
        return pb.AddItemResponse(
            id=self.svc.add_item(
                current(),
                request.period_id,
                request.subject,
                request.title,
                request.comment,
                request.type,
                request.price_cents,
                request.idempotency_key,
                request.reference,
            )
        )

    def RecordBookReturn(self, request, context):
        entry_id, balance = self.svc.record_book_return(
            current(), request.student_id, request.credit_cents, request.note
        )
        return pb.RecordBookReturnResponse(id=entry_id, credit_balance_cents=balance)

    def ListPeriods(self, request, context):
        return pb.ListPeriodsResponse(periods=[period_pb(p) for p in self.svc.list_periods(current())])

    def WithdrawItems(self, request, context):
        return pb.WithdrawItemsResponse(count=self.svc.withdraw_items(current(), list(request.references)))
