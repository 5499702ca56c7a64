"""The auth use cases on a real SQLite database, with a clock the test moves."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound, RateLimited, Unauthenticated
from kit.identity import Identity
from services.auth.app import use_case_deps
from services.auth.commands import create_school_command, create_staff_command, seed_demo_command
from services.auth.db import accounts, connection_tokens, students
from services.auth.db import sessions as sessions_table
from services.auth.domain.tokens import normalize_token
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    events,
    last_token,
    make_school,
)
from services.auth.use_cases import parents as parents_uc
from services.auth.use_cases import people, schools, sessions, signin, tokens
from services.auth.use_cases import students as students_uc
from services.auth.use_cases.common import Deps
from services.auth.use_cases.demo import DEMO_SCHOOL_NAME


@pytest.fixture
def deps(sqlite_rt) -> Deps:
    return use_case_deps(sqlite_rt)


@pytest.fixture
def school(sqlite_rt):
    return make_school(sqlite_rt)


def family(deps, school, n_children=2, first="Marie", last="Dupont", email="marie@example.be"):
    kids = [
        people.create_student(deps, school.staff, name, last, klass, level).student
        for name, klass, level in [
            ("Lucas", "3A", "primary"),
            ("Emma", "1S2", "secondary"),
            ("Noé", "5B", "primary"),
        ][:n_children]
    ]
    parent = people.create_parent(deps, school.staff, first, last, email, [k.id for k in kids], "fr")
    return parent, kids


def activated(deps, rt, school, **kw):
    parent, kids = family(deps, school, **kw)
    token = last_token(rt, parent.id).token
    tokens.activate(deps, token, PARENT_PASSWORD, PARENT_PASSWORD)
    return parent, kids


# -- accounts the school creates ------------------------------------------------------------------


def test_creating_a_parent_announces_the_parent_and_mails_a_14_day_token(deps, sqlite_rt, school, clock):
    parent, kids = family(deps, school)
    assert parent.username == "marie.dupont"

    ((_, created),) = events(sqlite_rt, "auth.parent.created.v1")
    assert created.account_id == parent.id
    assert created.email == "marie@example.be"
    assert list(created.student_ids) == [k.id for k in kids]
    assert dict(created.student_names) == {kids[0].id: "Lucas", kids[1].id: "Emma"}

    ((env, issued),) = events(sqlite_rt, "auth.token.issued.v1")
    assert env.school_id == school.id
    assert (issued.username, issued.reason, issued.language) == ("marie.dupont", "created", "fr")
    assert issued.display_name == "Marie Dupont"
    assert issued.expires_at == int((clock.now + timedelta(days=14)).timestamp())
    assert len(events(sqlite_rt, "auth.student.created.v1")) == 2


def test_a_connection_token_is_stored_only_as_its_hash(deps, sqlite_rt, school):
    parent, _ = family(deps, school)
    token = last_token(sqlite_rt, parent.id).token
    with sqlite_rt.db.unit_of_work() as s:
        rows = s.execute(select(connection_tokens)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(normalize_token(token).encode()).hexdigest()
    assert not any(token in str(v) or token.replace("-", "") in str(v) for v in rows[0].values())


def test_the_token_and_passwords_are_never_logged(deps, sqlite_rt, school, caplog):
    caplog.set_level(logging.DEBUG)
    parent, _ = family(deps, school)
    token = last_token(sqlite_rt, parent.id).token
    tokens.activate(deps, f"  {token} ", PARENT_PASSWORD, PARENT_PASSWORD)
    tokens.request_password_reset(deps, "marie@example.be", "192.0.2.1")
    reset = last_token(sqlite_rt, parent.id).token
    with pytest.raises(Unauthenticated):
        signin.sign_in(deps, "marie.dupont", "wrong " + PARENT_PASSWORD, "192.0.2.1")
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        for secret in (token, reset, token.replace("-", ""), PARENT_PASSWORD):
            assert secret not in text


def test_a_parent_needs_students_of_the_staff_s_own_school(deps, sqlite_rt, school):
    other = make_school(sqlite_rt, "École des Tilleuls", staff_first="Paul")
    theirs = people.create_student(deps, other.staff, "Zoé", "Martin", "2A", "primary").student
    with pytest.raises(InvalidRequest) as caught:
        people.create_parent(deps, school.staff, "Jean", "Martin", "jean@example.be", [theirs.id])
    assert caught.value.fields == {"student_ids": f"unknown: {theirs.id}"}
    with pytest.raises(InvalidRequest) as caught:
        people.create_parent(deps, school.staff, "", "Martin", "not-an-address", [], "de")
    assert set(caught.value.fields) == {"first_name", "email", "student_ids", "language"}


def test_homonymous_parents_get_distinct_usernames(deps, school):
    a, _ = family(deps, school, n_children=1)
    b, _ = family(deps, school, n_children=1, email="other@example.be")
    assert (a.username, b.username) == ("marie.dupont", "marie.dupont2")


def test_students_are_validated(deps, school):
    with pytest.raises(InvalidRequest) as caught:
        people.create_student(deps, school.staff, "Lucas", "Dupont", "", "kindergarten")
    assert set(caught.value.fields) == {"class_name", "level"}


def test_staff_use_cases_are_refused_to_parents(deps, school):
    parent = Identity(account_id="p", role="parent", school_id=school.id)
    for call in (
        lambda: people.create_student(deps, parent, "A", "B", "1A", "primary"),
        lambda: people.create_parent(deps, parent, "A", "B", "a@example.be", ["x"]),
        lambda: tokens.issue_connection_token(deps, parent, "x"),
        lambda: parents_uc.list_parents(deps, parent),
    ):
        with pytest.raises(Forbidden):
            call()


def test_a_parent_of_another_school_gets_no_token_from_this_school(deps, sqlite_rt, school):
    other = make_school(sqlite_rt, "École des Tilleuls", staff_first="Paul")
    parent, _ = family(deps, other)
    with pytest.raises(NotFound):
        tokens.issue_connection_token(deps, school.staff, parent.id)


def test_list_students_staff_by_class_a_parent_only_their_children(deps, sqlite_rt, school):
    parent, kids = activated(deps, sqlite_rt, school)
    stranger = people.create_student(deps, school.staff, "Zoé", "Martin", "3A", "primary").student
    staff_view = students_uc.list_students(deps, school.staff, class_names=["3A"]).students
    assert [s.id for s in staff_view] == [kids[0].id, stranger.id]  # by class, then last name
    me = Identity(account_id=parent.id, role="parent", school_id=school.id)
    assert {s.id for s in students_uc.list_students(deps, me).students} == {k.id for k in kids}
    assert list(students_uc.list_students(deps, me, student_ids=[stranger.id]).students) == []


def test_list_parents_gives_each_parent_s_children(deps, school):
    parent, kids = family(deps, school)
    other, (zoe,) = family(deps, school, n_children=1, first="Paul", last="Martin", email="paul@example.be")
    everyone = parents_uc.list_parents(deps, school.staff).parents
    assert {p.id: set(p.student_ids) for p in everyone} == {
        parent.id: {k.id for k in kids},
        other.id: {zoe.id},
    }
    (found,) = parents_uc.list_parents(deps, school.staff, [kids[1].id]).parents
    assert (found.id, found.email, found.language) == (parent.id, "marie@example.be", "fr")


# -- first connection -----------------------------------------------------------------------------


def test_activation_ignores_spaces_around_the_token_and_signs_in_at_once(deps, sqlite_rt, school):
    parent, kids = family(deps, school)
    token = last_token(sqlite_rt, parent.id).token
    assert tokens.check_connection_token(deps, f"\t {token}  \n").username == "marie.dupont"
    session = tokens.activate(deps, f"  {token}  ", PARENT_PASSWORD, PARENT_PASSWORD).session
    assert session.account.id == parent.id
    assert session.account.role == "parent"
    assert {c.id for c in session.children} == {k.id for k in kids}
    assert session.active_child_id == ""  # two children: the parent chooses
    assert sessions.resolve_session(deps, session.session_token).session.account.username == "marie.dupont"


@pytest.mark.parametrize(
    ("password", "confirm", "fields"),
    [
        ("Tortue rapide au matin", "Tortue rapide au matiN", {"password_confirm": "mismatch"}),
        ("Xk#9v!q", "Xk#9v!q", {"password": "too_short"}),
        ("azertyuiop", "azertyuiop", {"password": "common"}),
        ("marie.dupont 1980", "marie.dupont 1980", {"password": "contains_username"}),
    ],
)
def test_weak_or_different_passwords_are_refused_and_the_token_stays_usable(
    deps, sqlite_rt, school, password, confirm, fields
):
    parent, _ = family(deps, school)
    token = last_token(sqlite_rt, parent.id).token
    with pytest.raises(InvalidRequest) as caught:
        tokens.activate(deps, token, password, confirm)
    assert caught.value.fields == fields
    assert caught.value.code == "invalid_request"
    assert f"[{next(iter(fields.values()))}]" in caught.value.message
    assert tokens.activate(deps, token, PARENT_PASSWORD, PARENT_PASSWORD).session.account.id == parent.id


@pytest.mark.parametrize("typed", ["", "   ", "ABCD-EFGH", "x" * 5000])
def test_an_unknown_token_is_invalid(deps, school, typed):
    with pytest.raises(InvalidRequest) as caught:
        tokens.activate(deps, typed, PARENT_PASSWORD, PARENT_PASSWORD)
    assert caught.value.code == "invalid_token"
    assert caught.value.fields == {"token": "invalid"}


def test_activation_ends_the_account_s_older_sessions(deps, sqlite_rt, school):
    parent, _ = activated(deps, sqlite_rt, school)
    before = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    tokens.request_password_reset(deps, "MARIE@example.be ")
    tokens.activate(
        deps, last_token(sqlite_rt, parent.id).token, "Un tout autre mot 2026", "Un tout autre mot 2026"
    )
    with pytest.raises(Unauthenticated):
        sessions.resolve_session(deps, before.session_token)


# -- sign-in and throttling -----------------------------------------------------------------------


def test_sign_in_gives_a_new_session_each_time_and_ends_the_one_the_browser_held(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    first = signin.sign_in(deps, " Marie.Dupont ", PARENT_PASSWORD, "192.0.2.1").session
    second = signin.sign_in(
        deps, "marie.dupont", PARENT_PASSWORD, "192.0.2.1", previous_session_token=first.session_token
    ).session
    assert second.session_token != first.session_token
    assert second.csrf_token != first.csrf_token
    with pytest.raises(Unauthenticated):
        sessions.resolve_session(deps, first.session_token)
    assert sessions.resolve_session(deps, second.session_token).session.csrf_token == second.csrf_token


def test_session_tokens_are_stored_only_as_hashes(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    with sqlite_rt.db.unit_of_work() as s:
        ids = s.execute(select(sessions_table.c.id)).scalars().all()
    assert session.session_token not in ids
    assert hashlib.sha256(session.session_token.encode()).hexdigest() in ids


def test_failed_sign_ins_wait_longer_and_longer(deps, sqlite_rt, school, sleeps):
    activated(deps, sqlite_rt, school)
    for _ in range(5):
        with pytest.raises(Unauthenticated) as caught:
            signin.sign_in(deps, "marie.dupont", "not the password", "192.0.2.1")
        assert caught.value.code == "invalid_credentials"
    assert sleeps == [0.5, 1.0, 2.0]  # the first two tries are free, then 0.5 s, 1 s, 2 s
    with pytest.raises(RateLimited) as caught:
        signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD, "192.0.2.1")
    assert 290 <= caught.value.retry_after <= 300


def test_an_unknown_username_is_checked_against_a_dummy_hash_and_throttled_the_same(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    hasher = sqlite_rt.extras["password_hasher"]
    with pytest.raises(Unauthenticated) as unknown:
        signin.sign_in(deps, "nobody.here", PARENT_PASSWORD, "192.0.2.1")
    with pytest.raises(Unauthenticated) as known:
        signin.sign_in(deps, "marie.dupont", "not the password", "192.0.2.1")
    assert hasher.dummy_verified == 1
    assert (unknown.value.code, unknown.value.message) == (known.value.code, known.value.message)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            signin.sign_in(deps, "nobody.here", "guess", "192.0.2.2")
    with pytest.raises(RateLimited):
        signin.sign_in(deps, "nobody.here", "guess", "192.0.2.3")


def test_an_account_not_yet_activated_cannot_sign_in(deps, sqlite_rt, school):
    family(deps, school)
    with pytest.raises(Unauthenticated):
        signin.sign_in(deps, "marie.dupont", "")


def test_one_address_is_locked_after_thirty_failures_whatever_the_usernames(deps, school):
    for i in range(30):
        with pytest.raises(Unauthenticated):
            signin.sign_in(deps, f"someone{i}", "guess", "198.51.100.7")
    # issue #15: the lock answers every failure from that address (an unknown username or a wrong
    # password alike), but no longer shuts out the right password of an existing account behind it
    with pytest.raises(RateLimited) as caught:
        signin.sign_in(deps, "someone31", "guess", "198.51.100.7")
    assert caught.value.retry_after > 800
    with pytest.raises(RateLimited) as wrong:
        signin.sign_in(deps, school.staff_username, "not the password", "198.51.100.7")
    assert (wrong.value.code, wrong.value.message) == (caught.value.code, caught.value.message)
    assert (
        signin.sign_in(deps, school.staff_username, STAFF_PASSWORD, "198.51.100.7").session.account.role
        == "staff"
    )
    assert (
        signin.sign_in(deps, school.staff_username, STAFF_PASSWORD, "198.51.100.8").session.account.role
        == "staff"
    )


def test_a_success_clears_the_account_s_failures(deps, sqlite_rt, school, sleeps):
    activated(deps, sqlite_rt, school)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            signin.sign_in(deps, "marie.dupont", "not the password")
    signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD)
    sleeps.clear()
    with pytest.raises(Unauthenticated):
        signin.sign_in(deps, "marie.dupont", "not the password")
    assert sleeps == []


# -- sessions -------------------------------------------------------------------------------------


def test_a_session_ends_after_12_hours_idle(deps, sqlite_rt, school, clock):
    activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    clock.advance(hours=11, minutes=59)
    sessions.resolve_session(deps, session.session_token)
    clock.advance(hours=11, minutes=59)  # used 11 h 59 ago: still alive
    sessions.resolve_session(deps, session.session_token)
    clock.advance(hours=12)
    with pytest.raises(Unauthenticated):
        sessions.resolve_session(deps, session.session_token)


def test_a_session_ends_7_days_after_sign_in_however_used(deps, sqlite_rt, school, clock):
    activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    for _ in range(15):
        clock.advance(hours=11)
        sessions.resolve_session(deps, session.session_token)
    clock.advance(hours=7 * 24 - 165)
    with pytest.raises(Unauthenticated):
        sessions.resolve_session(deps, session.session_token)


def test_sign_out_ends_the_session(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    sessions.sign_out(deps, session.session_token)
    sessions.sign_out(deps, session.session_token)  # again: nothing to do
    sessions.sign_out(deps, "never-existed")
    with pytest.raises(Unauthenticated):
        sessions.resolve_session(deps, session.session_token)


def test_with_one_child_the_child_is_active_at_sign_in(deps, sqlite_rt, school):
    _parent, (only,) = activated(deps, sqlite_rt, school, n_children=1)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    assert session.active_child_id == only.id
    assert session.children[0].school_name == "École Sainte-Marie"


def test_choosing_a_child_makes_it_active(deps, sqlite_rt, school):
    _, kids = activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    chosen = sessions.select_child(deps, session.session_token, kids[1].id).session
    assert chosen.active_child_id == kids[1].id
    assert sessions.resolve_session(deps, session.session_token).session.active_child_id == kids[1].id
    with pytest.raises(NotFound):
        sessions.select_child(deps, session.session_token, "")


def test_changing_the_password_needs_the_current_one(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    session = signin.sign_in(deps, "marie.dupont", PARENT_PASSWORD).session
    with pytest.raises(InvalidRequest) as caught:
        signin.change_password(
            deps, session.session_token, "wrong", "Un tout autre mot 2026", "Un tout autre mot 2026"
        )
    assert caught.value.fields == {"current_password": "incorrect"}
    with pytest.raises(InvalidRequest) as caught:
        signin.change_password(
            deps, session.session_token, PARENT_PASSWORD, "Un tout autre mot 2026", "Un autre"
        )
    assert caught.value.fields == {"new_password_confirm": "mismatch"}
    signin.change_password(
        deps, session.session_token, PARENT_PASSWORD, "Un tout autre mot 2026", "Un tout autre mot 2026"
    )
    assert (
        signin.sign_in(deps, "marie.dupont", "Un tout autre mot 2026").session.account.username
        == "marie.dupont"
    )


# -- forgotten password ---------------------------------------------------------------------------


def test_reset_requests_are_limited_per_address_whatever_the_address_asked(deps, sqlite_rt, school):
    activated(deps, sqlite_rt, school)
    for i in range(10):
        tokens.request_password_reset(deps, f"unknown{i}@example.be", "203.0.113.9")
    with pytest.raises(RateLimited):
        tokens.request_password_reset(deps, "marie@example.be", "203.0.113.9")
    tokens.request_password_reset(deps, "marie@example.be", "203.0.113.10")


def test_a_parent_gets_at_most_three_reset_mails_an_hour(deps, sqlite_rt, school, clock):
    parent, _ = activated(deps, sqlite_rt, school)
    for _ in range(5):
        tokens.request_password_reset(deps, "marie@example.be")
    resets = [p for _, p in events(sqlite_rt, "auth.token.issued.v1") if p.reason == "password_reset"]
    assert len(resets) == 3
    clock.advance(hours=1, seconds=1)
    tokens.request_password_reset(deps, "marie@example.be")
    assert last_token(sqlite_rt, parent.id).reason == "password_reset"
    assert len([p for _, p in events(sqlite_rt, "auth.token.issued.v1") if p.reason == "password_reset"]) == 4


# -- commands -------------------------------------------------------------------------------------


def test_create_school_and_staff_commands_print_json(deps, sqlite_rt, capsys, monkeypatch):
    assert create_school_command(deps, ["--name", "École du Parc"]) == 0
    school = json.loads(capsys.readouterr().out)
    assert school["name"] == "École du Parc"

    monkeypatch.setattr("sys.stdin", io.StringIO(STAFF_PASSWORD + "\n"))
    args = ["--school-id", school["school_id"], "--first-name", "Anne", "--last-name", "Lambert"]
    assert create_staff_command(deps, [*args, "--email", "anne@parc.example", "--password-stdin"]) == 0
    staff = json.loads(capsys.readouterr().out)
    assert staff["username"] == "anne.lambert"
    assert "connection_token" not in staff
    assert signin.sign_in(deps, "anne.lambert", STAFF_PASSWORD).session.account.role == "staff"

    assert create_staff_command(deps, [*args, "--email", "a2@parc.example", "--username", "Direction"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["username"] == "direction"
    assert second["connection_token"] == last_token(sqlite_rt, second["account_id"]).token

    assert create_staff_command(deps, [*args, "--email", "a3@parc.example", "--username", "direction"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "username_taken"


def test_seed_demo_creates_the_demo_once(deps, sqlite_rt, capsys):
    assert seed_demo_command(deps, []) == 0
    demo = json.loads(capsys.readouterr().out)
    assert demo["created"] is True
    assert {s["class_name"] for s in demo["students"]} == {"3A", "1S2"}
    assert {s["level"] for s in demo["students"]} == {"primary", "secondary"}
    parent = signin.sign_in(deps, demo["parent"]["username"], demo["parent"]["password"]).session
    assert parent.account.school_name == DEMO_SCHOOL_NAME
    assert {c.id for c in parent.children} == {s["id"] for s in demo["students"]}
    staff = signin.sign_in(deps, demo["staff"]["username"], demo["staff"]["password"]).session
    assert staff.account.role == "staff"
    assert len(demo["staff"]["password"]) >= 20

    assert seed_demo_command(deps, []) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["created"] is False
    assert again["school_id"] == demo["school_id"]
    assert again["parent"] == {**demo["parent"], "password": None}
    assert again["students"] == demo["students"]
    with sqlite_rt.db.unit_of_work() as s:
        assert len(s.execute(select(accounts.c.id)).all()) == 2
        assert len(s.execute(select(students.c.id)).all()) == 2


def test_staff_passwords_follow_the_same_policy(deps, school):
    with pytest.raises(InvalidRequest):
        schools.create_staff(deps, school.id, "Paul", "Leroy", "paul@ecole.example", password="password1")
    with pytest.raises(NotFound):
        schools.create_staff(
            deps, "no-such-school", "Paul", "Leroy", "paul@ecole.example", password=STAFF_PASSWORD
        )
    with pytest.raises(Conflict):
        schools.create_staff(
            deps, school.id, "Paul", "Leroy", "paul@ecole.example", username=school.staff_username
        )
