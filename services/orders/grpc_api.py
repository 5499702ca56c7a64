"""OrdersService servicer: the caller's identity and the request to a use case, its answer back."""

from cartable.orders.v1 import orders_pb2_grpc as pb_grpc
from kit.identity import current
from services.orders.use_cases.catalog import Catalog
from services.orders.use_cases.ordering import Ordering
from services.orders.use_cases.periods import Periods
from services.orders.use_cases.returns import Returns
from services.orders.use_cases.staff_orders import StaffOrders


class Servicer(pb_grpc.OrdersServiceServicer):
    def __init__(
        self,
        periods: Periods,
        catalog: Catalog,
        ordering: Ordering,
        returns: Returns,
        staff_orders: StaffOrders,
    ) -> None:
        self.staff_orders = staff_orders
        self.periods = periods
        self.catalog = catalog
        self.ordering = ordering
        self.returns = returns

    def ListOpenPeriods(self, request, context):
        return self.periods.list_open_periods(current(), request.student_id)

    def ListPeriods(self, request, context):
        return self.periods.list_periods(current())

    def CreatePeriod(self, request, context):
        return self.periods.create_period(
            current(),
            request.title,
            request.notes,
            request.opens_at,
            request.closes_at,
            list(request.class_names),
        )

    def GetCatalog(self, request, context):
        return self.catalog.get_catalog(current(), request.period_id, request.student_id)

    def AddItem(self, request, context):
        return self.catalog.add_item(
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

    def WithdrawItems(self, request, context):
        return self.catalog.withdraw_items(current(), list(request.references))

    def SummarizeOrder(self, request, context):
        return self.ordering.summarize_order(
            current(), request.period_id, request.student_id, list(request.item_ids)
        )

    def PlaceOrder(self, request, context):
        return self.ordering.place_order(
            current(),
            request.period_id,
            request.student_id,
            list(request.item_ids),
            request.idempotency_key,
            request.return_url,
        )

    def RecordBookReturn(self, request, context):
        return self.returns.record_book_return(
            current(), request.student_id, request.credit_cents, request.note
        )

    def UpdatePeriod(self, request, context):
        return self.periods.update_period(current(), request)

    def WithdrawItem(self, request, context):
        return self.catalog.withdraw_item(current(), request.period_id, request.item_id)

    def ListPeriodOrders(self, request, context):
        return self.staff_orders.list_period_orders(
            current(), request.period_id, request.limit, request.cursor
        )

    def GetPeriodTotals(self, request, context):
        return self.staff_orders.get_period_totals(current(), request.period_id)
