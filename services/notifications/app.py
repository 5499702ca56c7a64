"""The notifications service's composition: tables, servicers, event bindings, commands."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path

from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit import family_data as family_data_kit
from kit.bus import Binding
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec, stop_on_signals
from services.notifications import (  # noqa: F401 - db_reminders: its tables
    db,
    db_reminders,
    export_mails,
    family_data,
    handlers,
    sepa_mails,
    statement_mails,
)
from services.notifications.grpc_api import Servicer
from services.notifications.mailer import mailer_command
from services.notifications.use_cases import Mails, Reminders, SchoolEvents, UseCases

log = logging.getLogger("notifications.reminders")


def use_cases(rt: Runtime) -> UseCases:
    return UseCases(school_events=SchoolEvents(rt), mails=Mails(rt), reminders=Reminders(rt))


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_NotificationsServiceServicer_to_server,
            Servicer(use_cases(rt)),
            "cartable.notifications.v1.NotificationsService",
        ),
        family_data_kit.registration(family_data.exporter(rt)),
    ]


def bindings(rt: Runtime) -> dict[str, Binding]:
    """Every event the service consumes: ``handlers.py``'s, the SEPA mails of ``sepa_mails.py``, the
    periodic statements' of ``statement_mails.py``, the data export's of ``export_mails.py`` and a
    family's erasure (``family_data.py``)."""
    mails = handlers.MailQueue(rt)
    return {
        **handlers.bindings(rt),
        **sepa_mails.bindings(rt, mails),
        **statement_mails.bindings(rt, mails),
        **export_mails.bindings(rt, mails),
        **family_data_kit.erasure_binding(family_data.erase),
    }


def remind(rt: Runtime, args: list[str]) -> int:
    """``python -m services.notifications remind [--once] [--interval S] [--now RFC3339]``: the overdue
    invoices' reminders. Without ``--once`` a round every ``--interval`` seconds until SIGTERM (the
    Procfile's process); ``--once`` suits a CronJob. A round sends each day's reminder once, however
    often it runs."""
    parser = argparse.ArgumentParser(prog="python -m services.notifications remind")
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--interval", type=float, default=900.0)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None)
    ns = parser.parse_args(args)
    if ns.now is not None and ns.now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-10-14T09:00:00+02:00")
    reminders = Reminders(rt)
    if ns.once:
        log.info("reminder round done", extra={"reminders": reminders.send_due_reminders(ns.now)})
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
        name="notifications",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=bindings,
        commands={"mailer": mailer_command, "remind": remind},
    )
