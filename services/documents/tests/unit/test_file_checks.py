"""What may be deposited: the type read from the content, office files told from their zip's table of
contents, and zips that unpack to far more than they weigh (decompression bombs) refused quickly,
without unpacking them."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zipfile
from io import BytesIO

import pytest

from services.documents.domain.files import (
    DOCX,
    MAX_ZIP_MEMBERS,
    ODT,
    XLSX,
    RejectedFile,
    check_upload,
)

BOMB_UNPACKED = 150 * 1024 * 1024


def office_zip(members: dict[str, bytes]) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def docx_whose_mimetype_inflates(size: int = BOMB_UNPACKED) -> bytes:
    """A Word file (its parts are there) with a ``mimetype`` entry of ``size`` zero bytes, written a
    MiB at a time: ~150 KB on the wire."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("mimetype", "w", force_zip64=False) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def declaring(data: bytes, member: bytes, size: int) -> bytes:
    """The zip with ``member``'s unpacked size rewritten to ``size`` in its local header and in the
    table of contents: a header that lies."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")  # the first member is the one written first
    assert out[local + 30 : local + 30 + len(member)] == member
    struct.pack_into("<I", out, local + 22, size)
    central = out.find(b"PK\x01\x02")
    while out[central + 46 : central + 46 + len(member)] != member:
        central = out.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = docx_whose_mimetype_inflates()
    assert len(data) < 200 * 1024  # ~150 KB on the wire, 150 MB unpacked
    return data


def measured(data: bytes) -> tuple[RejectedFile, int, float]:
    """The refusal of ``data``, the peak of memory allocated meanwhile and the time it took."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RejectedFile) as exc:
            check_upload(data)
        return exc.value, tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


def test_office_files_are_told_by_their_table_of_contents():
    parts = {"[Content_Types].xml": b"<Types/>"}
    assert check_upload(office_zip({**parts, "word/document.xml": b"<w:document/>"})) is DOCX
    assert check_upload(office_zip({**parts, "xl/workbook.xml": b"<workbook/>"})) is XLSX
    odt = office_zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert check_upload(odt) is ODT


def test_a_docx_whose_mimetype_inflates_to_150_mb_is_refused_quickly_without_unpacking_it(bomb):
    refused, peak, seconds = measured(bomb)
    assert refused.code == "unsafe_archive"
    assert "unpacks to 150 MiB" in refused.message
    assert peak < 4 * 1024 * 1024, f"{peak / 1e6:.1f} MB allocated"
    assert seconds < 1.0


def test_a_member_whose_header_understates_its_size_is_read_up_to_a_limit_only(bomb):
    liar = declaring(bomb, b"mimetype", 39)  # the size of a real ODF mimetype
    refused, peak, seconds = measured(liar)
    assert refused.code in ("unsafe_archive", "unsupported_type")
    assert peak < 4 * 1024 * 1024, f"{peak / 1e6:.1f} MB allocated"
    assert seconds < 1.0


def test_a_mimetype_entry_bigger_than_any_real_one_is_refused():
    data = office_zip({"mimetype": b"application/vnd.oasis.opendocument.text" + b" " * 4000})
    with pytest.raises(RejectedFile) as exc:
        check_upload(data)
    assert exc.value.code == "unsafe_archive" and "mimetype" in exc.value.message


def test_a_zip_of_too_many_entries_is_refused_before_its_table_of_contents_is_read():
    data = office_zip({f"{i}": b"" for i in range(MAX_ZIP_MEMBERS + 1)})
    refused, peak, _seconds = measured(data)
    assert refused.code == "unsafe_archive" and "entries" in refused.message
    assert peak < 1024 * 1024  # zipfile would build an object per entry
