"""The auth service's composition root: the use cases' dependencies, servicer, public methods,
commands."""

import functools
import time
from collections.abc import Callable
from pathlib import Path

from cartable.auth.v1 import auth_pb2_grpc as pb_grpc
from kit import bus, family_data
from kit.grpcserver import Registration
from kit.identity import TokenSigner
from kit.service import Runtime, ServiceSpec
from kit.settings import SettingsError
from services.auth import db, handlers
from services.auth.commands import COMMANDS
from services.auth.family_data import exporter
from services.auth.grpc_api import Servicer
from services.auth.hashing import BoundedHasher, HashGate, WaitRoom
from services.auth.secretbox import SecretBox, totp_box
from services.auth.use_cases.common import Deps, hasher_for_profile

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
        # the session token, or the identity token when there is no session (checked by the use case)
        "Reauthenticate",
        # with the session token, so that a session still to set its factor up can do so
        "BeginSecondFactorSetup",
        "ConfirmSecondFactorSetup",
        "DisableSecondFactor",
    )
)


def use_case_deps(rt: Runtime) -> Deps:
    """What the use cases are given. ``rt.extras`` may carry ``password_hasher`` (tests use cheaper,
    still OWASP-level, argon2 parameters), ``hash_gate`` (tests hold its slots) and ``sleep`` (tests
    record the throttling delays instead of waiting them). Every argon2 computation goes through one
    gate of ``auth_max_concurrent_hashes`` slots per process (services/auth/hashing.py)."""
    settings = rt.settings

    @functools.cache
    def signer() -> TokenSigner:
        # read once; the server reads it at start (registrations), commands that sign nothing never
        path = settings.identity_private_key_file
        try:
            return TokenSigner.from_file(path, settings.identity_ttl_seconds)
        except (OSError, ValueError, TypeError) as exc:
            raise SettingsError(
                f"cannot read the identity signing key IDENTITY_PRIVATE_KEY_FILE={path}: {exc}"
            ) from exc

    @functools.cache
    def box() -> SecretBox:
        return totp_box(settings)

    return Deps(
        totp_box=box,
        db=rt.db,
        record=rt.record,
        record_many=lambda s, batch: bus.record_events(s, db.outbox, batch),
        clock=lambda: rt.clock(),  # read at each call: a test may give the runtime its own clock later
        hasher=BoundedHasher(
            rt.extras.get("password_hasher") or hasher_for_profile(settings.auth_password_profile),
            _gate(rt),
        ),
        signer=signer,
        sleep=WaitRoom(rt.extras.get("sleep", time.sleep)),
    )


def _gate(rt: Runtime) -> HashGate:
    """The process's one gate: commands and the servicer built from the same runtime share it."""
    gate = rt.extras.get("hash_gate")
    if gate is None:
        gate = rt.extras["hash_gate"] = HashGate(rt.settings.auth_max_concurrent_hashes)
    return gate


def registrations(rt: Runtime) -> list[Registration]:
    deps = use_case_deps(rt)
    # No server without its signing key: a missing or unreadable IDENTITY_PRIVATE_KEY_FILE fails at
    # start, not at the first sign-in of the day.
    deps.signer()
    # Outside a local run, no server without the key of the TOTP secrets (AUTH_TOTP_KEY).
    deps.totp_box()
    # The first unknown username must not take longer than the next ones: make the dummy hash now.
    deps.hasher.dummy_verify("")
    return [
        Registration(pb_grpc.add_AuthServiceServicer_to_server, Servicer(deps), SERVICE),
        family_data.registration(exporter(deps)),  # auth's part of a family's export (issue #21)
    ]


def _with_deps(command: Callable[[Deps, list[str]], int]) -> Callable[[Runtime, list[str]], int]:
    """A command (commands.py) as kit.service runs it: given the runtime, it gets the use cases' Deps."""

    @functools.wraps(command)
    def run(rt: Runtime, args: list[str]) -> int:
        return command(use_case_deps(rt), args)

    return run


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="auth",
        metadata=db.metadata,
        outbox=db.outbox,
        inbox=db.inbox,
        migrations_dir=Path(__file__).parent / "migrations",
        registrations=registrations,
        public_methods=PUBLIC_METHODS,
        bindings=lambda rt: handlers.bindings(use_case_deps(rt)),
        commands={name: _with_deps(command) for name, command in COMMANDS.items()},
    )
