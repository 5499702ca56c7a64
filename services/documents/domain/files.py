"""What may be deposited: the type is read from the content, never from the name; names are cleaned
for display only (files are stored under generated keys, so no name ever reaches the file system)."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from io import BytesIO

MAX_BYTES = 20 * 1024 * 1024


class RejectedFile(ValueError):
    """The file may not be deposited; ``code`` is ``too_large``, ``empty`` or ``unsupported_type``
    (a photo's refusals have their own codes, see ``RejectedPhoto``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str


PDF = FileKind("application/pdf", "pdf")
PNG = FileKind("image/png", "png")
JPEG = FileKind("image/jpeg", "jpg")
WEBP = FileKind("image/webp", "webp")
TEXT = FileKind("text/plain; charset=utf-8", "txt")
DOCX = FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
ODT = FileKind("application/vnd.oasis.opendocument.text", "odt")

_ODF_MIMETYPES = {"application/vnd.oasis.opendocument.text": ODT}


def _zip_kind(data: bytes) -> FileKind | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                return _ODF_MIMETYPES.get(zf.read("mimetype").decode("ascii", "replace").strip())
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        return None
    return None


def sniff(data: bytes) -> FileKind | None:
    """The file's kind from its first bytes (and, for office files, the zip's table of contents)."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if b"\x00" not in data[:8192]:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return TEXT
    return None


def check_upload(data: bytes, max_bytes: int = MAX_BYTES) -> FileKind:
    """Refuse empty, too large or unsupported files; return the detected kind."""
    if len(data) > max_bytes:
        raise RejectedFile("too_large", f"the file is larger than {max_bytes // (1024 * 1024)} MiB")
    if not data:
        raise RejectedFile("empty", "the file is empty")
    kind = sniff(data)
    if kind is None:
        raise RejectedFile(
            "unsupported_type",
            "this type of file is not accepted (PDF, images, text, Word, Excel, OpenDocument)",
        )
    return kind


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_stem(name: str, fallback: str) -> str:
    """An uploaded name's stem fit to show and to offer as a download name: no directories, no control
    or shell characters, at most 120 characters; ``fallback`` when nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return _UNSAFE.sub("_", stem).strip(" ._")[:120] or fallback


def clean_filename(name: str, kind: FileKind) -> str:
    """A display name: the safe stem with the extension of the real type."""
    return f"{safe_stem(name, 'document')}.{kind.extension}"
