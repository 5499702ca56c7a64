"""One address, many people (a school's Wi-Fi, a mobile operator's NAT): a machine there trying
usernames slows and locks the address for failures, and a parent behind it with the right password
still signs in, or is throttled only as their own username, with a message that says so."""

from __future__ import annotations

import threading

import pytest

from kit.errors import RateLimited, Unauthenticated
from services.auth.app import use_case_deps
from services.auth.hashing import WaitRoom
from services.auth.tests.conftest import PARENT_PASSWORD, last_token, make_school
from services.auth.use_cases import people, signin, tokens

NAT = "192.0.2.50"


@pytest.fixture
def deps(sqlite_rt):
    return use_case_deps(sqlite_rt)


@pytest.fixture
def parent(deps, sqlite_rt):
    school = make_school(sqlite_rt)
    kid = people.create_student(deps, school.staff, "Lucas", "Dupont", "3A", "primary").student
    created = people.create_parent(deps, school.staff, "Marie", "Dupont", "m@example.be", [kid.id])
    tokens.activate(deps, last_token(sqlite_rt, created.id).token, PARENT_PASSWORD, PARENT_PASSWORD)
    return created


def guess_many_usernames(deps, n=31, address=NAT):
    for i in range(n):
        with pytest.raises((Unauthenticated, RateLimited)):
            signin.sign_in(deps, f"guess{i}.someone", "Password1", address)


def test_a_parent_behind_an_address_locked_by_a_guesser_still_signs_in(deps, parent, sleeps):
    guess_many_usernames(deps)
    with pytest.raises(RateLimited) as locked:
        signin.sign_in(deps, "one.more", "Password1", NAT)
    assert locked.value.retry_after > 800
    sleeps.clear()
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD, NAT).session
    assert session.account.id == parent.id
    assert sleeps == [2.0]  # slowed as the address is, not shut out


def test_behind_a_locked_address_a_wrong_password_answers_like_an_unknown_username(deps, parent):
    guess_many_usernames(deps)
    with pytest.raises(RateLimited) as unknown:
        signin.sign_in(deps, "nobody.here", "Password1", NAT)
    with pytest.raises(RateLimited) as wrong:
        signin.sign_in(deps, "marie.dupont", "Password1", NAT)
    assert (unknown.value.code, unknown.value.message) == (wrong.value.code, wrong.value.message)
    assert "network" in wrong.value.message


def test_behind_a_locked_address_a_parent_is_throttled_as_their_username_with_a_clear_message(deps, parent):
    guess_many_usernames(deps)
    for _ in range(5):
        with pytest.raises(RateLimited):
            signin.sign_in(deps, "marie.dupont", "not my password", NAT)
    with pytest.raises(RateLimited) as caught:
        signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD, NAT)
    assert caught.value.code == "rate_limited"
    assert "username" in caught.value.message and "5 min" in caught.value.message
    assert 240 <= caught.value.retry_after <= 300


def test_too_many_sign_ins_waiting_out_a_delay_are_refused_at_once_without_a_thread_asleep():
    release = threading.Event()
    room = WaitRoom(lambda seconds: release.wait(5), max_waiting=1)
    sleeper = threading.Thread(target=room, args=(2.0,))
    sleeper.start()
    try:
        for _ in range(100):  # until the sleeper is in the room
            if room.waiting:
                break
            threading.Event().wait(0.01)
        with pytest.raises(RateLimited) as caught:
            room(1.5)
        assert caught.value.retry_after == 2
    finally:
        release.set()
        sleeper.join(5)
    room(0)  # free again
