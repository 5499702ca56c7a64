"""Settings from environment variables, read once per process, with safe local defaults.

Local defaults: SQLite files under ``var/``, RabbitMQ on 127.0.0.1:5672, the SMTP catcher on
127.0.0.1:1025, the payment provider's stand-in on 127.0.0.1:8010. In production every value
comes from the environment; ``CARTABLE_ENV=production`` makes missing secrets fail fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVICES = ("auth", "documents", "finance", "orders", "notifications", "meetings")

DEFAULT_GRPC_PORTS = {
    "auth": 50051,
    "documents": 50052,
    "finance": 50053,
    "orders": 50054,
    "notifications": 50055,
    "meetings": 50056,
}


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """What a process needs to know about its environment."""

    service: str
    env: str
    var_dir: Path
    database_url: str
    amqp_url: str
    events_exchange: str
    queue_prefix: str
    grpc_listen: str
    grpc_targets: Mapping[str, str]
    identity_private_key_file: Path
    identity_public_key_file: Path
    identity_ttl_seconds: int
    smtp_url: str
    mail_from: str
    public_base_url: str
    mollie_api_url: str
    mollie_api_key: str
    blob_store_url: str
    metrics_port: int
    log_level: str
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.env in ("local", "test")


def _get(env: Mapping[str, str], name: str, default: str | None, *, production: bool) -> str:
    value = env.get(name)
    if value:
        return value
    if default is None or (production and name.endswith(("_KEY", "_SECRET"))):
        raise SettingsError(f"missing environment variable {name}")
    return default


def load_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of ``service`` (``auth``, ``finance``, ..., or ``gateway``)."""
    env = os.environ if env is None else env
    mode = env.get("CARTABLE_ENV", "local")
    production = mode == "production"
    var_dir = Path(env.get("CARTABLE_VAR_DIR", str(ROOT / "var")))
    up = service.upper()
    if production:
        db_default = None
    else:
        db_default = f"sqlite:///{var_dir / (service + '.db')}"
    database_url = (
        _get(env, f"{up}_DATABASE_URL", db_default, production=False) if service in SERVICES else ""
    )
    targets = {
        svc: env.get(f"{svc.upper()}_GRPC_TARGET", f"127.0.0.1:{port}")
        for svc, port in DEFAULT_GRPC_PORTS.items()
    }
    listen_default = f"127.0.0.1:{DEFAULT_GRPC_PORTS.get(service, 0)}"
    keys = var_dir / "keys"
    return Settings(
        service=service,
        env=mode,
        var_dir=var_dir,
        database_url=database_url,
        amqp_url=_get(env, "AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F", production=production),
        events_exchange=env.get("EVENTS_EXCHANGE", "cartable.events"),
        queue_prefix=env.get("QUEUE_PREFIX", ""),
        grpc_listen=env.get(f"{up}_GRPC_LISTEN", env.get("GRPC_LISTEN", listen_default)),
        grpc_targets=targets,
        identity_private_key_file=Path(
            env.get("IDENTITY_PRIVATE_KEY_FILE", str(keys / "identity_ed25519.pem"))
        ),
        identity_public_key_file=Path(
            env.get("IDENTITY_PUBLIC_KEY_FILE", str(keys / "identity_ed25519.pub.pem"))
        ),
        identity_ttl_seconds=int(env.get("IDENTITY_TTL_SECONDS", "300")),
        smtp_url=env.get("SMTP_URL", "smtp://127.0.0.1:1025"),
        mail_from=env.get("MAIL_FROM", "Cartable <no-reply@cartable.local>"),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        mollie_api_url=env.get("MOLLIE_API_URL", "http://127.0.0.1:8010").rstrip("/"),
        # Only finance talks to the provider: its adapter refuses to start a payment without a key
        # in production; the other processes never need it.
        mollie_api_key=env.get("MOLLIE_API_KEY", "" if production else "test_local_standin_key"),
        blob_store_url=env.get("BLOB_STORE_URL", f"file://{var_dir / 'blobs'}"),
        metrics_port=int(env.get(f"{up}_METRICS_PORT", env.get("METRICS_PORT", "0"))),
        log_level=env.get("LOG_LEVEL", "INFO"),
        extra=dict(env),
    )
