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

Memory: a big image is scaled down to ``FULL_SIZE`` before its transparency is flattened, and
``pixels_of`` lets a caller bound the pixels of a whole upload before decoding any of it.

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


def pixels_of(data: bytes) -> int:
    """The pixel count a JPEG or PNG declares in its header (nothing decoded); 0 when it cannot be
    read (``process_photo`` then says why)."""
    kind = sniff(data[:16])
    if kind not in (JPEG, PNG):
        return 0
    try:
        with Image.open(BytesIO(data), formats=["JPEG" if kind is JPEG else "PNG"]) as probe:
            return probe.width * probe.height
    except Exception:  # noqa: BLE001 - any unreadable header: process_photo reports it
        return 0


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
        rgba = im.convert("RGBA")
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
                raise RejectedPhoto(
                    "too_large", f"the image has more than {MAX_PIXELS // 1_000_000} megapixels"
                )
            probe.verify()  # PNG: every chunk's checksum
        im: Image.Image = Image.open(BytesIO(data), formats=[fmt])
        icc = im.info.get("icc_profile") if im.mode == "RGB" else None
        if fmt == "JPEG":
            # Decode at a reduced scale when the display size allows it (much faster for big photos).
            im.draft("RGB", _fit(im.size, FULL_SIZE))
        im.load()  # a truncated or corrupt file fails here
        im = ImageOps.exif_transpose(im)  # the camera's orientation, applied to the pixels
        if im.mode in ("RGB", "RGBA", "L", "LA") and max(im.size) > FULL_SIZE:
            im.thumbnail((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        full = _flatten(im)
        del im
        if max(full.size) > FULL_SIZE:  # modes that could not be scaled before flattening
            full.thumbnail((FULL_SIZE, FULL_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        display = full.copy()
        display.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        thumb = display.copy()
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    except RejectedPhoto:
        raise
    except Image.DecompressionBombError:
        raise RejectedPhoto(
            "too_large", f"the image has more than {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise RejectedPhoto("unreadable", "the image is damaged or cannot be read") from exc
    return ProcessedPhoto(
        thumbnail=_encode(thumb, THUMB_QUALITY, icc, progressive=False),
        display=_encode(display, DISPLAY_QUALITY, icc, progressive=True),
        full=_encode(full, FULL_QUALITY, icc, progressive=True),
    )


def photo_filename(name: str, fallback: str) -> str:
    """The download name: the uploaded name's safe stem (or ``fallback``) with ``.jpg``."""
    return f"{safe_stem(name, fallback)}.jpg"
