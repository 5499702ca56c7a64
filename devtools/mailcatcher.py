"""The local SMTP catcher: every message it receives becomes one complete ``.eml`` file.

``python -m devtools.mailcatcher [--host H] [--port P] [--dir D]`` listens (default from
``MAILCATCHER_ADDR``, else 127.0.0.1:1025) and writes each message to ``D`` (default from
``MAIL_DIR``, else ``var/mail``) as ``<UTC timestamp>-<uuid>.eml``. A file appears whole or not at
all: it is written to a hidden temporary file in the same directory, then renamed. It runs until
SIGTERM or SIGINT and logs JSON lines to stderr.

Tests start one in-process with :func:`start_catcher` (port 0 picks a free port; read it back from
``controller.port``) and read the mail with :mod:`devtools.mailbox`.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import logging
import os
import signal
import sys
import tempfile
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiosmtpd.controller import Controller

log = logging.getLogger("mailcatcher")

DEFAULT_ADDR = "127.0.0.1:1025"
DEFAULT_DIR = "var/mail"


class EmlWriter:
    """aiosmtpd handler: accepts every message and writes it, with trace headers, as an .eml file."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def _timestamp(self) -> datetime:
        # Strictly increasing within the process, so sorting the names sorts by arrival.
        with self._lock:
            now = datetime.now(UTC)
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now

    def write(self, content: bytes, mail_from: str, rcpt_tos: list[str], peer: object = None) -> Path:
        now = self._timestamp()
        name = f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{uuid.uuid4().hex}.eml"
        trace = (
            f"Received: from {_peer_host(peer)} by cartable-mailcatcher; {format_datetime(now)}\r\n"
            f"X-Envelope-From: <{mail_from}>\r\n"
            f"X-Envelope-To: {', '.join(f'<{r}>' for r in rcpt_tos)}\r\n"
        ).encode()
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(trace)
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            target = self.directory / name
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        content = envelope.original_content or b""
        try:
            path = self.write(content, envelope.mail_from or "", list(envelope.rcpt_tos), session.peer)
        except OSError as exc:
            log.error("could not write the message", extra={"error": str(exc), "dir": str(self.directory)})
            return "451 4.3.0 Could not store the message, try again later"
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(content)
        log.info(
            "message caught",
            extra={
                "file": path.name,
                "mail_from": envelope.mail_from,
                "rcpt_to": list(envelope.rcpt_tos),
                "subject": str(headers.get("Subject", "")),
                "bytes": len(content),
            },
        )
        return "250 Message accepted for delivery"


def _peer_host(peer: object) -> str:
    if isinstance(peer, tuple | list) and peer:
        return f"[{peer[0]}]"
    return "unknown"


class CatcherController(Controller):
    """aiosmtpd's threaded Controller, also when asked for port 0: ``port`` is then the chosen one."""

    directory: Path  # where its handler writes, set by start_catcher

    def _trigger_server(self):
        if self.port == 0 and self.server is not None and self.server.sockets:
            self.port = self.server.sockets[0].getsockname()[1]
        return super()._trigger_server()


def start_catcher(
    host: str = "127.0.0.1", port: int = 1025, directory: Path | str = DEFAULT_DIR
) -> CatcherController:
    """Start a catcher in a background thread and return its controller (``.port``, ``.stop()``)."""
    handler = EmlWriter(directory)
    controller = CatcherController(
        handler,
        hostname=host,
        port=port,
        enable_SMTPUTF8=True,
        server_hostname="cartable-mailcatcher",
        ident="Cartable mail catcher",
    )
    controller.start()
    controller.directory = handler.directory
    return controller


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected host:port, got {addr!r}")
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    env_host, env_port = _split_addr(os.environ.get("MAILCATCHER_ADDR") or DEFAULT_ADDR)
    parser = argparse.ArgumentParser(
        prog="python -m devtools.mailcatcher", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default=env_host)
    parser.add_argument("--port", type=int, default=env_port)
    parser.add_argument("--dir", default=os.environ.get("MAIL_DIR") or DEFAULT_DIR)
    args = parser.parse_args(argv)

    from kit.logs import configure_logging

    configure_logging("mailcatcher", os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter

    stop = threading.Event()

    def _on_signal(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        controller = start_catcher(args.host, args.port, args.dir)
    except OSError as exc:
        log.error("cannot listen", extra={"host": args.host, "port": args.port, "error": str(exc)})
        return 1
    log.info(
        "listening", extra={"host": args.host, "port": controller.port, "dir": str(Path(args.dir).resolve())}
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        controller.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
