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


def test_grpc_servers_switch_threads_every_half_millisecond_unless_told_otherwise():
    assert load_settings("finance", {}).grpc_switch_interval_ms == 0.5
    assert load_settings("finance", {"GRPC_SWITCH_INTERVAL_MS": "5"}).grpc_switch_interval_ms == 5.0


@pytest.mark.parametrize("value", ["0", "0.05", "101", "fast"])
def test_a_switch_interval_outside_0_1_to_100_ms_is_refused_by_name(value):
    with pytest.raises(SettingsError, match="GRPC_SWITCH_INTERVAL_MS"):
        load_settings("finance", {"GRPC_SWITCH_INTERVAL_MS": value})


def test_start_grpc_sets_the_process_switch_interval_from_the_setting(monkeypatch):
    from types import SimpleNamespace

    import kit.service

    calls: list[float] = []
    monkeypatch.setattr(sys, "setswitchinterval", calls.append)
    monkeypatch.setattr(kit.service, "build_server", lambda *a, **k: "server")
    settings = load_settings("finance", {"GRPC_SWITCH_INTERVAL_MS": "2", "CARTABLE_ENV": "test"})
    rt = SimpleNamespace(
        spec=SimpleNamespace(name="finance", registrations=lambda rt: [], public_methods=()),
        settings=settings,
        verifier=None,
        db=SimpleNamespace(ping=lambda: True),
    )
    assert kit.service.start_grpc(rt) == "server"
    assert calls == [0.002]
