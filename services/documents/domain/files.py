"""What may be deposited: the type is read from the content, never from the name; names are cleaned
for display only (files are stored under generated keys, so no name ever reaches the file system)."""

from __future__ import annotations

import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO

MAX_BYTES = 20 * 1024 * 1024

# Office files are zips, and a zip can declare (or hold) far more than it weighs: a 150 KB upload
# whose ``mimetype`` entry inflates to 150 MB. Nothing of a zip is unpacked whole: its table of
# contents is bounded before it is read, and a member read to tell the type is read up to a limit.
MAX_ZIP_MEMBERS = 10_000  # a Word, Excel or OpenDocument file has tens to a few hundred
MAX_SNIFFED_MEMBER_BYTES = 1024  # what is read of a member to tell the type (``mimetype``: ~40 bytes)
MAX_ZIP_RATIO = 100  # unpacked / packed: XML deflates ~10:1, pictures ~1:1; only crafted data does more
MAX_ZIP_UNPACKED_FLOOR = 64 * 1024 * 1024  # a small file may still unpack to this much in all


class RejectedFile(ValueError):
    """The file may not be deposited; ``code`` is ``too_large``, ``empty``, ``unsupported_type`` or
    ``unsafe_archive`` (a zip that unpacks to far more than it weighs: a decompression bomb); a photo's
    refusals have their own codes, see ``RejectedPhoto``."""

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


def _unsafe_archive(why: str) -> RejectedFile:
    return RejectedFile("unsafe_archive", f"this archive is refused: {why}")


def _declared_members(data: bytes) -> int | None:
    """The member count the zip's end record declares (read before the table of contents is parsed:
    zipfile builds an object per member); None when there is no end record (not a readable zip)."""
    tail = data[-(0xFFFF + 22) :]  # the end record (22 bytes) and its comment (at most 64 KiB)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    (count,) = struct.unpack_from("<H", tail, at + 10)
    return int(count)  # 0xFFFF: a zip64 archive, whose real count is elsewhere; refused as too many


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member read to tell the type, never more than ``MAX_SNIFFED_MEMBER_BYTES`` unpacked, even when
    its header lies about its size."""
    if info.file_size > MAX_SNIFFED_MEMBER_BYTES:
        raise _unsafe_archive(f"its entry {info.filename!r} unpacks to {info.file_size} bytes")
    with zf.open(info) as member:
        raw = member.read(MAX_SNIFFED_MEMBER_BYTES + 1)
    if len(raw) > MAX_SNIFFED_MEMBER_BYTES:
        raise _unsafe_archive(f"its entry {info.filename!r} unpacks to more than it declares")
    return raw


def _zip_kind(data: bytes) -> FileKind | None:
    members = _declared_members(data)
    if members is None:
        return None
    if members > MAX_ZIP_MEMBERS:
        raise _unsafe_archive(f"it holds more than {MAX_ZIP_MEMBERS} entries")
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise _unsafe_archive(f"it holds more than {MAX_ZIP_MEMBERS} entries")
            unpacked = sum(i.file_size for i in infos)
            if unpacked > max(MAX_ZIP_UNPACKED_FLOOR, MAX_ZIP_RATIO * len(data)):
                raise _unsafe_archive(
                    f"it unpacks to {unpacked // (1024 * 1024)} MiB from {len(data) // 1024} KiB"
                )
            by_name = {i.filename: i for i in infos}
            if "mimetype" in by_name:
                mimetype = _read_member(zf, by_name["mimetype"]).decode("ascii", "replace").strip()
                return _ODF_MIMETYPES.get(mimetype)
            if "[Content_Types].xml" in by_name:
                if any(n.startswith("word/") for n in by_name):
                    return DOCX
                if any(n.startswith("xl/") for n in by_name):
                    return XLSX
    except RejectedFile:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, ValueError, zlib.error):
        return None  # NotImplementedError (an unknown compression method) is a RuntimeError
    return None


def sniff(data: bytes) -> FileKind | None:
    """The file's kind from its first bytes (and, for office files, the zip's table of contents);
    ``RejectedFile`` (``unsafe_archive``) for a zip that would unpack to far more than it weighs."""
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
    """Refuse empty, too large, unsupported or unsafe (decompression bomb) files; return the detected
    kind."""
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
