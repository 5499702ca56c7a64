"""The school's audit log (auth's ListAuditEntries): the staff actions every service recorded, newest
first, shared by ``GET /api/v1/admin/audit`` and the page /gestion/journal."""

from __future__ import annotations

from cartable.auth.v1 import auth_pb2
from gateway.clients import rpc
from kit.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 200


def audit_limit(raw: str | None) -> int:
    """``?limit`` as API.md has it: 1 to 200, 50 when absent. auth reads 0 as its default, so a
    0 (or anything not a whole number) is refused here rather than answered with 50 entries."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidRequest(
            f"limit must be between 1 and {MAX_LIMIT}", fields={"limit": f"1 to {MAX_LIMIT}"}
        )
    return int(text)


def list_audit_entries(limit: int = DEFAULT_LIMIT, cursor: str = "") -> auth_pb2.ListAuditEntriesResponse:
    """One page of the caller's school's audit log (``entries``, ``next_cursor`` "" on the last page).
    The cursor is auth's, passed as given: a bad one is auth's InvalidRequest (``fields.cursor``);
    an absurdly long one is refused here before it travels."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
    return rpc("auth", "ListAuditEntries", auth_pb2.ListAuditEntriesRequest(limit=limit, cursor=cursor))
