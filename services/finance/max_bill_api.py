"""MaxBillService servicer (the Flemish maximum bill, issue #19): the caller's identity and the request
to ``use_cases/max_bill.py``, its answer back. Served by the finance server beside FinanceService."""

from __future__ import annotations

from cartable.finance.v1 import max_bill_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.max_bill import MaxBill

SERVICE = "cartable.finance.v1.MaxBillService"


class MaxBillServicer(pb_grpc.MaxBillServiceServicer):
    def __init__(self, max_bill: MaxBill) -> None:
        self.max_bill = max_bill

    def ListMaxBillCaps(self, request, context):
        return self.max_bill.list_caps(current(), request)

    def SetMaxBillCaps(self, request, context):
        return self.max_bill.set_caps(current(), request)

    def GetMaxBill(self, request, context):
        return self.max_bill.get_max_bill(current(), request)


def registration(rt: Runtime) -> Registration:
    """The MaxBillService on the finance server (``app.registrations``)."""
    return Registration(pb_grpc.add_MaxBillServiceServicer_to_server, MaxBillServicer(MaxBill(rt)), SERVICE)
