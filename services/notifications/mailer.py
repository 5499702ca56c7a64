"""The mailer: ``python -m services.notifications mailer`` sends the pending mails over SMTP.

One mail at a time: claim it (count the attempt, hide it for a lease), send it with no database
transaction open, then record the outcome. A failure is retried with exponential backoff; after the
last attempt, or at once when the server refuses the recipient for good (5xx), the mail is kept as
failed for the manager and ``notifications.mail.failed.v1`` goes out through the outbox. A mailer that
dies between sending and recording sends the mail again once the lease ends, with the same Message-ID.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from prometheus_client import Counter

from kit.epc import epc_qr_png
from kit.metrics import Heartbeat, start_metrics_server
from kit.service import Runtime, run_in_background, stop_on_signals
from kit.settings import Settings, SettingsError
from services.notifications import db, events
from services.notifications.domain.mail import RetryPolicy

log = logging.getLogger("notifications.mailer")

MAILS = Counter("cartable_mails_total", "Mails handled by the mailer", ["outcome"])

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: ``smtp://[user:pass@]host[:port][?starttls=1&timeout=20]`` or ``smtps://``."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 20.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError("SMTP_URL must look like smtp://host:port or smtps://user:pass@host:465")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if implicit else 25)
            timeout = float(query.get("timeout", "20"))
        except ValueError:
            raise SettingsError("SMTP_URL has a malformed port or timeout") from None
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=implicit,
            starttls=query.get("starttls", "").lower() in _TRUE,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=timeout,
        )


class SmtpTransport:
    """One SMTP connection, opened on demand and kept while there is mail to send."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        c = self.config
        conn: smtplib.SMTP
        if c.implicit_tls:
            conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            conn.ehlo()
            if c.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if c.username:
                conn.login(c.username, c.password)
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, msg: EmailMessage) -> None:
        reused = self._conn is not None
        if self._conn is None:
            self._conn = self._open()
        try:
            self._conn.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
            # The server dropped an idle connection: that is no attempt at this mail; try once afresh.
            self._conn = self._open()
            self._send_or_close(msg)
        except BaseException:
            self.close()
            raise

    def _send_or_close(self, msg: EmailMessage) -> None:
        try:
            self._conn.send_message(msg)  # type: ignore[union-attr]
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None


def describe(exc: BaseException) -> tuple[str, bool]:
    """What went wrong, for the manager, and whether trying again can help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        text = "; ".join(f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values())
        return f"recipient refused: {text}"[:500], all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}"[:500], exc.smtp_code >= 500
    if isinstance(exc, smtplib.SMTPResponseException):
        # Sender refused, authentication failed...: the relay's setup, not this mail; retried.
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"[:500], False
    return f"{type(exc).__name__}: {exc}"[:500], False


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def build_message(mail: dict, mail_from: str, now: datetime) -> EmailMessage:
    """The MIME message: text and HTML alternatives in UTF-8, with Date, Message-ID and language."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = (
        formataddr((mail["recipient_name"], mail["recipient"]))
        if mail["recipient_name"]
        else mail["recipient"]
    )
    msg["Subject"] = mail["subject"]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mail["message_id"]
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(mail["text_body"], charset="utf-8")
    msg.add_alternative(mail["html_body"], subtype="html", charset="utf-8")
    if mail.get("epc_qr"):
        _attach_epc_qr(msg, mail["epc_qr"])
    msg["Content-Language"] = mail["language"]  # after the content: set_content clears Content-* headers
    return msg


def _attach_epc_qr(msg: EmailMessage, epc_json: str) -> None:
    """The transfer's EPC QR code as a PNG attachment (Febelfin: beside the invoice, never on the
    transfer form). Details a banking app would refuse leave the mail without it."""
    try:
        png = epc_qr_png(**json.loads(epc_json))
    except (ValueError, TypeError):
        log.warning("EPC QR code not attached: unusable transfer details")
        return
    msg.add_attachment(png, maintype="image", subtype="png", filename="virement-qr.png")


@dataclass(frozen=True)
class MailerConfig:
    smtp: SmtpConfig
    mail_from: str
    retry: RetryPolicy
    lease: timedelta
    poll_interval: float

    @classmethod
    def from_settings(cls, settings: Settings) -> MailerConfig:
        retry = RetryPolicy(
            max_attempts=settings.mail_max_attempts,
            base=timedelta(seconds=settings.mail_retry_base_seconds),
            cap=timedelta(seconds=settings.mail_retry_max_seconds),
        )
        lease = timedelta(seconds=settings.mail_lease_seconds)
        poll = settings.mail_poll_seconds
        if retry.max_attempts < 1:
            raise SettingsError("MAIL_MAX_ATTEMPTS must be at least 1")
        return cls(SmtpConfig.from_url(settings.smtp_url), settings.mail_from, retry, lease, poll)


@dataclass(frozen=True)
class Outcome:
    mail_id: str
    status: str  # sent | retry | failed
    transport_error: bool = False  # the server could not be reached or talked to at all


class Mailer:
    def __init__(
        self,
        rt: Runtime,
        config: MailerConfig,
        transport: SmtpTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.rt = rt
        self.config = config
        self.transport = transport or SmtpTransport(config.smtp)
        self.clock = clock or rt.clock
        # Beats each round of ``run`` (its longest pause is 30 s). A round sends at most one mail, each
        # SMTP step bounded by the relay's timeout: a round longer than the mail's lease is stuck (the
        # mail goes again once the lease ends), and the liveness probe restarts the mailer.
        self.heartbeat = Heartbeat(max_age=max(60.0, config.lease.total_seconds()))

    @classmethod
    def from_runtime(cls, rt: Runtime) -> Mailer:
        return cls(rt, MailerConfig.from_settings(rt.settings))

    def send_next(self) -> Outcome | None:
        """Send the oldest due mail; None when nothing is due."""
        now = self.clock()
        with self.rt.db.unit_of_work() as s:
            mail = db.claim_due_mail(s, now, now + self.config.lease)
        if mail is None:
            return None
        if mail["attempts"] > self.config.retry.max_attempts:
            # Claimed again and again without an outcome: something kills the mailer on this mail.
            return self._give_up(mail, "gave up: the mailer stopped during each attempt")
        try:
            self.transport.send(build_message(mail, self.config.mail_from, self.clock()))
        except Exception as exc:  # noqa: BLE001 - SMTP, network, or a message smtplib cannot encode: counted the same
            return self._failed_attempt(mail, exc)
        with self.rt.db.unit_of_work() as s:
            db.mark_sent(s, mail["id"], self.clock(), scrub=mail["sensitive"])
        MAILS.labels("sent").inc()
        log.info(
            "mail sent", extra={"mail_id": mail["id"], "kind": mail["kind"], "attempt": mail["attempts"]}
        )
        return Outcome(mail["id"], "sent")

    def _failed_attempt(self, mail: dict, exc: BaseException) -> Outcome:
        error, permanent = describe(exc)
        transport_error = isinstance(exc, (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError))
        attempts = mail["attempts"]
        now = self.clock()
        extra = {"mail_id": mail["id"], "kind": mail["kind"], "attempt": attempts, "error": error}
        if not permanent and not self.config.retry.gives_up_after(attempts):
            with self.rt.db.unit_of_work() as s:
                db.mark_retry(s, mail["id"], now + self.config.retry.delay_after(attempts), error)
            MAILS.labels("retry").inc()
            log.warning("mail not sent, will retry", extra=extra)
            return Outcome(mail["id"], "retry", transport_error)
        return self._give_up(mail, error, transport_error)

    def _give_up(self, mail: dict, error: str, transport_error: bool = False) -> Outcome:
        now = self.clock()
        attempts = mail["attempts"]
        with self.rt.db.unit_of_work() as s:
            db.mark_failed(s, mail["id"], now, error, scrub=mail["sensitive"])
            self.rt.record(s, *events.mail_failed(mail, error), mail["school_id"])
        MAILS.labels("failed").inc()
        log.error(
            "mail failed, kept for the manager",
            extra={"mail_id": mail["id"], "kind": mail["kind"], "attempt": attempts, "error": error},
        )
        return Outcome(mail["id"], "failed", transport_error)

    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set. A mail being sent when it is set is finished first."""
        pause = 0.0
        while not stop.is_set():
            self.heartbeat.beat()
            try:
                outcome = self.send_next()
            except Exception:  # the database may be restarting; try again shortly
                log.exception("mailer pass failed")
                stop.wait(2.0)
                continue
            if outcome is None:
                self.transport.close()  # nothing due: do not hold an idle connection open
                stop.wait(self.config.poll_interval)
            elif outcome.transport_error:
                # The relay is down: pause before the next mail instead of burning their attempts.
                pause = min(max(pause * 2, 0.5), 30.0)
                stop.wait(pause)
            else:
                pause = 0.0
        self.transport.close()


def mailer_command(rt: Runtime, args: list[str]) -> int:
    """``python -m services.notifications mailer``: send mail until SIGTERM/SIGINT."""
    stop = stop_on_signals()
    run_in_background(rt.settings)
    mailer = Mailer.from_runtime(rt)
    # /livez: the loop's heartbeat (the Deployment's liveness probe), beside /metrics
    start_metrics_server(rt.settings.metrics_port, live=mailer.heartbeat.probe)
    log.info(
        "mailer started", extra={"smtp_host": mailer.config.smtp.host, "smtp_port": mailer.config.smtp.port}
    )
    mailer.run(stop)
    rt.db.dispose()
    log.info("mailer stopped")
    return 0
