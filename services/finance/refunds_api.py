"""RefundService servicer (refunds to a bank account, issue #18): the caller's identity and the request
to ``use_cases/refunds.py``, its answer back. Served by the finance server beside FinanceService."""

from __future__ import annotations

from cartable.finance.v1 import sepa_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.refunds import Refunds

SERVICE = "cartable.finance.v1.RefundService"


class RefundServicer(pb_grpc.RefundServiceServicer):
    def __init__(self, refunds: Refunds) -> None:
        self.refunds = refunds

    def GetRefundProposal(self, request, context):
        return self.refunds.get_proposal(current(), request)

    def CreateRefund(self, request, context):
        return self.refunds.create_refund(current(), request)

    def ListRefunds(self, request, context):
        return self.refunds.list_refunds(current(), request)

    def CreateRefundBatch(self, request, context):
        return self.refunds.create_batch(current(), request)

    def ListRefundBatches(self, request, context):
        return self.refunds.list_batches(current(), request)

    def GetRefundBatchFile(self, request, context):
        return self.refunds.get_batch_file(current(), request)


def registration(rt: Runtime) -> Registration:
    """The RefundService on the finance server (``app.registrations``)."""
    return Registration(pb_grpc.add_RefundServiceServicer_to_server, RefundServicer(Refunds(rt)), SERVICE)
