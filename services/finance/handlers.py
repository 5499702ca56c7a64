"""Reactions to other services' events: a student created in auth gets its wallets here, and a
student's change (names, class, level, leaving the school) follows here."""

from __future__ import annotations

from datetime import UTC

from cartable.auth.v1 import events_pb2 as auth_events
from kit.bus import Binding
from services.finance.use_cases.wallets import LEVELS, Wallets


def bindings(wallets: Wallets) -> dict[str, Binding]:
    def student_created(session, env, event: auth_events.StudentCreated) -> None:
        # The same work as OpenStudentWallets (the gateway calls it right after creating the student);
        # whichever comes second finds the wallets open and changes nothing. A late event never
        # changes what a later call set (the level, hence the communications).
        level = event.level if event.level in LEVELS else "primary"
        wallets.open_wallets_in(
            session,
            env.school_id,
            event.student_id,
            level,
            class_name=event.class_name,
            update_existing=False,
        )

    def student_updated(session, env, event: auth_events.StudentUpdated) -> None:
        # names, class, level as auth has them now (a class move, a correction, primary -> secondary),
        # and whether the student left the school (then no new top-up, invoice or sale)
        wallets.follow_student_update(
            session,
            env.school_id,
            event.student_id,
            level=event.level,
            previous_level=event.previous_level,
            first_name=event.first_name,
            last_name=event.last_name,
            class_name=event.class_name,
            status=event.status,
            left_on=event.left_on,
            said_at=env.occurred_at.ToDatetime(tzinfo=UTC) if env.HasField("occurred_at") else None,
        )

    return {
        "auth.student.created.v1": Binding(auth_events.StudentCreated, student_created),
        "auth.student.updated.v1": Binding(auth_events.StudentUpdated, student_updated),
    }
