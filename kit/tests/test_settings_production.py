"""Production refuses to start on what only a local run may use, and says which variable is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.settings import SERVICES, SettingsError, load_settings

GATEWAY_KEY = "0123456789abcdef" * 4


@pytest.fixture
def public_key(tmp_path: Path) -> Path:
    path = tmp_path / "identity.pub.pem"
    path.write_text("-----BEGIN PUBLIC KEY-----\n")
    return path


def production_env(service: str, public_key: Path, **changes: str | None) -> dict[str, str]:
    """What a service's Deployment gives it (deploy/k8s), with ``changes`` (None removes a variable)."""
    env = {
        "CARTABLE_ENV": "production",
        "CARTABLE_VAR_DIR": str(public_key.parent / "var"),
        "IDENTITY_PUBLIC_KEY_FILE": str(public_key),
    }
    if service == "gateway":
        env["GATEWAY_SECRET_KEY"] = GATEWAY_KEY
    else:
        env[f"{service.upper()}_DATABASE_URL"] = f"postgresql://{service}:s3cret@postgres:5432/{service}"
        env["AMQP_URL"] = "amqp://cartable:s3cret@rabbitmq:5672/%2F"
    if service == "finance":
        env["MOLLIE_API_KEY"] = "live_abcdefghijklmnopqrstuvwxyz0123"
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def refusal(service: str, env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as exc:
        load_settings(service, env)
    return str(exc.value)


@pytest.mark.parametrize("service", [*SERVICES, "gateway"])
def test_what_a_deployment_gives_each_process_is_enough(service, public_key):
    s = load_settings(service, production_env(service, public_key))
    assert s.env == "production" and not s.is_local


def test_an_unknown_mode_is_refused_instead_of_running_on_local_defaults(public_key):
    message = refusal("finance", production_env("finance", public_key, CARTABLE_ENV="prod"))
    assert "CARTABLE_ENV" in message and "'prod'" in message


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@rabbitmq:5672/%2F",  # RabbitMQ's default user
        "amqp://rabbitmq:5672/%2F",  # no credentials: the client sends guest:guest
        "amqp://cartable@rabbitmq:5672/%2F",  # no password
        "amqp://cartable:CHANGE-ME@rabbitmq:5672/%2F",  # secrets.example.yaml's placeholder
    ],
)
@pytest.mark.parametrize("service", ["finance", "notifications"])
def test_the_broker_default_credentials_are_refused(service, url, public_key):
    assert refusal(service, production_env(service, public_key, AMQP_URL=url)).startswith("AMQP_URL")


def test_a_service_without_a_broker_url_is_refused_not_sent_to_a_local_guest_broker(public_key):
    assert "AMQP_URL" in refusal("orders", production_env("orders", public_key, AMQP_URL=None))


def test_the_gateway_needs_no_broker(public_key):
    assert load_settings("gateway", production_env("gateway", public_key)).amqp_url == ""


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@relay.example.org:587",
        "smtp://relay.example.org:25?starttls=0",
        "smtp://127.0.0.1:1025",
    ],
)
def test_plain_smtp_without_tls_is_refused(url, public_key):
    env = production_env("notifications", public_key, SMTP_URL=url)
    message = refusal("notifications", env)
    assert message.startswith("SMTP_URL") and "starttls=1" in message


@pytest.mark.parametrize(
    "url", ["smtp://user:pass@relay.example.org:587?starttls=1", "smtps://user:pass@relay.example.org:465"]
)
def test_smtp_with_tls_is_accepted(url, public_key):
    s = load_settings("notifications", production_env("notifications", public_key, SMTP_URL=url))
    assert s.smtp_url == url


def test_the_mailer_without_smtp_url_refuses_to_start_instead_of_mailing_the_local_catcher(public_key):
    from services.notifications.mailer import MailerConfig

    s = load_settings("notifications", production_env("notifications", public_key))
    assert s.smtp_url == ""  # not smtp://127.0.0.1:1025
    with pytest.raises(SettingsError, match="SMTP_URL"):
        MailerConfig.from_settings(s)


@pytest.mark.parametrize("service", SERVICES)
def test_sqlite_is_refused(service, public_key, tmp_path):
    name = f"{service.upper()}_DATABASE_URL"
    env = production_env(service, public_key, **{name: f"sqlite:///{tmp_path / 'x.db'}"})
    assert refusal(service, env).startswith(name)


def test_a_missing_database_url_is_refused(public_key):
    assert "MEETINGS_DATABASE_URL" in refusal(
        "meetings", production_env("meetings", public_key, MEETINGS_DATABASE_URL=None)
    )


def test_a_placeholder_database_password_is_refused(public_key):
    url = "postgresql://auth:CHANGE-ME@postgres:5432/auth"
    assert refusal("auth", production_env("auth", public_key, AUTH_DATABASE_URL=url)).startswith(
        "AUTH_DATABASE_URL"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_a_missing_identity_public_key_is_refused(service, public_key, tmp_path):
    env = production_env(service, public_key, IDENTITY_PUBLIC_KEY_FILE=str(tmp_path / "absent.pem"))
    assert refusal(service, env).startswith("IDENTITY_PUBLIC_KEY_FILE")
    # the default path under the var directory is no key either
    assert refusal(service, production_env(service, public_key, IDENTITY_PUBLIC_KEY_FILE=None)).startswith(
        "IDENTITY_PUBLIC_KEY_FILE"
    )


def test_a_missing_extra_public_key_of_a_rotation_is_refused(public_key, tmp_path):
    env = production_env(
        "documents", public_key, IDENTITY_EXTRA_PUBLIC_KEY_FILES=f"{public_key},{tmp_path / 'next.pub.pem'}"
    )
    assert refusal("documents", env).startswith("IDENTITY_EXTRA_PUBLIC_KEY_FILES")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "missing environment variable GATEWAY_SECRET_KEY"),
        ("CHANGE-ME-64-random-hex-characters", "GATEWAY_SECRET_KEY: still holds"),
        ("short", "GATEWAY_SECRET_KEY: at least 32"),
    ],
)
def test_the_gateway_needs_a_real_secret_key(value, expected, public_key):
    env = production_env("gateway", public_key, GATEWAY_SECRET_KEY=value)
    assert refusal("gateway", env).startswith(expected)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"MOLLIE_API_KEY": None}, "missing environment variable MOLLIE_API_KEY"),
        ({"MOLLIE_API_KEY": "live_CHANGE-ME"}, "MOLLIE_API_KEY: still holds"),
        ({"MOLLIE_API_URL": "http://127.0.0.1:8010"}, "MOLLIE_API_URL"),
    ],
)
def test_finance_needs_the_provider_key_and_reaches_it_over_https(changes, expected, public_key):
    assert refusal("finance", production_env("finance", public_key, **changes)).startswith(expected)


def test_production_talks_to_the_real_provider_by_default(public_key):
    assert load_settings("finance", production_env("finance", public_key)).mollie_api_url == (
        "https://api.mollie.com"
    )


@pytest.mark.parametrize("service", ["auth", "documents", "orders", "notifications", "meetings", "gateway"])
def test_only_finance_needs_the_provider_key(service, public_key):
    assert load_settings(service, production_env(service, public_key)).mollie_api_key == ""


@pytest.mark.parametrize("mode", ["local", "test"])
def test_local_runs_keep_their_defaults(mode, tmp_path):
    s = load_settings("finance", {"CARTABLE_ENV": mode, "CARTABLE_VAR_DIR": str(tmp_path)})
    assert s.database_url.startswith("sqlite:///")
    assert s.amqp_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert s.smtp_url == "smtp://127.0.0.1:1025"
    assert s.mollie_api_url == "http://127.0.0.1:8010"


def test_the_image_runs_in_production_unless_told_otherwise():
    dockerfile = (Path(__file__).resolve().parents[2] / "deploy" / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "CARTABLE_ENV=production" in final_stage


@pytest.mark.parametrize(
    ("service", "env"),
    [
        ("finance", {"FINANCE_GRPC_LISTEN": "0.0.0.0:50053", "METRICS_PORT": "50053"}),
        ("auth", {"GRPC_LISTEN": "0.0.0.0:9100", "METRICS_PORT": "9100"}),
        ("gateway", {"GATEWAY_BIND": "0.0.0.0:8000", "METRICS_PORT": "8000"}),
    ],
)
def test_metrics_are_never_served_on_the_public_port(service, env, tmp_path):
    env = {"CARTABLE_ENV": "local", "CARTABLE_VAR_DIR": str(tmp_path), **env}
    with pytest.raises(SettingsError, match="METRICS_PORT"):
        load_settings(service, env)


def test_metrics_on_their_own_port_are_accepted(tmp_path):
    env = {"CARTABLE_ENV": "local", "CARTABLE_VAR_DIR": str(tmp_path), "METRICS_PORT": "9100"}
    assert load_settings("finance", {**env, "FINANCE_GRPC_LISTEN": "0.0.0.0:50053"}).metrics_port == 9100
    assert load_settings("gateway", {**env, "GATEWAY_BIND": "0.0.0.0:8000"}).metrics_port == 9100
