"""Every staff account created, disabled or enabled is announced (auth.staff.updated.v1, StaffUpdated):
notifications keeps the school's contact book of managers from it. Over gRPC on SQLite and
PostgreSQL, and through the create-staff command and the demo seed."""

from __future__ import annotations

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.app import use_case_deps
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, events, make_school
from services.auth.tests.integration.test_grpc_auth import create_family
from services.auth.use_cases import demo

STAFF_UPDATED = "auth.staff.updated.v1"


def said(rt) -> list[tuple[str, str, str, str, bool]]:
    return [
        (env.school_id, ev.account_id, ev.email, ev.display_name, ev.disabled)
        for env, ev in events(rt, STAFF_UPDATED)
    ]


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def staff_session(stub, school):
    return stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session


def test_the_create_staff_command_announces_the_manager(auth_rt, school):
    assert said(auth_rt) == [(school.id, school.staff_id, "anne@ecole.example", "Anne Lambert", False)]
    ((_, ev),) = events(auth_rt, STAFF_UPDATED)
    assert ev.language == "fr"


def test_a_colleague_added_disabled_and_enabled_is_announced_each_time(stub, auth_rt, school, staff_session):
    md = bearer(staff_session.identity_token)
    paul = stub.CreateStaff(
        pb.CreateStaffRequest(
            first_name="Paul", last_name="Martin", email="Paul@Ecole.example", language="nl"
        ),
        metadata=md,
    )
    stub.DisableAccount(pb.DisableAccountRequest(account_id=paul.id), metadata=md)
    stub.DisableAccount(pb.DisableAccountRequest(account_id=paul.id), metadata=md)  # no change: nothing said
    stub.EnableAccount(pb.EnableAccountRequest(account_id=paul.id), metadata=md)
    assert said(auth_rt)[1:] == [
        (school.id, paul.id, "paul@ecole.example", "Paul Martin", False),
        (school.id, paul.id, "paul@ecole.example", "Paul Martin", True),
        (school.id, paul.id, "paul@ecole.example", "Paul Martin", False),
    ]
    assert events(auth_rt, STAFF_UPDATED)[1][1].language == "nl"


def test_a_parent_s_change_says_nothing_of_staff(stub, auth_rt, staff_session):
    parent, _ = create_family(stub, staff_session, n=1)
    before = said(auth_rt)
    stub.DisableAccount(
        pb.DisableAccountRequest(account_id=parent.id), metadata=bearer(staff_session.identity_token)
    )
    assert said(auth_rt) == before


def test_the_demo_seed_announces_its_manager(sqlite_rt):
    seeded = demo.seed_demo(use_case_deps(sqlite_rt))
    assert said(sqlite_rt) == [
        (
            seeded.school_id,
            seeded.staff["account_id"],
            "direction@demo.cartable.local",
            "Claire Martin",
            False,
        )
    ]
    demo.seed_demo(use_case_deps(sqlite_rt))  # the demo exists: nothing new
    assert len(said(sqlite_rt)) == 1
