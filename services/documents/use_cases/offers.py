"""Albums put on sale: the gateway adds an album's photos to an ordering period's catalog in the orders
service, then records the offer here, once per (album, period), so the album shows where it is sold."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from cartable.documents.v1 import documents_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.documents import photos_db
from services.documents.use_cases.common import load_album


class Offers:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def record_album_offer(
        self, who: Identity, album_id: str, period_id: str, price_cents: int, item_count: int
    ) -> pb.RecordAlbumOfferResponse:
        """Remember that the album's photos were put in an ordering period's catalog (once per period)."""
        who.require_staff()
        if not period_id:
            raise InvalidRequest("period_id is required", fields={"period_id": "required"})
        try:
            with self.rt.db.unit_of_work() as s:
                load_album(s, who, album_id, None)
                photos_db.insert_offer(
                    s, album_id, period_id, price_cents, item_count, who.account_id, self.rt.clock()
                )
                audit.record(
                    self.rt,
                    s,
                    who,
                    "documents.album.offered",
                    "album",
                    album_id,
                    f"period {period_id}, {item_count} photos at {format_eur(price_cents)}",
                )
        except IntegrityError:
            raise Conflict("the album is already offered in this period", code="already_offered") from None
        return pb.RecordAlbumOfferResponse()
