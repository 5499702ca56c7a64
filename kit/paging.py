"""Pages of a list sorted by a few columns, computed where the rows are (keyset paging): the page size
asked for, and the cursor that says where the next page starts (the sort values of the last row
given, opaque to the caller). Every service's lists page the same way."""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["DEFAULT_LIMIT", "MAX_CURSOR_CHARS", "MAX_LIMIT", "decode_cursor", "encode_cursor", "page_size"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 1000


def page_size(limit: int, paged: bool) -> int | None:
    """How many rows a page holds: ``limit`` (1-200), or 50 when 0; None (everything) when 0 and the
    request is not ``paged``. ValueError for a limit out of range."""
    if limit < 0 or limit > MAX_LIMIT:
        raise ValueError(f"1 to {MAX_LIMIT}")
    if limit:
        return limit
    return DEFAULT_LIMIT if paged else None


def encode_cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The sort values a cursor carries; ValueError when it is not one of ours of that many values."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValueError("not a cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, binascii.Error, UnicodeError):
        raise ValueError("not a cursor") from None
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, str) for v in values):
        raise ValueError("not a cursor")
    return values
