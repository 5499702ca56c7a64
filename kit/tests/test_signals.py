"""``kit.service.stop_on_signals``: the public way a long-running command learns it must stop."""

from __future__ import annotations

import os
import signal

import pytest

from kit.service import stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_termination_signal_sets_the_stop_event(signum):
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = stop_on_signals()
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        assert stop.wait(5)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
