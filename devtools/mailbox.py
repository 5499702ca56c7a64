"""Read the mail the local catcher wrote (``var/mail/*.eml``): for tests and for looking around.

``read_messages(dir)`` gives every message, oldest first; ``wait_for_message(dir, predicate)`` polls
until one matches, e.g. the mail carrying a connection token::

    msg = wait_for_message(mail_dir, lambda m: "parent@example.be" in m["To"])
    token = re.search(r"token=(\\w+)", body_text(msg)).group(1)

Each message also carries the catcher's trace headers ``X-Envelope-From`` and ``X-Envelope-To`` (the
SMTP envelope, so Bcc recipients show there) and, as attribute ``path``, the file it was read from.
"""

from __future__ import annotations

import email
import email.policy
import functools
import os
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from kit.testing import wait_for


def message_files(directory: Path | str) -> list[Path]:
    """The complete ``.eml`` files, oldest first (the names start with the UTC arrival time)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    with os.scandir(d) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(".eml") and e.is_file())
    return [d / n for n in names]


def read_message(path: Path | str) -> EmailMessage:
    """One ``.eml`` file, parsed. The file keeps the message as it came over SMTP (CRLF line ends); the
    reader parses it with LF line ends, so bodies compare and match like ordinary Python text.

    The catcher gives every message a new name and moves it in whole (``os.replace``), never rewriting a
    file, so a parsed message is kept by path: polling a mailbox of thousands of messages parses each
    one once, not on every poll."""
    return _parsed(str(path))


@functools.lru_cache(maxsize=50_000)
def _parsed(name: str) -> EmailMessage:
    path = Path(name)
    data = path.read_bytes().replace(b"\r\n", b"\n")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    msg.path = path  # type: ignore[attr-defined]
    # headers parse on every access: keep the recipients (header and envelope) once, lower-cased
    msg.recipients_text = f"{msg.get('To', '')!s} {msg.get('X-Envelope-To', '')!s}".lower()  # type: ignore[attr-defined]
    return msg  # type: ignore[return-value]


def read_messages(directory: Path | str) -> list[EmailMessage]:
    """Every message caught in ``directory``, oldest first; ``[]`` when there is none (or no directory)."""
    out = []
    for path in message_files(directory):
        try:
            out.append(read_message(path))
        except FileNotFoundError:  # removed meanwhile (someone cleaned the mailbox)
            continue
    return out


def envelope_recipients(msg: EmailMessage) -> list[str]:
    """The SMTP envelope's recipients, as the catcher recorded them."""
    raw = str(msg.get("X-Envelope-To", ""))
    return [a.strip().strip("<>") for a in raw.split(",") if a.strip()]


def body_text(msg: EmailMessage) -> str:
    """The text/plain body (else the HTML one), decoded; ``""`` when there is no text part."""
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def wait_for_message(
    directory: Path | str,
    predicate: Callable[[EmailMessage], bool] = lambda _m: True,
    timeout: float = 10,
    interval: float = 0.1,
) -> EmailMessage:
    """Poll ``directory`` until a message satisfies ``predicate``; return the oldest such message.

    Raises ``TimeoutError`` (``kit.testing.WaitTimeout``) listing what was there (recipients and
    subjects) when none matched in time.
    """

    def matching() -> list[EmailMessage]:
        return [m for m in read_messages(directory) if predicate(m)][:1]

    def present() -> str:
        seen = [f"{m.get('To', '')!s}: {m.get('Subject', '')!s}" for m in read_messages(directory)]
        return f"{len(seen)} present: {seen[-20:]}"

    found = wait_for(
        matching, timeout, interval=interval, what=f"a matching message in {directory}", describe=present
    )
    return found[0]
