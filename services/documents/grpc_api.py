"""DocumentsService servicer: proto in, use case, proto out."""

from cartable.documents.v1 import documents_pb2 as pb
from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit.identity import current
from services.documents.photos import PhotosService, Upload
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


def photo_pb(p) -> pb.Photo:
    return pb.Photo(
        id=p.id,
        album_id=p.album_id,
        number=p.number,
        title=p.title,
        filename=p.filename,
        width=p.width,
        height=p.height,
        thumb_width=p.thumb_width,
        thumb_height=p.thumb_height,
        size_bytes=p.size_bytes,
        uploaded_at=p.uploaded_at.isoformat(),
    )


def album_pb(a) -> pb.Album:
    out = pb.Album(
        id=a.id,
        title=a.title,
        event=a.event,
        taken_on=a.taken_on.isoformat() if a.taken_on else "",
        class_names=list(a.class_names),
        created_at=a.created_at.isoformat(),
        published_at=a.published_at.isoformat() if a.published_at else "",
        photo_count=a.photo_count,
        offered_period_ids=list(a.offered_period_ids),
    )
    if a.cover is not None:
        out.cover.CopyFrom(photo_pb(a.cover))
    return out


def _limit(value: int, default: int) -> int:
    return value if 0 < value <= 200 else default


def _offset(cursor: str) -> int:
    return int(cursor) if cursor.isdigit() else 0


class Servicer(pb_grpc.DocumentsServiceServicer):
    def __init__(self, svc: DocumentsService, photos: PhotosService) -> None:
        self.svc = svc
        self.photos = photos

    def ListDocuments(self, request, context):
        limit = request.limit if 0 < request.limit <= 200 else 50
        offset = _offset(request.cursor)
        items, total, unread = self.svc.list_documents(
            current(), request.student_id, request.state, limit, offset
        )
        nxt = str(offset + limit) if offset + limit < total else ""
        return pb.ListDocumentsResponse(
            documents=[document_pb(d) for d in items], next_cursor=nxt, unread_count=unread
        )

    def OpenDocument(self, request, context):
        doc, content = self.svc.open_document(current(), request.document_id)
        return pb.OpenDocumentResponse(document=document_pb(doc), content=content)

    def DepositDocument(self, request, context):
        made = self.svc.deposit(
            current(), request.title, request.filename, request.content, list(request.student_ids)
        )
        return pb.DepositDocumentResponse(
            documents=[pb.DepositedDocument(id=doc_id, student_id=sid) for doc_id, sid in made]
        )

    # -- photos --------------------------------------------------------------------------------------

    def ListAlbums(self, request, context):
        albums, nxt = self.photos.list_albums(
            current(), request.student_id, _limit(request.limit, 50), request.cursor
        )
        return pb.ListAlbumsResponse(albums=[album_pb(a) for a in albums], next_cursor=nxt)

    def GetAlbum(self, request, context):
        album, items, nxt = self.photos.get_album(
            current(), request.album_id, request.student_id, _limit(request.limit, 60), request.cursor
        )
        return pb.GetAlbumResponse(
            album=album_pb(album), photos=[photo_pb(p) for p in items], next_cursor=nxt
        )

    def GetPhoto(self, request, context):
        photo, album, prev_id, next_id = self.photos.get_photo(
            current(), request.photo_id, request.student_id
        )
        return pb.GetPhotoResponse(
            photo=photo_pb(photo), album=album_pb(album), previous_photo_id=prev_id, next_photo_id=next_id
        )

    def OpenPhoto(self, request, context):
        photo, content = self.photos.open_photo(
            current(), request.photo_id, request.variant, with_content=not request.without_content
        )
        return pb.OpenPhotoResponse(photo=photo_pb(photo), content_type="image/jpeg", content=content)

    def CreateAlbum(self, request, context):
        album = self.photos.create_album(
            current(),
            request.title,
            request.event,
            request.taken_on,
            list(request.class_names),
            request.publish,
        )
        return pb.CreateAlbumResponse(album=album_pb(album))

    def PublishAlbum(self, request, context):
        return pb.PublishAlbumResponse(album=album_pb(self.photos.publish_album(current(), request.album_id)))

    def AddPhotos(self, request, context):
        uploads = [Upload(f.filename, f.content, f.title) for f in request.files]
        made = self.photos.add_photos(current(), request.album_id, uploads, still_wanted=context.is_active)
        return pb.AddPhotosResponse(photos=[photo_pb(p) for p in made])

    def WithdrawPhoto(self, request, context):
        self.photos.withdraw_photo(current(), request.photo_id)
        return pb.WithdrawPhotoResponse()

    def WithdrawAlbum(self, request, context):
        return pb.WithdrawAlbumResponse(photo_count=self.photos.withdraw_album(current(), request.album_id))

    def RecordAlbumOffer(self, request, context):
        self.photos.record_offer(
            current(), request.album_id, request.period_id, request.price_cents, request.item_count
        )
        return pb.RecordAlbumOfferResponse()
