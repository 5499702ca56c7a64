"""Turning an uploaded file into the thumbnail and display size: content checks, sizes, orientation,
and no metadata carried over (above all no GPS position)."""

from __future__ import annotations

import zlib
from io import BytesIO

import pytest
from PIL import Image

from services.documents.domain.photos import (
    DISPLAY_SIZE,
    FULL_SIZE,
    THUMB_SIZE,
    RejectedPhoto,
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
