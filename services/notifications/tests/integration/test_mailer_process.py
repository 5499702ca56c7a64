"""``python -m services.notifications mailer`` as the Procfile runs it: sends, then stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from kit.clock import utcnow
from kit.testing import wait_for
from services.notifications.tests.conftest import add_parent
from services.notifications.tests.integration.test_mail_failures import _document

ROOT = Path(__file__).resolve().parents[4]


def test_mailer_command_sends_queued_mail_and_stops_cleanly_on_sigterm(
    consumer, smtp_catcher, notifications_rt, keys, tmp_path
):
    # The mailer process reads the system clock: queue the mails due at the system's now, not at the
    # fixture's date, so that they are due there whatever day the test runs.
    notifications_rt.clock = utcnow
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    env = dict(os.environ)
    env.update(
        CARTABLE_ENV="test",
        CARTABLE_VAR_DIR=str(tmp_path / "var"),
        NOTIFICATIONS_DATABASE_URL=notifications_rt.settings.database_url,
        IDENTITY_PRIVATE_KEY_FILE=str(keys.private_file),
        IDENTITY_PUBLIC_KEY_FILE=str(keys.public_file),
        SMTP_URL=f"smtp://127.0.0.1:{smtp_catcher.port}",
        MAIL_POLL_SECONDS="0.2",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.notifications", "mailer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert smtp_catcher.received.wait(60), "the mailer sent nothing"
        consumer.handle(_document(2))
        # a mail queued while it runs goes too
        wait_for(lambda: len(smtp_catcher.messages) >= 2, 60, what="the second mail")
        assert len(smtp_catcher.messages) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode()
    assert '"msg": "mailer stopped"' in out, out
