"""A family's data (issue #21): the pieces every service uses to answer for its own part.

- :func:`registration` serves ``cartable.privacy.v1.FamilyDataService`` on a service's server with the
  service's own ``export(identity, parent_id, student_ids) -> list[ExportFile]``, after
  :func:`require_export_caller` checked who asks.
- :func:`json_file` writes one part (``"<service>/<what>.json"``: UTF-8, indented, keys sorted).
- :func:`erasure_binding` binds ``auth.family.erased.v1`` (auth decided who is erased) to a service's
  ``erase(session, event)``; :func:`purge_published` deletes the outbox rows already published (their
  payloads may carry the family's names; once out they are only history).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.privacy.v1 import privacy_pb2 as pb
from cartable.privacy.v1 import privacy_pb2_grpc as pb_grpc
from kit.bus import Binding
from kit.errors import Forbidden, InvalidRequest
from kit.grpcserver import Registration
from kit.identity import Identity, current

SERVICE = "cartable.privacy.v1.FamilyDataService"
FAMILY_ERASED = "auth.family.erased.v1"
JSON = "application/json"

Export = Callable[[Identity, str, list[str]], list[pb.ExportFile]]
Erase = Callable[[Session, auth_events.FamilyErased], None]


def require_export_caller(ident: Identity, parent_id: str, student_ids: Iterable[str]) -> list[str]:
    """Who may have a family's data: the parent themself, for their own children (active or left),
    or the school's staff (every query is then scoped to the caller's school). Returns the student
    ids, deduplicated, in order. A parent asking for another account or a child not theirs:
    PERMISSION_DENIED."""
    if not parent_id:
        raise InvalidRequest("parent_id is required", fields={"parent_id": "required"})
    ids = list(dict.fromkeys(s for s in student_ids if s))
    if ident.is_staff:
        return ids
    if ident.role != "parent" or ident.account_id != parent_id:
        raise Forbidden("only the parent themself or the school's staff may export this family's data")
    for student_id in ids:
        ident.require_student(student_id)
    return ids


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_file(name: str, data: Any) -> pb.ExportFile:
    """One JSON part of the export (dates as ISO 8601, keys sorted, indented, UTF-8)."""
    text = json.dumps(data, default=_default, ensure_ascii=False, indent=2, sort_keys=True)
    return pb.ExportFile(name=name, content=text.encode("utf-8"), content_type=JSON)


def rows(result: Iterable[Any]) -> list[dict[str, Any]]:
    """SQLAlchemy rows as plain dicts (what :func:`json_file` writes)."""
    return [dict(r._mapping) for r in result]


class FamilyDataServicer(pb_grpc.FamilyDataServiceServicer):
    def __init__(self, export: Export) -> None:
        self.export = export

    def ExportFamilyData(
        self, request: pb.ExportFamilyDataRequest, context: Any
    ) -> pb.ExportFamilyDataResponse:
        ident = current()
        student_ids = require_export_caller(ident, request.parent_id, request.student_ids)
        return pb.ExportFamilyDataResponse(files=self.export(ident, request.parent_id, student_ids))


def registration(export: Export) -> Registration:
    """``FamilyDataService`` on a service's server, answering with ``export``."""
    return Registration(pb_grpc.add_FamilyDataServiceServicer_to_server, FamilyDataServicer(export), SERVICE)


def erasure_binding(erase: Erase) -> dict[str, Binding[Any]]:
    """The binding of ``auth.family.erased.v1`` to ``erase(session, event)`` (merge it into the
    service's bindings). The consumer's inbox makes it run once per event; ``erase`` must still be
    idempotent (a retention run and a request may name the same family)."""

    def handle(session: Session, env: Any, event: auth_events.FamilyErased) -> None:
        if not event.school_id:
            event.school_id = env.school_id
        erase(session, event)

    return {FAMILY_ERASED: Binding(auth_events.FamilyErased, handle)}


def purge_published(session: Session, outbox: Table) -> int:
    """Delete the outbox rows already published (in the handler's transaction): an erased family's
    names may be in their payloads. Rows not yet published stay (the relay still owes them)."""
    result = session.execute(delete(outbox).where(outbox.c.published_at.is_not(None)))
    return int(getattr(result, "rowcount", 0) or 0)
