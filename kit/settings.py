"""Settings from environment variables, read once per process, with safe local defaults.

Local defaults: SQLite files under ``var/``, RabbitMQ on 127.0.0.1:5672, the SMTP catcher on
127.0.0.1:1025, the payment provider's stand-in on 127.0.0.1:8010. In production (``CARTABLE_ENV``,
the image's default) every value comes from the environment and ``check_production`` refuses to start
on what is only fit for a local run: default broker credentials, SQLite, SMTP without TLS, a missing
or placeholder secret, a missing identity public key. Each refusal names its variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

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


MODES = ("local", "test", "production")

# What deploy/k8s/secrets.example.yaml and deploy/README.md put where a real value goes.
PLACEHOLDER = "CHANGE-ME"

# The gateway signs its session cookies with GATEWAY_SECRET_KEY: at least 128 bits of hex.
MIN_SECRET_KEY_CHARS = 32


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
    # identity: verifying keys kept during a signing-key rotation
    identity_extra_public_key_files: tuple[Path, ...] = ()
    # every server: how long a stopping server keeps answering before it drains
    shutdown_drain_seconds: float = 1.0
    # connections a process keeps open to its PostgreSQL database (as many again in bursts): size it
    # so that every process of every service stays within the server's max_connections
    database_pool_size: int = 10
    # the gateway
    gateway_secret_key: str = ""
    gateway_grpc_timeout: float = 3.0
    dashboard_deadline: float = 1.5
    # how long a gateway process remembers a resolved session (gateway/session_cache.py): 0, off, by
    # default, so that a change made through auth directly holds on the next request
    gateway_session_cache_seconds: float = 0.0
    # how long the provider's webhook call may wait for finance (the provider retries a failed one)
    gateway_webhook_timeout: float = 20.0
    max_upload_bytes: int = 20 * 1024 * 1024
    trusted_proxies: str = ""
    # auth
    auth_password_profile: str = "rfc9106-low-memory"
    # argon2 computations at once (services/auth/hashing.py): each takes the profile's memory (64 MiB
    # by default), so this times that plus ~100 MiB stays well under auth's memory limit (deploy/k8s)
    auth_max_concurrent_hashes: int = 2
    # Fernet key(s) encrypting the TOTP secrets at rest, comma-separated (the first encrypts, all
    # decrypt: a rotation adds a new one in front); empty in a local run or a test: auth writes one
    # under var/keys (services/auth/secretbox.py); outside them auth refuses to start without it
    auth_totp_key: str = ""
    # Fernet key(s) sealing the national numbers finance keeps in its tax certificates and sends to
    # documents (one per deployment, given to both; same rotation rule); empty in a local run or a test:
    # a key is written under var/keys (kit/secretbox.py); outside them finance and documents refuse to
    # start without it
    national_number_key: str = ""
    # meetings (also the gateway's meeting pages)
    meetings_timezone: str = "Europe/Brussels"
    meetings_reminder_hour: int = 8
    meetings_remind_interval: float = 300.0
    # notifications' mailer
    mail_max_attempts: int = 8
    mail_retry_base_seconds: float = 60.0
    mail_retry_max_seconds: float = 3600.0
    mail_lease_seconds: float = 300.0
    mail_poll_seconds: float = 1.0
    # the niceness (0-19) the asynchronous loops take when they start (relays, consumers, the mailer):
    # where they share cores with the servers (compose, one host), a burst of invoice PDFs or mail
    # waits for the parents' requests instead of competing with them, and catches up after it; 0
    # leaves the process as started
    background_nice: int = 10
    # CPython's thread switch interval (milliseconds) in a gRPC server: its 32 rpc threads share one
    # GIL, and a thread holding a row lock (the school's invoice counter) waits for the GIL after each
    # database round trip; at CPython's 5 ms a rush queues behind that holder (issue #20: the textbook
    # rush's p50 fell from 5.8 s to 1.3 s at 0.5 ms). 0.1 to 100
    grpc_switch_interval_ms: float = 0.5

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


_N = TypeVar("_N", int, float)


def _number(env: Mapping[str, str], name: str, default: str, kind: type[_N]) -> _N:
    raw = env.get(name) or default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None


def load_settings(service: str, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of ``service`` (``auth``, ``finance``, ..., or ``gateway``)."""
    env = os.environ if env is None else env
    mode = env.get("CARTABLE_ENV", "local")
    if mode not in MODES:
        # A typo must not fall back to the local defaults (SQLite, generated keys, plain cookies).
        raise SettingsError(f"CARTABLE_ENV must be one of {', '.join(MODES)}, got {mode!r}")
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
    amqp_default: str | None = "amqp://guest:guest@127.0.0.1:5672/%2F"
    if production:
        # No local broker outside a local run: a service must be told where it is; the gateway never
        # talks to it.
        amqp_default = "" if service == "gateway" else None
    settings = Settings(
        service=service,
        env=mode,
        var_dir=var_dir,
        database_url=database_url,
        amqp_url=_get(env, "AMQP_URL", amqp_default, production=False),
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
        identity_ttl_seconds=_number(env, "IDENTITY_TTL_SECONDS", "300", int),
        # Production has no default: the mailer refuses to start without one (SmtpConfig.from_url).
        smtp_url=env.get("SMTP_URL", "" if production else "smtp://127.0.0.1:1025"),
        mail_from=env.get("MAIL_FROM", "Cartable <no-reply@cartable.local>"),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        mollie_api_url=env.get(
            "MOLLIE_API_URL", "https://api.mollie.com" if production else "http://127.0.0.1:8010"
        ).rstrip("/"),
        # Only finance talks to the provider: its adapter refuses to start a payment without a key
        # in production; the other processes never need it.
        mollie_api_key=env.get("MOLLIE_API_KEY", "" if production else "test_local_standin_key"),
        blob_store_url=env.get("BLOB_STORE_URL", f"file://{var_dir / 'blobs'}"),
        metrics_port=_number(env, f"{up}_METRICS_PORT", env.get("METRICS_PORT", "0"), int),
        log_level=env.get("LOG_LEVEL", "INFO"),
        identity_extra_public_key_files=tuple(
            Path(p.strip()) for p in env.get("IDENTITY_EXTRA_PUBLIC_KEY_FILES", "").split(",") if p.strip()
        ),
        shutdown_drain_seconds=_number(env, "SHUTDOWN_DRAIN_SECONDS", "1", float),
        database_pool_size=_number(env, "DATABASE_POOL_SIZE", "10", int),
        gateway_secret_key=env.get("GATEWAY_SECRET_KEY", ""),
        gateway_grpc_timeout=_number(env, "GATEWAY_GRPC_TIMEOUT", "3", float),
        dashboard_deadline=_number(env, "DASHBOARD_DEADLINE", "1.5", float),
        gateway_session_cache_seconds=_number(env, "GATEWAY_SESSION_CACHE_SECONDS", "0", float),
        gateway_webhook_timeout=_number(env, "GATEWAY_WEBHOOK_TIMEOUT", "20", float),
        max_upload_bytes=_number(env, "MAX_UPLOAD_BYTES", str(20 * 1024 * 1024), int),
        trusted_proxies=env.get("TRUSTED_PROXIES", ""),
        auth_password_profile=env.get("AUTH_PASSWORD_PROFILE", "rfc9106-low-memory"),
        auth_max_concurrent_hashes=_number(env, "AUTH_MAX_CONCURRENT_HASHES", "2", int),
        # only auth reads it, and refuses to serve without it in production (not every process)
        auth_totp_key=env.get("AUTH_TOTP_KEY", ""),
        # finance and documents read it, and refuse to start without it in production (kit/secretbox.py)
        national_number_key=env.get("NATIONAL_NUMBER_KEY", ""),
        meetings_timezone=env.get("MEETINGS_TIMEZONE", "Europe/Brussels"),
        meetings_reminder_hour=_number(env, "MEETINGS_REMINDER_HOUR", "8", int),
        meetings_remind_interval=_number(env, "MEETINGS_REMIND_INTERVAL", "300", float),
        mail_max_attempts=_number(env, "MAIL_MAX_ATTEMPTS", "8", int),
        mail_retry_base_seconds=_number(env, "MAIL_RETRY_BASE_SECONDS", "60", float),
        mail_retry_max_seconds=_number(env, "MAIL_RETRY_MAX_SECONDS", "3600", float),
        mail_lease_seconds=_number(env, "MAIL_LEASE_SECONDS", "300", float),
        mail_poll_seconds=_number(env, "MAIL_POLL_SECONDS", "1", float),
        background_nice=_number(env, "BACKGROUND_NICE", "10", int),
        grpc_switch_interval_ms=_number(env, "GRPC_SWITCH_INTERVAL_MS", "0.5", float),
    )
    if not 0 <= settings.background_nice <= 19:
        raise SettingsError(f"BACKGROUND_NICE: expected 0 to 19, got {settings.background_nice}")
    if not 0.1 <= settings.grpc_switch_interval_ms <= 100:
        raise SettingsError(
            f"GRPC_SWITCH_INTERVAL_MS: expected 0.1 to 100, got {settings.grpc_switch_interval_ms}"
        )
    _check_metrics_port(settings, env)
    if production:
        check_production(settings)
    return settings


def _port_of(address: str) -> int | None:
    host_port = address.rsplit(":", 1)
    return int(host_port[1]) if len(host_port) == 2 and host_port[1].isdigit() else None


def _check_metrics_port(s: Settings, env: Mapping[str, str]) -> None:
    """/metrics (and the loops' probes) are never served on the public port: a scrape target is not
    for the callers of the service or the gateway."""
    if not s.metrics_port:
        return
    public = _port_of(env.get("GATEWAY_BIND", "127.0.0.1:8000") if s.service == "gateway" else s.grpc_listen)
    if s.metrics_port == public:
        raise SettingsError(
            f"METRICS_PORT ({s.metrics_port}) must differ from the public port of {s.service}: "
            "metrics are served apart"
        )


_TRUE = ("1", "true", "yes", "on")


def check_production(s: Settings) -> None:
    """Refuse, naming the variable, what only a local run may use. Checked for every process of the
    service (the relay, the migration, the purge too), so each Deployment gets what its service needs;
    what one command alone uses is checked where it is read (the mailer's SMTP_URL, auth's keys)."""
    up = s.service.upper()
    if s.service in SERVICES:
        name = f"{up}_DATABASE_URL"
        _no_placeholder(name, s.database_url)
        if s.database_url.startswith("sqlite"):
            raise SettingsError(f"{name}: SQLite is for local runs; production needs PostgreSQL")
        _check_broker(s.amqp_url)
        for var, path in [
            ("IDENTITY_PUBLIC_KEY_FILE", s.identity_public_key_file),
            *(("IDENTITY_EXTRA_PUBLIC_KEY_FILES", p) for p in s.identity_extra_public_key_files),
        ]:
            if not path.is_file():
                raise SettingsError(f"{var}: no identity public key at {path}")
    if s.service == "gateway":
        if not s.gateway_secret_key:
            raise SettingsError("missing environment variable GATEWAY_SECRET_KEY")
        _no_placeholder("GATEWAY_SECRET_KEY", s.gateway_secret_key)
        if len(s.gateway_secret_key) < MIN_SECRET_KEY_CHARS:
            raise SettingsError(
                f"GATEWAY_SECRET_KEY: at least {MIN_SECRET_KEY_CHARS} random characters "
                "(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
    if s.service == "finance":
        if not s.mollie_api_key:
            raise SettingsError("missing environment variable MOLLIE_API_KEY")
        _no_placeholder("MOLLIE_API_KEY", s.mollie_api_key)
        if urlsplit(s.mollie_api_url).scheme != "https":
            raise SettingsError(
                f"MOLLIE_API_URL: the provider is reached over https, not {s.mollie_api_url!r}"
            )
    if s.smtp_url:  # given to the mailer alone (deploy/k8s); it refuses to start without it
        _no_placeholder("SMTP_URL", s.smtp_url)
        parts = urlsplit(s.smtp_url)
        starttls = (parse_qs(parts.query).get("starttls") or [""])[-1].lower() in _TRUE
        if parts.scheme != "smtps" and not starttls:
            raise SettingsError(
                "SMTP_URL: plain SMTP is refused in production (passwords and parents' mail in clear): "
                "use smtps://host:465 or smtp://host:587?starttls=1"
            )


def _check_broker(url: str) -> None:
    _no_placeholder("AMQP_URL", url)
    parts = urlsplit(url)
    # Without credentials in the URL, the client sends RabbitMQ's default ones (guest:guest).
    if not parts.username or not parts.password or (parts.username, parts.password) == ("guest", "guest"):
        raise SettingsError(
            "AMQP_URL: the broker's default credentials (guest:guest, or none) are refused in production; "
            "give amqp://<user>:<password>@host:5672/%2F of a user of its own"
        )


def _no_placeholder(name: str, value: str) -> None:
    if PLACEHOLDER.lower() in value.lower():
        raise SettingsError(f"{name}: still holds the example's {PLACEHOLDER} placeholder")
