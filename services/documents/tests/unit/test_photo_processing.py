"""Turning an uploaded file into the thumbnail and display size: content checks, sizes, orientation,
and no metadata carried over (above all no GPS position)."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from io import BytesIO

import pytest
from PIL import Image

from kit.settings import ROOT
from services.documents.domain.photos import (
    DISPLAY_SIZE,
    FULL_SIZE,
    MAX_DECODED_BYTES,
    MAX_PIXELS,
    MAX_PROCESSING_BYTES,
    THUMB_SIZE,
    RejectedPhoto,
    memory_of,
    photo_filename,
    pixels_of,
    process_photo,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size=(2400, 1800), orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (50.0, 50.0, 12.5), 3: "E", 4: (4.0, 21.0, 7.25)})
    out = BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(
        out, "JPEG", exif=exif, comment=b"chez Emma", xmp=b"<x:xmpmeta>GPSLatitude 50,50N</x:xmpmeta>"
    )
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def test_the_test_photo_really_carries_a_gps_position():
    assert opened(jpeg_with_gps()).getexif().get_ifd(GPS_IFD)[1] == "N"


def test_no_metadata_survives_in_either_rendition():
    done = process_photo(jpeg_with_gps())
    for rendition in (done.thumbnail, done.display, done.full):
        im = opened(rendition.data)
        assert im.format == "JPEG"
        assert dict(im.getexif()) == {} and not im.getexif().get_ifd(GPS_IFD)
        assert "exif" not in im.info and "xmp" not in im.info and "comment" not in im.info
        assert b"GPS" not in rendition.data and b"Emma" not in rendition.data


def test_sizes_fit_the_thumbnail_and_display_boxes():
    done = process_photo(jpeg_with_gps((2400, 1800)))
    assert (done.display.width, done.display.height) == (DISPLAY_SIZE, 1200)
    assert (done.thumbnail.width, done.thumbnail.height) == (THUMB_SIZE, 240)
    assert opened(done.thumbnail.data).size == (THUMB_SIZE, 240)
    assert len(done.thumbnail.data) < 20_000
    # the download keeps the original's pixels
    assert (done.full.width, done.full.height) == (2400, 1800) == opened(done.full.data).size


def test_the_full_size_stops_at_its_box_also_for_a_big_transparent_png():
    out = BytesIO()
    Image.new("RGBA", (6000, 1500), (0, 0, 255, 128)).save(out, "PNG")
    assert pixels_of(out.getvalue()) == 9_000_000
    done = process_photo(out.getvalue())
    assert (done.full.width, done.full.height) == (FULL_SIZE, 1024)
    assert (done.display.width, done.display.height) == (DISPLAY_SIZE, 400)
    assert opened(done.full.data).mode == "RGB"


def test_the_cameras_orientation_is_applied_to_the_pixels():
    done = process_photo(jpeg_with_gps((2400, 1800), orientation=6))  # taken with the phone upright
    assert (done.display.width, done.display.height) == (1200, DISPLAY_SIZE)
    assert opened(done.display.data).size == (1200, DISPLAY_SIZE)


def test_small_pictures_are_not_enlarged():
    out = BytesIO()
    Image.new("RGB", (200, 100), "white").save(out, "PNG")
    done = process_photo(out.getvalue())
    assert (done.display.width, done.display.height) == (200, 100)
    assert (done.thumbnail.width, done.thumbnail.height) == (200, 100)


def test_a_transparent_png_becomes_a_jpeg_on_white():
    out = BytesIO()
    Image.new("RGBA", (400, 400), (255, 0, 0, 0)).save(out, "PNG")
    im = opened(process_photo(out.getvalue()).display.data)
    assert im.format == "JPEG" and im.mode == "RGB"
    assert all(c > 245 for c in im.getpixel((10, 10)))


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        ("Réunion à 18 h".encode(), "unsupported_type"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "unsupported_type"),
        (b"%PDF-1.4\n%%EOF\n", "unsupported_type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "unreadable"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "unreadable"),
    ],
)
def test_files_that_are_not_readable_jpeg_or_png_are_refused(content, code):
    with pytest.raises(RejectedPhoto) as exc:
        process_photo(content)
    assert exc.value.code == code


def test_a_truncated_jpeg_is_refused():
    data = jpeg_with_gps()
    with pytest.raises(RejectedPhoto) as exc:
        process_photo(data[: len(data) // 2])
    assert exc.value.code == "unreadable"


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding():
    out = BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    # the header says 9000 x 9000 (81 megapixels), with a valid checksum; the pixels are not there
    data[16:24] = (9000).to_bytes(4, "big") + (9000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(RejectedPhoto) as exc:
        process_photo(bytes(data))
    assert exc.value.code == "too_large"


def test_pixels_are_read_from_the_header_only():
    assert pixels_of(jpeg_with_gps((2400, 1800))) == 4_320_000
    assert pixels_of(b"%PDF-1.4") == 0 and pixels_of(b"\xff\xd8\xff\xe0" + b"\x00" * 20) == 0


def test_download_names_keep_the_stem_and_say_jpg():
    assert photo_filename("C:\\Users\\x\\IMG_2034.PNG", "photo-1") == "IMG_2034.jpg"
    assert photo_filename("../../etc/passwd", "photo-1") == "passwd.jpg"
    assert photo_filename("", "photo-3") == "photo-3.jpg"


# -- memory: what an image takes once decoded is bounded before any pixel is decoded ----------------

MEASURE = """
import json, resource, sys, time
from services.documents.domain.photos import RejectedPhoto, process_photo
data = open(sys.argv[1], "rb").read()
before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
try:
    done = process_photo(data)
    out = {"full": [done.full.width, done.full.height]}
except RejectedPhoto as e:
    out = {"refused": e.code}
out["seconds"] = time.perf_counter() - started
out["peak_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(out))
"""


def processed_in_a_fresh_process(path) -> dict:
    """process_photo on the file in a new interpreter: the growth of its peak resident memory (what
    Pillow allocates is outside tracemalloc's view) and the outcome."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def png_header_claiming(width: int, height: int, colour: str = "RGB") -> bytes:
    """A 1x1 PNG whose header says ``width`` x ``height`` (a valid checksum; the pixels are not there)."""
    out = BytesIO()
    Image.new(colour, (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def png_bomb(width: int, height: int) -> bytes:
    """A real greyscale PNG of zeros, compressed a row at a time: tiny on the wire, huge decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    packer, row, idat = zlib.compressobj(9), bytes(1 + width), b""
    for _ in range(height):
        idat += packer.compress(row)
    idat += packer.flush()
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_header_claiming(width: int, height: int) -> bytes:
    """A small colour JPEG whose frame header says ``width`` x ``height``."""
    out = BytesIO()
    Image.new("RGB", (16, 16), (40, 120, 200)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_a_png_whose_pixels_would_not_fit_in_memory_is_refused_before_decoding():
    # 14 megapixels (under MAX_PIXELS) in colour: 56 MB once decoded, more than MAX_DECODED_BYTES
    data = png_header_claiming(4000, 3500)
    assert memory_of(data) == 0
    with pytest.raises(RejectedPhoto) as exc:
        process_photo(data)
    assert exc.value.code == "too_large"  # a decode would have said "unreadable": the pixels are missing
    assert "save it as a JPEG" in exc.value.message


def test_a_png_bomb_is_refused_before_decoding(tmp_path):
    bomb = png_bomb(8000, 8000)  # 64 megapixels of zeros in ~60 KB
    assert len(bomb) < 100_000 and pixels_of(bomb) == 64_000_000 < MAX_PIXELS
    (tmp_path / "bomb.png").write_bytes(bomb)
    done = processed_in_a_fresh_process(tmp_path / "bomb.png")
    assert done["refused"] == "too_large"
    assert done["peak_mib"] < 8 and done["seconds"] < 1  # decoded, it would take 64 MB and more


def test_a_big_jpeg_is_decoded_reduced_by_the_decoder_within_the_memory_bound(tmp_path):
    out = BytesIO()
    Image.new("RGB", (4400, 3300), (40, 120, 200)).save(out, "JPEG")  # 14.5 MP: 58 MB decoded whole
    (tmp_path / "big.jpg").write_bytes(out.getvalue())
    done = processed_in_a_fresh_process(tmp_path / "big.jpg")
    assert done["full"] == [2200, 1650]  # decoded at half its size: the full size is the half
    assert done["peak_mib"] * 1024 * 1024 < memory_of(out.getvalue()) <= MAX_PROCESSING_BYTES


def test_a_48_megapixel_jpeg_is_planned_at_half_its_size():
    # 8000 x 6000 decoded at 1/2: 4000 x 3000 pixels of 4 bytes, 2.5 times, and a few MiB
    assert memory_of(jpeg_header_claiming(8000, 6000)) == 4000 * 3000 * 4 * 5 // 2 + 8 * 1024 * 1024
    assert memory_of(jpeg_header_claiming(4032, 3024)) == 4032 * 3024 * 4 * 5 // 2 + 8 * 1024 * 1024  # whole
    assert MAX_DECODED_BYTES >= 4000 * 3000 * 4
