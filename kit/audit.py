"""The audit log's one way in: ``record(rt, s, who, action, object_type, object_id, detail)``.

Every staff action that moves money or changes settings, people or permissions is recorded by the
service that served it, in the same transaction as the action (its outbox), as the event
``<service>.audit.recorded.v1`` carrying ``cartable.events.v1.AuditRecorded``. Auth consumes them
all into its append-only ``audit_entries`` (the actor's name resolved there), which managers read
(``AuthService.ListAuditEntries``, ``GET /api/v1/admin/audit``). The entry commits with the change or
not at all, and reaches the log once even when the broker delivers it twice (auth's inbox).

``detail`` is a short text for a person: it must carry no secret (no password, token or key); an
IBAN written in it whole is masked here (country and last 4) whatever the caller did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import Table
from sqlalchemy.orm import Session

from cartable.events.v1 import audit_pb2, envelope_pb2
from kit import bus
from kit.identity import Identity

EVENT_SUFFIX = "audit.recorded.v1"
MAX_DETAIL = 500
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$")
# An IBAN as people write it: country, check digits, then 11 to 30 letters or digits, maybe grouped by 4.
_IBAN = re.compile(r"\b([A-Z]{2})(\d{2})((?: ?[A-Z0-9]){11,30})\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def event_name(service: str) -> str:
    """The routing key of ``service``'s audit entries: ``finance.audit.recorded.v1``."""
    return f"{service}.{EVENT_SUFFIX}"


def mask_ibans(text: str) -> str:
    """Every IBAN in ``text`` reduced to its country and last 4 characters (``BE** **** **** 7034``)."""

    def masked(m: re.Match[str]) -> str:
        rest = (m.group(2) + m.group(3)).replace(" ", "")
        shown = m.group(1) + "*" * (len(rest) - 4) + rest[-4:]
        return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))

    return _IBAN.sub(masked, text)


def clean_detail(detail: str) -> str:
    """The detail as it is kept: one line, IBANs masked, at most ``MAX_DETAIL`` characters."""
    text = " ".join(_CONTROL.sub(" ", detail or "").split())
    text = mask_ibans(text)
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _service_of(target: Any) -> str:
    spec = getattr(target, "spec", None)  # kit.service.Runtime
    name = getattr(spec, "name", None) or getattr(target, "service", None)  # auth's Deps
    if not isinstance(name, str) or not name:
        raise TypeError("record() needs a runtime, or an outbox table with service=")
    return name


def _now_of(target: Any) -> datetime:
    clock: Callable[[], datetime] | None = getattr(target, "clock", None)
    now = clock() if callable(clock) else datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def record(
    target: Any,
    session: Session,
    who: Identity,
    action: str,
    object_type: str,
    object_id: str,
    detail: str = "",
    *,
    service: str | None = None,
    at: datetime | None = None,
) -> envelope_pb2.Envelope:
    """Record an audit entry in the transaction of ``session``, through the service's outbox.

    ``target`` is the service's runtime (``kit.service.Runtime``: its outbox, name and clock), or
    anything with a ``record(session, name, payload, school_id)`` method and a ``service`` name
    (auth's Deps), or the outbox ``Table`` itself with ``service=``. ``action`` is
    ``<service>.<object>.<verb>`` (e.g. ``finance.settings.iban_changed``), named after the service
    that records it; ``who`` is the caller (a staff identity, or a system one for an operator's
    command), whose school the entry belongs to."""
    name = service or _service_of(target)
    if not _ACTION.match(action or "") or not action.startswith(name + "."):
        raise ValueError(f"audit action {action!r} is not {name}.<object>.<verb>")
    if not who.school_id:
        raise ValueError("an audit entry belongs to a school")
    when = at or _now_of(target)
    payload = audit_pb2.AuditRecorded(
        school_id=who.school_id,
        actor_id=who.account_id,
        actor_role=who.role,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        detail=clean_detail(detail),
        at=when.astimezone(UTC).isoformat(),
    )
    return _write(target, session, event_name(name), payload, who.school_id)


def _write(
    target: Any, session: Session, name: str, payload: Message, school_id: str
) -> envelope_pb2.Envelope:
    if isinstance(target, Table):
        return bus.record_event(session, target, name, payload, school_id)
    recorded = target.record(session, name, payload, school_id)
    if isinstance(recorded, envelope_pb2.Envelope):
        return recorded
    return envelope_pb2.Envelope(event_name=name, school_id=school_id)
