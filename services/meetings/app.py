"""The meetings service's composition: tables, servicers (its own and its part of a family's data),
event bindings, the reminder command."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from cartable.meetings.v1 import meetings_pb2_grpc as pb_grpc
from kit import family_data as kit_family_data
from kit.bus import Binding
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec, stop_on_signals
from services.meetings import db, family_data, handlers
from services.meetings.grpc_api import Servicer
from services.meetings.use_cases import Booking, Evenings, Reminders, UseCases
from services.meetings.use_cases.common import Config

log = logging.getLogger("meetings.reminder")


def use_cases(rt: Runtime) -> UseCases:
    """The use cases with their settings (read and checked here, at start)."""
    config = Config.from_settings(rt.settings)
    return UseCases(evenings=Evenings(rt, config), booking=Booking(rt), reminders=Reminders(rt, config))


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_MeetingsServiceServicer_to_server,
            Servicer(use_cases(rt)),
            "cartable.meetings.v1.MeetingsService",
        ),
        kit_family_data.registration(family_data.exporter(rt.db)),
    ]


def bindings(rt: Runtime) -> dict[str, Binding[Any]]:
    """Every event the service consumes (``handlers.py``)."""
    return handlers.bindings()


def remind(rt: Runtime, args: list[str]) -> int:
    """``python -m services.meetings remind [--once] [--interval S] [--now RFC3339]``: publish the
    day-before reminders. Without ``--once`` it checks every ``--interval`` seconds until SIGTERM
    (the Procfile's long-running process); ``--once`` suits a CronJob; ``--now`` replays a moment."""
    parser = argparse.ArgumentParser(prog="python -m services.meetings remind")
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--interval", type=float, default=rt.settings.meetings_remind_interval)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None)
    ns = parser.parse_args(args)
    if ns.now is not None and ns.now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-10-14T09:00:00+02:00")
    reminders = use_cases(rt).reminders
    if ns.once:
        sent = reminders.send_due_reminders(ns.now)
        log.info("reminder round done", extra={"reminders": sent})
        rt.db.dispose()
        return 0
    stop = stop_on_signals()
    while not stop.is_set():
        try:
            reminders.send_due_reminders(ns.now)
        except Exception:  # the database may be restarting: the next round retries
            log.exception("reminder round failed")
        stop.wait(ns.interval)
    rt.db.dispose()
    return 0


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="meetings",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=bindings,
        commands={"remind": remind},
    )
