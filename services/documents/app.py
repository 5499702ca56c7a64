"""The documents service's composition: tables, servicers, event bindings, commands."""

import logging
from pathlib import Path

from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.documents import db, handlers
from services.documents.grpc_api import Servicer
from services.documents.photos import PhotosService
from services.documents.service import DocumentsService

log = logging.getLogger("documents")


def registrations(rt: Runtime) -> list[Registration]:
    documents = DocumentsService(rt)
    return [
        Registration(
            pb_grpc.add_DocumentsServiceServicer_to_server,
            Servicer(documents, PhotosService(rt, documents.blobs)),
            "cartable.documents.v1.DocumentsService",
        )
    ]


def purge_withdrawn_photos(rt: Runtime, _args: list[str]) -> int:
    """Delete again the files of withdrawn photos (when the blob store failed at the time)."""
    svc = PhotosService(rt, DocumentsService(rt).blobs)
    files, failed = svc.purge_withdrawn()
    log.info("withdrawn photos purged", extra={"files": files, "failed": failed})
    return 1 if failed else 0


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="documents",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=handlers.bindings,
        commands={"purge-withdrawn-photos": purge_withdrawn_photos},
    )
