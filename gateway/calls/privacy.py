"""A family's data (issue #21, API.md "A family's data (privacy)"): the export and the erasure.

The export is kept by documents (``DataExportService``); every service answers for its own data
(``FamilyDataService``); the gateway only assembles, in a background thread of the worker that took
the request, with the caller's identity token:

1. ``RequestDataExport``: documents records the request (pending), and the caller gets 202 at once;
2. ``ClaimDataExport``: a lease, so two builders never build the same export at once;
3. ``ExportFamilyData`` on auth, finance, orders, notifications and meetings (in parallel);
4. ``CompleteDataExport`` with their parts: documents adds its own part and the files, writes the ZIP,
   marks the export ready and publishes ``documents.data_export.ready.v1`` (notifications mails the
   parent a link to their account page, never the file).

A worker that dies mid-build leaves the export pending with a lease that runs out: the next look at
it (``GET /api/v1/data-exports/{id}``, the parent's or the staff page) claims it again and builds it
again (building twice gives the same archive; ``CompleteDataExport`` answers a ready export as it is).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import grpc
from flask import Response, g, stream_with_context

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import documents_pb2
from cartable.privacy.v1 import privacy_pb2 as pb
from gateway.clients import Clients, clients, rpc

log = logging.getLogger(__name__)

# documents adds its own part when the export is completed
PART_SERVICES = ("auth", "finance", "orders", "notifications", "meetings")
LEASE_SECONDS = 300
PART_TIMEOUT = 60.0  # seconds for one service's part (documents' files are read by documents itself)
COMPLETE_TIMEOUT = 120.0  # documents writes the ZIP


@dataclass(frozen=True)
class Family:
    """The children an export is about; for a staff caller also their classes and leaving dates
    (``CompleteDataExport``'s ``student_classes``/``student_left_on``)."""

    student_ids: list[str]
    classes: dict[str, str] = field(default_factory=dict)
    left_on: dict[str, str] = field(default_factory=dict)


def request_export(parent_id: str) -> pb.DataExport:
    return rpc("data_exports", "RequestDataExport", pb.RequestDataExportRequest(parent_id=parent_id))


def get_export(export_id: str) -> pb.DataExport:
    return rpc("data_exports", "GetDataExport", pb.GetDataExportRequest(export_id=export_id))


def list_exports(parent_id: str) -> list[pb.DataExport]:
    return list(rpc("data_exports", "ListDataExports", pb.ListDataExportsRequest(parent_id=parent_id)).items)


PIECE = 4 * 1024 * 1024  # bytes of the archive asked of documents at a time


def open_export(export_id: str) -> Response:
    """The archive as an attachment, streamed in pieces (a gRPC message holds 32 MiB at most: a
    family with many documents has a bigger archive). The first piece is asked before the answer
    starts, so a refusal (another family's, pending, expired) is a proper error status."""
    first = rpc(
        "data_exports",
        "OpenDataExport",
        pb.OpenDataExportRequest(export_id=export_id, offset=0, length=PIECE),
        timeout=60,
    )

    def pieces():
        yield first.content
        offset = len(first.content)
        while offset < first.total_bytes:
            piece = rpc(
                "data_exports",
                "OpenDataExport",
                pb.OpenDataExportRequest(export_id=export_id, offset=offset, length=PIECE),
                timeout=60,
            ).content
            if not piece:
                break
            offset += len(piece)
            yield piece

    headers = {
        "Content-Disposition": f'attachment; filename="{first.filename}"',
        "Cache-Control": "private, no-store",
    }
    if first.total_bytes >= len(first.content):  # the size documents gave: the browser shows progress
        headers["Content-Length"] = str(first.total_bytes or len(first.content))
    return Response(stream_with_context(pieces()), mimetype="application/zip", headers=headers)


def export_json(export: pb.DataExport) -> dict:
    """The shape of API.md: ``{id, status, ready_at, expires_at}`` (null while pending)."""
    return {
        "id": export.id,
        "status": export.status,
        "ready_at": export.ready_at or None,
        "expires_at": export.expires_at or None,
    }


def build_in_background(export: pb.DataExport, family: Family) -> threading.Thread | None:
    """Start building ``export`` (pending) in a thread of this worker with the caller's identity
    token; None when there is nothing to build."""
    if export.status != "pending":
        return None
    sess = g.get("session")
    token = sess.identity_token if sess is not None else ""
    thread = threading.Thread(
        target=build,
        args=(clients(), export.id, export.parent_id, family, token, g.get("request_id", "")),
        name=f"data-export-{export.id}",
        daemon=True,
    )
    thread.start()
    return thread


def build(
    conn: Clients, export_id: str, parent_id: str, family: Family, token: str, request_id: str = ""
) -> bool:
    """Claim the export, gather every service's part and hand them to documents. False when another
    builder holds the lease, or when a service failed (the lease runs out; the next look rebuilds)."""
    md = [("x-request-id", request_id), ("authorization", f"Bearer {token}")]
    exports = conn.stub("data_exports")
    try:
        claim = exports.ClaimDataExport(
            pb.ClaimDataExportRequest(export_id=export_id, lease_seconds=LEASE_SECONDS),
            metadata=md,
            timeout=10,
            wait_for_ready=True,
        )
        if not claim.claimed:
            return False
        ask = pb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=family.student_ids)
        calls = [
            conn.stub(f"family_data.{svc}").ExportFamilyData.future(
                ask, metadata=md, timeout=PART_TIMEOUT, wait_for_ready=True
            )
            for svc in PART_SERVICES
        ]
        parts = [f for call in calls for f in call.result().files]
        exports.CompleteDataExport(
            pb.CompleteDataExportRequest(
                export_id=export_id,
                student_ids=family.student_ids,
                parts=parts,
                student_classes=family.classes,
                student_left_on=family.left_on,
            ),
            metadata=md,
            timeout=COMPLETE_TIMEOUT,
            wait_for_ready=True,
        )
    except grpc.RpcError as exc:
        log.warning(
            "data export %s not built: %s %s (it is built again at its next look once the lease ends)",
            export_id,
            exc.code(),  # type: ignore[attr-defined]
            exc.details(),  # type: ignore[attr-defined]
        )
        return False
    return True


def erase_family(parent_id: str) -> auth_pb2.EraseFamilyResponse:
    """Staff: auth erases the family and tells every service (auth.family.erased.v1)."""
    return rpc("auth", "EraseFamily", auth_pb2.EraseFamilyRequest(parent_id=parent_id, confirm=True))


# -- photos: a consent per child (documents) ---------------------------------------------------------


def set_photo_consent(student_id: str, share: bool) -> documents_pb2.PhotoConsent:
    """Whether other families may see the photos the child appears in (the parent for their child;
    staff recording a paper form)."""
    req = documents_pb2.SetPhotoConsentRequest(student_id=student_id, share_with_other_families=share)
    return rpc("documents", "SetPhotoConsent", req).consent


def list_photo_consents(student_ids: list[str]) -> dict[str, documents_pb2.PhotoConsent]:
    """The consent of each child named, by id (shared when nothing was recorded)."""
    if not student_ids:
        return {}
    req = documents_pb2.ListPhotoConsentsRequest(student_ids=student_ids)
    return {c.student_id: c for c in rpc("documents", "ListPhotoConsents", req).items}


def set_photo_subjects(photo_id: str, student_ids: list[str]) -> documents_pb2.Photo:
    """Staff: the children who appear in a photo (replaces the set)."""
    req = documents_pb2.SetPhotoSubjectsRequest(photo_id=photo_id, student_ids=student_ids)
    return rpc("documents", "SetPhotoSubjects", req).photo


def consent_json(c: documents_pb2.PhotoConsent) -> dict:
    return {
        "student_id": c.student_id,
        "share_with_other_families": c.share_with_other_families,
        "updated_at": c.updated_at or None,
    }


# -- the school's retention policy (auth) -------------------------------------------------------------


def get_retention_policy() -> auth_pb2.RetentionPolicy:
    return rpc("auth", "GetRetentionPolicy", auth_pb2.GetRetentionPolicyRequest())


def update_retention_policy(personal_years: int, financial_years: int) -> auth_pb2.RetentionPolicy:
    """Audited by auth; out of range (personal 1-10, financial 7-30): InvalidRequest with fields."""
    req = auth_pb2.RetentionPolicy(personal_years=personal_years, financial_years=financial_years)
    return rpc("auth", "UpdateRetentionPolicy", req)


def retention_json(p: auth_pb2.RetentionPolicy) -> dict:
    return {"personal_years": p.personal_years, "financial_years": p.financial_years}
