"""TillService servicer (the till's price list): the caller's identity and the request to
``use_cases/till.py``, its answer back. Served by the finance server beside FinanceService."""

from __future__ import annotations

from cartable.finance.v1 import till_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.till import Till

SERVICE = "cartable.finance.v1.TillService"


class TillServicer(pb_grpc.TillServiceServicer):
    def __init__(self, till: Till) -> None:
        self.till = till

    def ListTillItems(self, request, context):
        return self.till.list_items(current(), request)

    def SaveTillItem(self, request, context):
        return self.till.save_item(current(), request)

    def RemoveTillItem(self, request, context):
        return self.till.remove_item(current(), request.item_id)


def registration(rt: Runtime) -> Registration:
    """The TillService on the finance server (``app.registrations``)."""
    return Registration(pb_grpc.add_TillServiceServicer_to_server, TillServicer(Till(rt)), SERVICE)
