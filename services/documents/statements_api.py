"""StatementDocumentsService servicer (protos/cartable/documents/v1/statements.proto), beside
DocumentsService on the documents server; and the binding that files the statements finance sends."""

from __future__ import annotations

from cartable.documents.v1 import statements_pb2_grpc as pb_grpc
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from kit.bus import Binding
from kit.grpcserver import Registration
from kit.identity import current
from services.documents.use_cases.statements import StatementDocuments

SERVICE = "cartable.documents.v1.StatementDocumentsService"


class StatementDocumentsServicer(pb_grpc.StatementDocumentsServiceServicer):
    def __init__(self, statements: StatementDocuments) -> None:
        self.statements = statements

    def RenderPeriodicStatement(self, request, context):
        return self.statements.render_periodic_statement(current(), request)

    def ListStatementDocuments(self, request, context):
        return self.statements.list_statement_documents(current(), request)


def registration(statements: StatementDocuments) -> Registration:
    servicer = StatementDocumentsServicer(statements)
    return Registration(pb_grpc.add_StatementDocumentsServiceServicer_to_server, servicer, SERVICE)


def bindings(statements: StatementDocuments) -> dict[str, Binding]:
    def issued(session, env, ev: fpb.PeriodicStatementIssued) -> None:
        statements.file_statement(session, env.school_id, ev)

    return {"finance.periodic_statement.issued.v1": Binding(fpb.PeriodicStatementIssued, issued)}
