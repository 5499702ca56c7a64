"""The notifications service's composition: tables, servicers, event bindings, commands."""

from pathlib import Path

from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.notifications import db, handlers
from services.notifications.grpc_api import Servicer
from services.notifications.mailer import mailer_command
from services.notifications.use_cases import Mails, SchoolEvents, UseCases


def use_cases(rt: Runtime) -> UseCases:
    return UseCases(school_events=SchoolEvents(rt), mails=Mails(rt))


def registrations(rt: Runtime) -> list[Registration]:
    return [
        Registration(
            pb_grpc.add_NotificationsServiceServicer_to_server,
            Servicer(use_cases(rt)),
            "cartable.notifications.v1.NotificationsService",
        )
    ]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="notifications",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        bindings=handlers.bindings,
        commands={"mailer": mailer_command},
    )
