"""DocumentsService servicer: proto in, use case, proto out."""

from cartable.documents.v1 import documents_pb2 as pb
from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit.identity import current
from services.documents.service import DocumentsService


def document_pb(d) -> pb.Document:
    return pb.Document(
        id=d.id,
        student_id=d.student_id,
        title=d.title,
        deposited_at=d.deposited_at.isoformat(),
        read_at=d.read_at.isoformat() if d.read_at else "",
        content_type=d.content_type,
        size_bytes=d.size_bytes,
        filename=d.filename,
        source=d.source,
    )


def _offset(cursor: str) -> int:
    return int(cursor) if cursor.isdigit() else 0


class Servicer(pb_grpc.DocumentsServiceServicer):
    def __init__(self, svc: DocumentsService) -> None:
        self.svc = svc

    def ListDocuments(self, request, context):
        limit = request.limit if 0 < request.limit <= 200 else 50
        offset = _offset(request.cursor)
        items, total, unread = self.svc.list_documents(current(), request.student_id, request.state, limit, offset)
        nxt = str(offset + limit) if offset + limit < total else ""
        return pb.ListDocumentsResponse(documents=[document_pb(d) for d in items], next_cursor=nxt, unread_count=unread)

    def OpenDocument(self, request, context):
        doc, content = self.svc.open_document(current(), request.document_id)
        return pb.OpenDocumentResponse(document=document_pb(doc), content=content)

    def DepositDocument(self, request, context):
        made = self.svc.deposit(current(), request.title, request.filename, request.content, list(request.student_ids))
        return pb.DepositDocumentResponse(
            documents=[pb.DepositedDocument(id=doc_id, student_id=sid) for doc_id, sid in made]
        )
