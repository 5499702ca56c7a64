"""``BACKGROUND_NICE``: the relays, consumers and the mailer yield the cores to the servers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kit.settings import SettingsError, load_settings


def test_the_loops_run_at_nice_10_unless_told_otherwise():
    assert load_settings("orders", {}).background_nice == 10
    assert load_settings("orders", {"BACKGROUND_NICE": "0"}).background_nice == 0


@pytest.mark.parametrize("value", ["-1", "20", "low"])
def test_a_niceness_outside_0_to_19_is_refused_by_name(value):
    with pytest.raises(SettingsError, match="BACKGROUND_NICE"):
        load_settings("orders", {"BACKGROUND_NICE": value})


@pytest.mark.parametrize(("nice", "expected"), [("7", 7), ("0", 0)])
def test_run_in_background_lowers_the_process_priority_by_the_setting(nice, expected):
    # in a child process: a niceness once raised cannot be lowered again without privileges
    code = (
        "import os; from kit.service import run_in_background; from kit.settings import load_settings;"
        "before = os.nice(0); run_in_background(load_settings('orders')); print(os.nice(0) - before)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "BACKGROUND_NICE": nice, "CARTABLE_ENV": "test"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout.strip()) == expected
