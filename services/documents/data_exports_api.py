"""DataExportService servicer (protos/cartable/privacy/v1/privacy.proto), beside DocumentsService on
the documents server: the caller's identity and the request to the use case, its answer back."""

from __future__ import annotations

from cartable.privacy.v1 import privacy_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.identity import current
from services.documents.use_cases.data_exports import DataExports

SERVICE = "cartable.privacy.v1.DataExportService"


class DataExportServicer(pb_grpc.DataExportServiceServicer):
    def __init__(self, exports: DataExports) -> None:
        self.exports = exports

    def RequestDataExport(self, request, context):
        return self.exports.request_data_export(current(), request.parent_id)

    def ClaimDataExport(self, request, context):
        return self.exports.claim_data_export(current(), request.export_id, request.lease_seconds)

    def CompleteDataExport(self, request, context):
        return self.exports.complete_data_export(
            current(),
            request.export_id,
            list(request.student_ids),
            list(request.parts),
            classes=dict(request.student_classes),
            left_on=dict(request.student_left_on),
        )

    def GetDataExport(self, request, context):
        return self.exports.get_data_export(current(), request.export_id)

    def ListDataExports(self, request, context):
        return self.exports.list_data_exports(current(), request.parent_id)

    def OpenDataExport(self, request, context):
        return self.exports.open_data_export(current(), request.export_id, request.offset, request.length)


def registration(exports: DataExports) -> Registration:
    return Registration(pb_grpc.add_DataExportServiceServicer_to_server, DataExportServicer(exports), SERVICE)
