"""The school's audit log (API.md ``GET /api/v1/admin/audit``): keeping the entries every service
records (``<svc>.audit.recorded.v1``, kit/audit.py) and showing them to the school's staff.

Entries are only ever added: each once (its id is the event's; the consumer's inbox and the table's
key both refuse a second delivery), with the actor's name as auth's accounts have it at that moment,
so that the log still says who acted after the account was renamed or disabled.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from cartable.events.v1 import audit_pb2, envelope_pb2
from kit.errors import InvalidRequest
from kit.identity import Identity
from services.auth import views
from services.auth.db import audit, aware, directory
from services.auth.db import erasure as erasures
from services.auth.domain.usernames import display_name
from services.auth.use_cases.common import Deps, log

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ERASED_ACTION = "auth.family.erased"  # ids only: kept as it is


def list_audit_entries(
    deps: Deps, who: Identity, limit: int = 0, cursor: str = ""
) -> pb.ListAuditEntriesResponse:
    """Staff: the school's audit entries, newest first, ``limit`` at a time (1-200, 50 by default),
    from ``cursor`` (the ``next_cursor`` of the page before)."""
    who.require_staff()
    if limit < 0 or limit > MAX_LIMIT:
        raise InvalidRequest("limit is 1 to 200", fields={"limit": f"1 to {MAX_LIMIT}"})
    size = limit or DEFAULT_LIMIT
    after = _decode_cursor(cursor) if cursor else None
    with deps.db.unit_of_work() as s:
        rows = audit.entries(s, who.school_id, size + 1, after)
    more, rows = len(rows) > size, rows[:size]
    last = rows[-1] if rows else None
    return pb.ListAuditEntriesResponse(
        entries=[views.audit_entry(r) for r in rows],
        next_cursor=_encode_cursor(aware(last.at), last.seq) if more and last is not None else "",
    )


def keep_entry(deps: Deps, s: Session, env: envelope_pb2.Envelope, ev: audit_pb2.AuditRecorded) -> bool:
    """An entry a service recorded, kept in the log (in the consumer's transaction); False when it
    was kept already. The school is the envelope's (the recording service's word); the actor's name
    is resolved from auth's accounts, of that school only."""
    school_id = env.school_id or ev.school_id
    actor = directory.account(s, ev.actor_id) if ev.actor_id else None
    name = display_name(actor.first_name, actor.last_name) if actor and actor.school_id == school_id else ""
    at = _instant(ev.at, env)
    detail, redacted_at = ev.detail, None
    # An entry about an erased family made before the erasure reached us after it (it was on its
    # way): its detail may name them, and the erasure's redaction did not see it (use_cases/erasure.py).
    erased = erasures.erased_at(s, [ev.object_id, ev.actor_id])
    if erased is not None and at <= aware(erased) and ev.action != ERASED_ACTION:
        detail, redacted_at = "", deps.clock()
    kept = audit.keep_entry(
        s,
        id=env.event_id,
        school_id=school_id,
        at=at,
        actor_id=ev.actor_id[:36],
        actor_role=(ev.actor_role or "staff")[:10],
        actor_name=name[:200],
        action=ev.action[:80],
        object_type=ev.object_type[:40],
        object_id=ev.object_id[:64],
        detail=detail[:500],
        recorded_at=deps.clock(),
        redacted_at=redacted_at,
    )
    if not kept:
        log.info("audit entry already kept", extra={"event_id": env.event_id})
    return kept


def _instant(text: str, env: envelope_pb2.Envelope) -> datetime:
    """When the action was done: the entry's ``at``, else when the event was made."""
    try:
        at = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        at = None
    if at is None or at.tzinfo is None:
        at = env.occurred_at.ToDatetime(tzinfo=UTC) if env.HasField("occurred_at") else datetime.now(UTC)
    return at.astimezone(UTC)


def _encode_cursor(at: datetime, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{at.astimezone(UTC).isoformat()}|{seq}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return aware(datetime.fromisoformat(at)).astimezone(UTC), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"}) from None
