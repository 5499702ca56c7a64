"""DirectDebitService servicer (issue #18: mandates, automatic top-ups, collection batches): the
caller's identity and the request to ``use_cases/mandates.py``, ``auto_top_ups.py`` and
``direct_debits.py``, their answer back. Served by the finance server beside FinanceService. What bank
statements say of the batches is booked by the statement import (``direct_debit_returns.py``)."""

from __future__ import annotations

from cartable.finance.v1 import sepa_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.auto_top_ups import AutoTopUps
from services.finance.use_cases.direct_debits import DirectDebits
from services.finance.use_cases.mandates import Mandates

SERVICE = "cartable.finance.v1.DirectDebitService"


class DirectDebitServicer(pb_grpc.DirectDebitServiceServicer):
    def __init__(self, mandates: Mandates, auto_top_ups: AutoTopUps, direct_debits: DirectDebits) -> None:
        self.mandates = mandates
        self.auto_top_ups = auto_top_ups
        self.direct_debits = direct_debits

    def ListMandates(self, request, context):
        return self.mandates.list_mandates(current(), request)

    def SignMandate(self, request, context):
        return self.mandates.sign_mandate(current(), request)

    def RevokeMandate(self, request, context):
        return self.mandates.revoke_mandate(current(), request)

    def GetAutoTopUp(self, request, context):
        return self.auto_top_ups.get_auto_top_up(current(), request)

    def SetAutoTopUp(self, request, context):
        return self.auto_top_ups.set_auto_top_up(current(), request)

    def CreateDirectDebitBatch(self, request, context):
        return self.direct_debits.create_batch(current(), request)

    def ListDirectDebitBatches(self, request, context):
        return self.direct_debits.list_batches(current(), request)

    def GetDirectDebitBatch(self, request, context):
        return self.direct_debits.get_batch(current(), request)

    def GetDirectDebitFile(self, request, context):
        return self.direct_debits.get_file(current(), request)


def registration(rt: Runtime) -> Registration:
    """The DirectDebitService on the finance server (``app.registrations``)."""
    servicer = DirectDebitServicer(Mandates(rt), AutoTopUps(rt), DirectDebits(rt))
    return Registration(pb_grpc.add_DirectDebitServiceServicer_to_server, servicer, SERVICE)
