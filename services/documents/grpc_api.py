"""DocumentsService servicer: the caller's identity and the request to a use case, its answer back."""

from cartable.documents.v1 import documents_pb2_grpc as pb_grpc
from kit.identity import current
from services.documents.use_cases.albums import Albums
from services.documents.use_cases.consents import PhotoConsents
from services.documents.use_cases.documents import Documents
from services.documents.use_cases.offers import Offers
from services.documents.use_cases.photos import Photos


class Servicer(pb_grpc.DocumentsServiceServicer):
    def __init__(
        self, documents: Documents, albums: Albums, photos: Photos, offers: Offers, consents: PhotoConsents
    ) -> None:
        self.documents = documents
        self.albums = albums
        self.photos = photos
        self.offers = offers
        self.consents = consents

    def ListDocuments(self, request, context):
        return self.documents.list_documents(
            current(), request.student_id, request.state, request.limit, request.cursor
        )

    def OpenDocument(self, request, context):
        return self.documents.open_document(current(), request.document_id)

    def DepositDocument(self, request, context):
        return self.documents.deposit_document(
            current(), request.title, request.filename, request.content, list(request.student_ids)
        )

    # -- albums ---------------------------------------------------------------------------------------

    def ListAlbums(self, request, context):
        return self.albums.list_albums(current(), request.student_id, request.limit, request.cursor)

    def GetAlbum(self, request, context):
        return self.albums.get_album(
            current(), request.album_id, request.student_id, request.limit, request.cursor
        )

    def CreateAlbum(self, request, context):
        return self.albums.create_album(
            current(),
            request.title,
            request.event,
            request.taken_on,
            list(request.class_names),
            request.publish,
        )

    def PublishAlbum(self, request, context):
        return self.albums.publish_album(current(), request.album_id)

    def WithdrawAlbum(self, request, context):
        return self.albums.withdraw_album(current(), request.album_id)

    # -- photos ---------------------------------------------------------------------------------------

    def GetPhoto(self, request, context):
        return self.photos.get_photo(current(), request.photo_id, request.student_id)

    def OpenPhoto(self, request, context):
        return self.photos.open_photo(
            current(), request.photo_id, request.variant, with_content=not request.without_content
        )

    def AddPhotos(self, request, context):
        return self.photos.add_photos(
            current(), request.album_id, request.files, still_wanted=context.is_active
        )

    def WithdrawPhoto(self, request, context):
        return self.photos.withdraw_photo(current(), request.photo_id)

    # -- offers ---------------------------------------------------------------------------------------

    def RecordAlbumOffer(self, request, context):
        return self.offers.record_album_offer(
            current(), request.album_id, request.period_id, request.price_cents, request.item_count
        )

    # -- photo consent (issue #21) --------------------------------------------------------------------

    def SetPhotoConsent(self, request, context):
        return self.consents.set_photo_consent(
            current(), request.student_id, request.share_with_other_families
        )

    def ListPhotoConsents(self, request, context):
        return self.consents.list_photo_consents(current(), list(request.student_ids))

    def SetPhotoSubjects(self, request, context):
        return self.consents.set_photo_subjects(current(), request.photo_id, list(request.student_ids))
