"""The documents service's composition root: the blob store, the use cases, the servicer, the event
bindings and the commands, each built here and given what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit import family_data as kit_family_data
from kit.bus import Binding
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.documents import data_exports_api, db, handlers, statements_api, tax_certificate_handlers
from services.documents.blobstore import BlobStore, open_blob_store
from services.documents.erasure import erasure
from services.documents.family_data import FamilyData
from services.documents.grpc_api import Servicer
from services.documents.use_cases.albums import Albums
from services.documents.use_cases.consents import PhotoConsents
from services.documents.use_cases.data_exports import DataExports
from services.documents.use_cases.documents import Documents
from services.documents.use_cases.offers import Offers
from services.documents.use_cases.photos import Photos
from services.documents.use_cases.statements import StatementDocuments

log = logging.getLogger("documents")


@dataclass(frozen=True)
class UseCases:
    documents: Documents
    albums: Albums
    photos: Photos
    offers: Offers
    consents: PhotoConsents
    statements: StatementDocuments
    family: FamilyData
    exports: DataExports
    blobs: BlobStore


def use_cases(rt: Runtime, blobs: BlobStore | None = None) -> UseCases:
    """Every use case of the service, sharing one blob store (by default the one the settings name)."""
    blobs = blobs or open_blob_store(rt.settings.blob_store_url)
    family = FamilyData(rt, blobs)
    return UseCases(
        Documents(rt, blobs),
        Albums(rt, blobs),
        Photos(rt, blobs),
        Offers(rt),
        PhotoConsents(rt),
        StatementDocuments(rt, blobs),
        family,
        DataExports(rt, blobs, family),
        blobs,
    )


def registrations(rt: Runtime) -> list[Registration]:
    uc = use_cases(rt)
    return [
        Registration(
            pb_grpc.add_DocumentsServiceServicer_to_server,
            Servicer(uc.documents, uc.albums, uc.photos, uc.offers, uc.consents),
            "cartable.documents.v1.DocumentsService",
        ),
        statements_api.registration(uc.statements),
        kit_family_data.registration(uc.family.export),
        data_exports_api.registration(uc.exports),
    ]


def bindings(rt: Runtime) -> dict[str, Binding]:
    uc = use_cases(rt)
    return {
        **handlers.bindings(uc.documents),
        **statements_api.bindings(uc.statements),
        **tax_certificate_handlers.bindings(uc.documents),
        **kit_family_data.erasure_binding(erasure(uc.blobs)),
    }


def purge_withdrawn_photos(rt: Runtime, _args: list[str]) -> int:
    """Delete again the files of withdrawn photos (when the blob store failed at the time)."""
    files, failed = use_cases(rt).photos.purge_withdrawn()
    log.info("withdrawn photos purged", extra={"files": files, "failed": failed})
    return 1 if failed else 0


def purge_exports(rt: Runtime, _args: list[str]) -> int:
    """Daily: delete the archives of expired data exports and mark them expired (issue #21)."""
    expired, failed = use_cases(rt).exports.purge_expired()
    log.info("data exports expired", extra={"expired": expired, "failed": failed})
    return 1 if failed else 0


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="documents",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=bindings,
        commands={"purge-withdrawn-photos": purge_withdrawn_photos, "purge-exports": purge_exports},
    )
