"""ExportsService servicer (protos/cartable/finance/v1/exports.proto): the caller's identity and the
request to a use case, its answer back. Beside FinanceService's (grpc_api.py) on the same server."""

from __future__ import annotations

from cartable.finance.v1 import exports_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.exports import Exports
from services.finance.use_cases.reconciliation import Reconciliation

SERVICE = "cartable.finance.v1.ExportsService"


class ExportsServicer(pb_grpc.ExportsServiceServicer):
    def __init__(self, *, exports: Exports, reconciliation: Reconciliation) -> None:
        self.exports = exports
        self.reconciliation = reconciliation

    # -- the accountant's exports (use_cases/exports.py) ----------------------------------------------

    def ListExportRows(self, request, context):
        return self.exports.list_export_rows(current(), request)

    def GetExportTotals(self, request, context):
        return self.exports.get_export_totals(current(), request)

    # -- bank reconciliation (use_cases/reconciliation.py) --------------------------------------------

    def GetStatementImport(self, request, context):
        return self.reconciliation.get_statement_import(current(), request)


def registration(rt: Runtime) -> Registration:
    """ExportsService on the finance server (app.registrations), its use cases built on ``rt``."""
    servicer = ExportsServicer(exports=Exports(rt), reconciliation=Reconciliation(rt))
    return Registration(pb_grpc.add_ExportsServiceServicer_to_server, servicer, SERVICE)
