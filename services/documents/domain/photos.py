"""Photos as the school uploads them, made fit to show to parents.

Each upload must be a JPEG or PNG by its content (the name and the declared type are not trusted),
readable to its last byte, and at most ``MAX_PIXELS`` large. It becomes three JPEG renditions:

- a thumbnail whose long side is ``THUMB_SIZE`` px (the album grid on a phone),
- a display size whose long side is ``DISPLAY_SIZE`` px (the photo opened on a screen), and
- the full size, the original's pixels up to ``FULL_SIZE`` px on the long side (the download, good
  for prints).

All are re-encoded from the pixels alone: the camera's orientation is applied to the pixels first,
then nothing of the original's metadata is written (no EXIF, so no GPS position, no XMP, no comments,
no PNG text chunks). Only an sRGB-style ICC profile of an RGB original is kept, for its colours.
The original file itself is not kept (see ``services/documents/PHOTOS.md``).

Memory: what an image takes once decoded is known from its header (width x height x the bytes a
pixel takes) and bounded by ``MAX_DECODED_BYTES`` before any pixel is decoded: a JPEG is decoded at a
reduced scale (1/2, 1/4, 1/8: the decoder's own, no full-size buffer) when whole it would not fit, a
PNG (which cannot be decoded reduced) that would not fit is refused. The work then needs about twice
that at most: the full size is scaled down to ``FULL_SIZE`` before its transparency is flattened, the
orientation is applied in place, and the display size and thumbnail are cut down from the full size
in place once it is encoded, not from copies of it. ``pixels_of`` lets a caller bound the pixels of a
whole upload before decoding any of it.

Pure functions of bytes: no I/O, no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

from services.documents.domain.files import JPEG, PNG, RejectedFile, safe_stem, sniff

THUMB_SIZE = 320
DISPLAY_SIZE = 1600
FULL_SIZE = 4096  # 16 megapixels at 4:3: a 20 x 27 cm print at 380 dpi
MAX_PIXELS = 80_000_000  # a 48-megapixel phone photo passes; a decompression bomb does not
# One image's pixels as decoded: a 12-megapixel colour photo whole (Pillow keeps a colour pixel in 4
# bytes), a 48-megapixel JPEG at half its size, a PNG of at most 12.5 megapixels in colour, 50 in grey.
MAX_DECODED_BYTES = 48 * 1024 * 1024
MAX_PROCESSING_BYTES = MAX_DECODED_BYTES * 5 // 2 + 8 * 1024 * 1024  # what memory_of answers at most
THUMB_QUALITY = 80
DISPLAY_QUALITY = 86
FULL_QUALITY = 92
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, for any other image opened here
CONTENT_TYPE = "image/jpeg"


class RejectedPhoto(RejectedFile):
    """The file cannot become a photo; ``code`` is ``empty``, ``unsupported_type``, ``too_large``
    (pixels) or ``unreadable``."""


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    thumbnail: Rendition
    display: Rendition
    full: Rendition


def _header(data: bytes) -> tuple[str, tuple[int, int], str] | None:
    """The format, size and mode a JPEG or PNG declares in its header (nothing decoded); None when it
    cannot be read (``process_photo`` then says why)."""
    kind = sniff(data[:16])
    if kind not in (JPEG, PNG):
        return None
    fmt = "JPEG" if kind is JPEG else "PNG"
    try:
        with Image.open(BytesIO(data), formats=[fmt]) as probe:
            return fmt, probe.size, probe.mode
    except Exception:  # noqa: BLE001 - any unreadable header: process_photo reports it
        return None


def pixels_of(data: bytes) -> int:
    """The pixel count a JPEG or PNG declares in its header (nothing decoded); 0 when it cannot be
    read (``process_photo`` then says why)."""
    header = _header(data)
    return 0 if header is None else header[1][0] * header[1][1]


def memory_of(data: bytes) -> int:
    """The memory ``process_photo`` may take for this file at most, from its header (nothing
    decoded): its pixels as decoded (reduced for a big JPEG), 2.5 times (the scaled full size, the
    pixels made opaque, the encoders' buffers; measured), and a few MiB; 0 for a file it refuses
    outright. At most ``MAX_PROCESSING_BYTES``."""
    header = _header(data)
    if header is None:
        return 0
    fmt, size, mode = header
    if size[0] * size[1] > MAX_PIXELS:
        return 0
    scale = _jpeg_scale(size, mode) if fmt == "JPEG" else 1
    decoded = _decoded_bytes(size, mode, scale)
    return 0 if decoded > MAX_DECODED_BYTES else decoded * 5 // 2 + 8 * 1024 * 1024


def _pixel_bytes(mode: str) -> int:
    """What one pixel takes while the image is worked on: 1 byte in greyscale, 4 otherwise (Pillow
    keeps RGB, RGBA and CMYK in 4 bytes, and the other modes become RGB or RGBA before they are
    scaled)."""
    return 1 if mode == "L" else 4


def _decoded_bytes(size: tuple[int, int], mode: str, scale: int = 1) -> int:
    w, h = size
    return -(-w // scale) * -(-h // scale) * _pixel_bytes(mode)


def _jpeg_scale(size: tuple[int, int], mode: str) -> int:
    """The JPEG decoder's reduction, 1, 2, 4 or 8: as much as keeps the full size (``FULL_SIZE``) at
    its best, and at least as much as keeps the decoded pixels within ``MAX_DECODED_BYTES``."""
    w, h = size
    fw, fh = _fit(size, FULL_SIZE)
    quality = min(w // fw, h // fh)
    scale = max(s for s in (1, 2, 4, 8) if s <= quality)
    while scale < 8 and _decoded_bytes(size, mode, scale) > MAX_DECODED_BYTES:
        scale *= 2
    return scale


def _too_large(what: str) -> RejectedPhoto:
    return RejectedPhoto("too_large", what)


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so its long side is at most ``box``."""
    w, h = size
    scale = min(1.0, box / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _flatten(im: Image.Image) -> Image.Image:
    """RGB or L pixels; transparency laid on white (JPEG has no alpha)."""
    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale PNG
        return im.point(lambda v: v / 256).convert("L")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")  # no copy of what already is RGBA
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return im.convert("RGB")


def _encode(im: Image.Image, quality: int, icc: bytes | None, progressive: bool) -> Rendition:
    im.info = {}  # nothing of the original's metadata is carried over (Pillow copies "comment")
    out = BytesIO()
    params: dict[str, object] = {"quality": quality, "optimize": True, "progressive": progressive}
    if icc:
        params["icc_profile"] = icc
    im.save(out, "JPEG", **params)
    return Rendition(out.getvalue(), im.width, im.height)


def process_photo(data: bytes) -> ProcessedPhoto:
    """The thumbnail, display and full size of an uploaded photo, or ``RejectedPhoto``."""
    if not data:
        raise RejectedPhoto("empty", "the file is empty")
    kind = sniff(data[:16])
    if kind not in (JPEG, PNG):
        raise RejectedPhoto("unsupported_type", "not a JPEG or PNG image")
    fmt = "JPEG" if kind is JPEG else "PNG"
    try:
        with Image.open(BytesIO(data), formats=[fmt]) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise _too_large(f"the image has more than {MAX_PIXELS // 1_000_000} megapixels")
            scale = _jpeg_scale(probe.size, probe.mode) if fmt == "JPEG" else 1
            if _decoded_bytes(probe.size, probe.mode, scale) > MAX_DECODED_BYTES:
                most = MAX_DECODED_BYTES // _pixel_bytes(probe.mode) / 1_000_000
                raise _too_large(
                    f"the image is too large to process ({probe.width * probe.height / 1_000_000:.1f} "
                    f"megapixels; a {fmt} like it may have at most {most:.1f}): save it as a JPEG"
                )
            probe.verify()  # PNG: every chunk's checksum
        im: Image.Image = Image.open(BytesIO(data), formats=[fmt])
        icc = im.info.get("icc_profile") if im.mode == "RGB" else None
        if fmt == "JPEG":
            # Decoded at a reduced scale by the decoder itself: faster, and never the whole size when
            # the whole size would not fit (see MAX_DECODED_BYTES).
            im.draft("RGB", (im.width // scale, im.height // scale))
        im.load()  # a truncated or corrupt file fails here
        ImageOps.exif_transpose(im, in_place=True)  # the camera's orientation, applied to the pixels
        if im.mode in ("RGB", "RGBA", "L", "LA") and max(im.size) > FULL_SIZE:
            im.thumbnail((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        full = _flatten(im)
        del im
        if max(full.size) > FULL_SIZE:  # modes that could not be scaled before flattening
            full.thumbnail((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        # Each rendition is encoded, then cut down in place to the next one: no copy of the full size.
        full_size = _encode(full, FULL_QUALITY, icc, progressive=True)
        full.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        display = _encode(full, DISPLAY_QUALITY, icc, progressive=True)
        full.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        thumbnail = _encode(full, THUMB_QUALITY, icc, progressive=False)
    except RejectedPhoto:
        raise
    except Image.DecompressionBombError:
        raise _too_large(f"the image has more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise RejectedPhoto("unreadable", "the image is damaged or cannot be read") from exc
    return ProcessedPhoto(thumbnail=thumbnail, display=display, full=full_size)


def photo_filename(name: str, fallback: str) -> str:
    """The download name: the uploaded name's safe stem (or ``fallback``) with ``.jpg``."""
    return f"{safe_stem(name, fallback)}.jpg"
