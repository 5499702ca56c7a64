"""Reactions to other services' events: auth keeps every service's audit entries
(``<svc>.audit.recorded.v1``, kit/audit.py) in the school's audit log (use_cases/audit.py).

Each handler runs inside the consumer's transaction, the inbox making it once per event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.events.v1 import audit_pb2, envelope_pb2
from kit import audit
from kit.bus import Binding
from kit.settings import SERVICES
from services.auth.use_cases import audit as audit_log
from services.auth.use_cases.common import Deps


def bindings(deps: Deps) -> dict[str, Binding]:
    """One binding per service that records audit entries: every service, auth included (its own
    entries travel the same way, through its outbox and the broker)."""

    def recorded(s: Session, env: envelope_pb2.Envelope, ev: audit_pb2.AuditRecorded) -> None:
        audit_log.keep_entry(deps, s, env, ev)

    return {audit.event_name(svc): Binding(audit_pb2.AuditRecorded, recorded) for svc in SERVICES}
