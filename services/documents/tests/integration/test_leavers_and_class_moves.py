"""Issue #16 in documents, over gRPC on SQLite and PostgreSQL. A child who left the school keeps their
documents, read-only (listed, opened, marked read), but sees the school's albums no more (other
families' children are in them). A class change needs no copy of the class here: the parent's token
carries it on every call, so the next call after the move shows the new class's albums only."""

from __future__ import annotations

import grpc
import pytest

from cartable.documents.v1 import documents_pb2 as pb
from kit.identity import Identity
from services.documents.tests.integration.test_documents import deposit
from services.documents.tests.integration.test_photos import (  # noqa: F401  (fixtures)
    albums,
    md,
    open_photo,
    people,
    refused,
    school_albums,
)


def _token(keys, students: dict[str, str], left: dict[str, str] | None = None) -> str:
    who = Identity(account_id="mum", role="parent", school_id="sch-1", students=students, left=left or {})
    return keys.signer.sign(who)[0]


def test_a_leaver_keeps_their_documents_but_sees_no_album(documents_stub, keys, people, school_albums):  # noqa: F811
    made = deposit(documents_stub, people["staff"], students=("emma",))
    gone = _token(keys, {"emma": "1A"}, {"emma": "2026-06-30"})
    listed = documents_stub.ListDocuments(pb.ListDocumentsRequest(student_id="emma"), metadata=md(gone))
    assert [d.id for d in listed.documents] == [made.documents[0].id] and listed.unread_count == 1
    opened = documents_stub.OpenDocument(
        pb.OpenDocumentRequest(document_id=made.documents[0].id), metadata=md(gone)
    )
    assert opened.document.read_at
    assert albums(documents_stub, gone, "emma") == []
    assert albums(documents_stub, gone) == []
    album, photos = school_albums["Toute l'école"]
    for call in (
        lambda: documents_stub.GetAlbum(
            pb.GetAlbumRequest(album_id=album.id, student_id="emma"), metadata=md(gone)
        ),
        lambda: documents_stub.GetPhoto(
            pb.GetPhotoRequest(photo_id=photos[0].id, student_id="emma"), metadata=md(gone)
        ),
        lambda: open_photo(documents_stub, gone, photos[0].id, "thumbnail"),
    ):
        assert refused(call).code() == grpc.StatusCode.NOT_FOUND
    # a brother still at the school: his albums as before, through either call
    both = _token(keys, {"emma": "1A", "noah": "2B"}, {"emma": "2026-06-30"})
    assert sorted(albums(documents_stub, both, "noah")) == ["Classe 2B", "Toute l'école"]
    assert open_photo(documents_stub, both, school_albums["Classe 2B"][1][0].id, "thumbnail").content
    with pytest.raises(grpc.RpcError):  # his sister's old class is not his
        open_photo(documents_stub, both, school_albums["Classe 1A"][1][0].id, "thumbnail")


def test_a_class_change_shows_the_new_class_s_albums_at_the_next_call(documents_stub, keys, school_albums):  # noqa: F811
    assert sorted(albums(documents_stub, _token(keys, {"emma": "1A"}), "emma")) == [
        "Classe 1A",
        "Toute l'école",
    ]
    moved = _token(keys, {"emma": "2B"})  # the token auth signs after the move
    assert sorted(albums(documents_stub, moved, "emma")) == ["Classe 2B", "Toute l'école"]
    old = school_albums["Classe 1A"][0]
    err = refused(
        lambda: documents_stub.GetAlbum(
            pb.GetAlbumRequest(album_id=old.id, student_id="emma"), metadata=md(moved)
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
