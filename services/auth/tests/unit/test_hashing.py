"""Argon2 under a bound (services/auth/hashing.py): the gate itself, and every use case that hashes or
verifies a password going through it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from kit.errors import Unavailable
from kit.settings import load_settings
from services.auth.app import use_case_deps
from services.auth.db import sign_in_failures
from services.auth.hashing import HashGate
from services.auth.tests.conftest import PARENT_PASSWORD, STAFF_PASSWORD, last_token, make_school
from services.auth.use_cases import people, signin, tokens


def test_a_call_beyond_the_slots_waits_briefly_then_is_unavailable_with_retry_after():
    gate = HashGate(1, wait_seconds=0.05)
    with gate.slot(), pytest.raises(Unavailable) as err:
        gate.run(lambda: None)
    assert err.value.code == "unavailable"
    assert err.value.retry_after == 1
    assert gate.run(lambda: "free again") == "free again"


def test_a_waiting_caller_gets_the_slot_as_soon_as_it_frees():
    gate = HashGate(1, wait_seconds=5)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.05, release.set).start()
    assert gate.run(lambda: "mine") == "mine"
    holder.join(5)


def test_the_waiting_room_is_bounded_beyond_it_unavailable_without_waiting():
    gate = HashGate(1, wait_seconds=5, max_waiting=0)
    with gate.slot(), pytest.raises(Unavailable):
        gate.run(lambda: None)  # would wait 5 s if it were allowed to wait
    assert gate.refused == 1


def test_the_default_bound_keeps_default_hashes_well_under_the_memory_limit():
    slots = load_settings("auth", {}).auth_max_concurrent_hashes
    assert 1 <= slots <= 2  # x 64 MiB (rfc9106-low-memory) + ~100 MiB of process: under 384 MiB


@pytest.fixture
def deps(sqlite_rt):
    sqlite_rt.extras["hash_gate"] = HashGate(1, wait_seconds=0.01)  # one slot, a test can hold it
    return use_case_deps(sqlite_rt)


def _failures(rt) -> int:
    with rt.db.unit_of_work() as s:
        return s.execute(select(func.count()).select_from(sign_in_failures)).scalar_one()


def test_every_argon2_path_is_bounded_and_an_unchecked_attempt_is_no_failure(deps, sqlite_rt):
    school = make_school(sqlite_rt)
    kid = people.create_student(deps, school.staff, "Lucas", "Dupont", "3A", "primary").student
    parent = people.create_parent(deps, school.staff, "Marie", "Dupont", "m@example.be", [kid.id])
    token = last_token(sqlite_rt, parent.id).token
    session = signin.sign_in(deps, school.staff_username, STAFF_PASSWORD).session
    with deps.hasher.gate.slot():  # the only slot is taken (slots are not re-entrant)
        for attempt in (
            lambda: signin.sign_in(deps, "nobody.here", "whatever", "198.51.100.7"),  # dummy verify
            lambda: signin.sign_in(deps, school.staff_username, STAFF_PASSWORD, "198.51.100.7"),
            lambda: tokens.activate(deps, token, PARENT_PASSWORD, PARENT_PASSWORD),
            lambda: signin.change_password(
                deps, session.session_token, STAFF_PASSWORD, PARENT_PASSWORD, PARENT_PASSWORD
            ),
        ):
            with pytest.raises(Unavailable) as err:
                attempt()
            assert err.value.retry_after == 1
    assert _failures(sqlite_rt) == 0
    # once a slot is free, all of it works as before
    tokens.activate(deps, token, PARENT_PASSWORD, PARENT_PASSWORD)
    signin.sign_in(deps, school.staff_username, STAFF_PASSWORD, "198.51.100.7")


def test_one_slot_per_setting_shared_by_every_use_case(sqlite_rt):
    first, second = use_case_deps(sqlite_rt), use_case_deps(sqlite_rt)
    assert first.hasher.gate is second.hasher.gate
    assert first.hasher.gate.slots == sqlite_rt.settings.auth_max_concurrent_hashes
