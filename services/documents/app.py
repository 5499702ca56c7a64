"""The documents service's composition: tables, servicers, event bindings, commands."""

from pathlib import Path

from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.documents import db, handlers
from services.documents.grpc_api import Servicer
from services.documents.service import DocumentsService


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_DocumentsServiceServicer_to_server,
            Servicer(DocumentsService(rt)),
            "cartable.documents.v1.DocumentsService",
        )
    ]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="documents",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=handlers.bindings,
    )
