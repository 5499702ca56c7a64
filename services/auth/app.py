"""The auth service's composition: tables, servicer, public methods, commands."""

from pathlib import Path

from cartable.auth.v1 import auth_pb2_grpc as pb_grpc
from kit.grpcserver import Registration
from kit.service import Runtime, ServiceSpec
from services.auth import db
from services.auth.commands import COMMANDS
from services.auth.grpc_api import Servicer
from services.auth.service import AuthService

SERVICE = "cartable.auth.v1.AuthService"

# These carry their own credential (password, connection token, session token, or nothing to reveal)
# and are called without an identity token.
PUBLIC_METHODS = frozenset(
    f"/{SERVICE}/{name}"
    for name in (
        "SignIn",
        "Activate",
        "CheckConnectionToken",
        "RequestPasswordReset",
        "ResolveSession",
        "SignOut",
        "ChangePassword",
        "SelectChild",
    )
)


def registrations(rt: Runtime) -> list[Registration]:
    svc = AuthService(rt)
    # The first unknown username must not take longer than the next ones: make the dummy hash now.
    svc.hasher.dummy_verify("")
    return [Registration(pb_grpc.add_AuthServiceServicer_to_server, Servicer(svc), SERVICE)]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="auth",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        public_methods=PUBLIC_METHODS,
        commands=dict(COMMANDS),
    )
