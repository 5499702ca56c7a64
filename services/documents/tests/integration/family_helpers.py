"""What the tests of a family's data share (issue #21): a server with every stub of the documents
service, tokens, files and setup through the service's own API."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import grpc
import pytest
from PIL import Image

from cartable.documents.v1 import documents_pb2 as dpb
from cartable.documents.v1 import documents_pb2_grpc
from cartable.privacy.v1 import privacy_pb2 as ppb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.errors import CODE_KEY
from kit.identity import Identity

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def jpeg(color=(40, 120, 200)) -> bytes:
    out = BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "JPEG")
    return out.getvalue()


@dataclass
class Stubs:
    documents: documents_pb2_grpc.DocumentsServiceStub
    family: privacy_pb2_grpc.FamilyDataServiceStub
    exports: privacy_pb2_grpc.DataExportServiceStub


def token(keys, account_id: str, school_id: str = "sch-1", role: str = "parent", **kw) -> str:
    """A token for anyone; ``students`` and ``left`` ({id: YYYY-MM-DD}) as auth signs them."""
    return keys.signer.sign(Identity(account_id=account_id, role=role, school_id=school_id, **kw))[0]


def deposit(stubs: Stubs, staff: str, student_id: str, title: str, content: bytes = PDF_BYTES) -> str:
    made = stubs.documents.DepositDocument(
        dpb.DepositDocumentRequest(
            title=title, filename=f"{title}.pdf", content=content, student_ids=[student_id]
        ),
        metadata=md(staff),
    )
    return made.documents[0].id


def album_with_photo(stubs: Stubs, staff: str, title: str, classes=(), publish=True, color=(1, 2, 3)):
    """A published (or draft) album with one photo named after it; (album id, photo id)."""
    album = stubs.documents.CreateAlbum(
        dpb.CreateAlbumRequest(title=title, class_names=list(classes), publish=publish), metadata=md(staff)
    ).album
    upload = dpb.PhotoUpload(filename=f"{title}.jpg", content=jpeg(color), title=f"{title} photo")
    photos = stubs.documents.AddPhotos(
        dpb.AddPhotosRequest(album_id=album.id, files=[upload]), metadata=md(staff)
    ).photos
    return album.id, photos[0].id


def export(stubs: Stubs, tok: str, parent_id: str, *student_ids: str) -> dict[str, ppb.ExportFile]:
    answer = stubs.family.ExportFamilyData(
        ppb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=list(student_ids)), metadata=md(tok)
    )
    return {f.name: f for f in answer.files}


def part(files: dict[str, ppb.ExportFile], name: str):
    return json.loads(files[name].content.decode("utf-8"))


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
        return {name: archive.read(name) for name in archive.namelist()}


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    return exc.value


def error_code(err: grpc.RpcError) -> str:
    pairs: Any = err.trailing_metadata() or ()  # type: ignore[attr-defined]
    return dict(pairs).get(CODE_KEY, "")
