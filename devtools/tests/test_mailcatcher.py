"""The SMTP catcher over a real SMTP conversation, and the mailbox reader tests use."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools.mailbox import body_text, envelope_recipients, message_files, read_messages, wait_for_message
from devtools.mailcatcher import start_catcher
from kit.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{32}\.eml$")


@pytest.fixture
def catcher(tmp_path):
    controller = start_catcher("127.0.0.1", 0, tmp_path / "mail")
    yield controller
    controller.stop()


def _mail(subject: str, body: str, to: str = "parent@example.be") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Cartable <noreply@cartable.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def _send(port: int, *messages: EmailMessage, **kw) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for m in messages:
            smtp.send_message(m, **kw)


def test_port_zero_picks_a_free_port(catcher):
    assert catcher.port != 0
    with socket.create_connection(("127.0.0.1", catcher.port), timeout=5) as s:
        assert s.recv(100).startswith(b"220 ")


def test_a_message_lands_as_a_complete_eml_with_its_accents(catcher, tmp_path):
    subject = "Réunion des parents — École Sainte-Thérèse"
    body = "Bonjour Françoise,\nVotre code de connexion : 48291 (valable 15 minutes).\nÀ bientôt, l'école\n"
    _send(catcher.port, _mail(subject, body), to_addrs=["parent@example.be", "hidden@example.be"])

    files = message_files(tmp_path / "mail")
    assert len(files) == 1
    assert NAME.match(files[0].name), files[0].name
    assert not [p for p in (tmp_path / "mail").iterdir() if p.suffix != ".eml"], "a temporary file was left"

    [msg] = read_messages(tmp_path / "mail")
    assert msg["Subject"] == subject
    assert msg["From"].addresses[0].addr_spec == "noreply@cartable.example"
    assert msg["To"] == "parent@example.be"
    assert body_text(msg) == body
    assert envelope_recipients(msg) == ["parent@example.be", "hidden@example.be"]
    assert msg["X-Envelope-From"] == "<noreply@cartable.example>"
    assert msg["Received"].startswith("from [127.0.0.1] by cartable-mailcatcher")
    assert msg.path == files[0]
    assert b"\r\n\r\n" in files[0].read_bytes()  # headers, blank line, body: the whole message


def test_two_messages_make_two_files_oldest_first(catcher, tmp_path):
    _send(catcher.port, _mail("premier", "un\n"), _mail("deuxième", "deux\n", to="autre@example.be"))
    files = message_files(tmp_path / "mail")
    assert len(files) == 2
    assert [m["Subject"] for m in read_messages(tmp_path / "mail")] == ["premier", "deuxième"]


def test_smtputf8_addresses_are_accepted(catcher, tmp_path):
    msg = _mail("Accusé de réception", "ok\n", to="élève@école.example")
    _send(catcher.port, msg)
    got = wait_for_message(tmp_path / "mail", lambda m: m["Subject"] == "Accusé de réception", timeout=30)
    assert envelope_recipients(got) == ["élève@école.example"]


def test_wait_for_message_polls_and_times_out(catcher, tmp_path):
    mail_dir = tmp_path / "mail"
    with pytest.raises(TimeoutError, match="0 present"):
        wait_for_message(mail_dir, timeout=0.3)
    _send(catcher.port, _mail("Votre jeton", "jeton=abc123\n", to="x@example.be"))
    got = wait_for_message(mail_dir, lambda m: "jeton=" in body_text(m), timeout=30)
    assert re.search(r"jeton=(\w+)", body_text(got)).group(1) == "abc123"
    with pytest.raises(TimeoutError, match="Votre jeton"):
        wait_for_message(mail_dir, lambda m: m["To"] == "nobody@example.be", timeout=0.3)


def test_read_messages_on_a_missing_directory_is_empty(tmp_path):
    assert read_messages(tmp_path / "nope") == []


def test_the_process_runs_until_sigterm_and_stops_cleanly(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MAILCATCHER_ADDR=f"127.0.0.1:{port}", MAIL_DIR=str(tmp_path / "box"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.mailcatcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def listens() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                return False
            return True

        wait_for(listens, timeout=60, what="the catcher to start")
        _send(port, _mail("Par le processus", "ok\n"))
        assert wait_for_message(tmp_path / "box", timeout=30)["Subject"] == "Par le processus"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    lines = err.decode().splitlines()
    assert any('"msg": "listening"' in line for line in lines), lines
    assert any('"msg": "message caught"' in line for line in lines), lines
    assert any('"msg": "stopped"' in line for line in lines), lines
