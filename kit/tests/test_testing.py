"""kit.testing's own helpers: ``wait_for`` answers as soon as the event is there and fails loudly."""

from __future__ import annotations

import threading

import pytest

from kit.testing import WaitTimeout, wait_for


def test_wait_for_returns_the_first_truthy_answer():
    answers = iter([None, [], 0, ["mail"]])
    assert wait_for(lambda: next(answers), timeout=30, interval=0.001) == ["mail"]


def test_wait_for_sees_what_another_thread_does():
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert wait_for(done.is_set, timeout=30) is True


def test_wait_for_names_what_it_waited_for_and_what_was_there():
    with pytest.raises(WaitTimeout, match=r"timed out after 0.05s waiting for the mail \(2 others\)"):
        wait_for(lambda: False, timeout=0.05, interval=0.01, what="the mail", describe=lambda: "2 others")
    with pytest.raises(AssertionError):  # a failed wait is a failed test ...
        wait_for(lambda: None, timeout=0.01)
    with pytest.raises(TimeoutError):  # ... and still a timeout for callers catching one
        wait_for(lambda: None, timeout=0.01)
