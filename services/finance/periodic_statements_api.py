"""PeriodicStatementService servicer (protos/cartable/finance/v1/periodic_statements.proto): the
caller's identity and the request to a use case, its answer back. Beside FinanceService's on the same
server."""

from __future__ import annotations

from cartable.finance.v1 import periodic_statements_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from kit.service import Runtime
from services.finance.use_cases.periodic_statements import PeriodicStatements

SERVICE = "cartable.finance.v1.PeriodicStatementService"


class PeriodicStatementServicer(pb_grpc.PeriodicStatementServiceServicer):
    def __init__(self, statements: PeriodicStatements) -> None:
        self.statements = statements

    def GetPeriodicStatement(self, request, context):
        return self.statements.get_periodic_statement(current(), request)

    def SendPeriodicStatements(self, request, context):
        return self.statements.send_periodic_statements(current(), request)


def registration(rt: Runtime) -> Registration:
    """PeriodicStatementService on the finance server (app.registrations)."""
    servicer = PeriodicStatementServicer(PeriodicStatements(rt))
    return Registration(pb_grpc.add_PeriodicStatementServiceServicer_to_server, servicer, SERVICE)
