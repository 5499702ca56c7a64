"""Pages of auth's lists: the shared keyset paging of ``kit.paging`` (page size, opaque cursor)."""

from kit.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor, page_size

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "decode_cursor", "encode_cursor", "page_size"]
