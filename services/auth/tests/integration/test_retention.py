"""The school's retention policy (GetRetentionPolicy, UpdateRetentionPolicy) and the daily
``retention`` command (issue #21), on SQLite and PostgreSQL with the test's clock: a family whose
children all left more than ``personal_years`` school years ago is erased (reason retention) the day
after the 31 August that ends that period, not before; a family with a child still enrolled, a parent
without children and another school's longer policy are left alone; a second run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from kit.privacy import ERASED_PARENT, ERASED_STUDENT, pseudonym
from services.auth.app import spec
from services.auth.db import accounts, directory, students
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, events, last_token, make_school
from services.auth.tests.integration.test_erasure import deliver_audit, erase, parent, student
from services.auth.tests.integration.test_grpc_auth import activate, refused
from services.auth.tests.integration.test_school_scoping import snapshot

ERASED = "auth.family.erased.v1"


def md_of(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    return md_of(stub, school)


def retention(rt, capsys) -> dict:
    """``python -m services.auth retention``, as kit.service runs it."""
    assert spec().commands["retention"](rt, []) == 0
    return json.loads(capsys.readouterr().out)


def names(rt) -> dict[str, str]:
    with rt.db.unit_of_work() as s:
        rows = s.execute(select(accounts.c.id, accounts.c.first_name)).all()
        rows += s.execute(select(students.c.id, students.c.first_name)).all()
    return dict(rows)


def leave(stub, md, kid, day="2026-06-30"):
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=kid.id, left_on=day), metadata=md)


# -- the policy -------------------------------------------------------------------------------------


def test_the_policy_is_one_and_seven_years_until_the_school_changes_it_audited(stub, auth_rt, md):
    assert stub.GetRetentionPolicy(pb.GetRetentionPolicyRequest(), metadata=md) == pb.RetentionPolicy(
        personal_years=1, financial_years=7
    )
    changed = stub.UpdateRetentionPolicy(
        pb.RetentionPolicy(personal_years=2, financial_years=10), metadata=md
    )
    assert changed == pb.RetentionPolicy(personal_years=2, financial_years=10)
    assert stub.GetRetentionPolicy(pb.GetRetentionPolicyRequest(), metadata=md) == changed
    stub.UpdateRetentionPolicy(
        pb.RetentionPolicy(personal_years=2, financial_years=10), metadata=md
    )  # the same
    deliver_audit(auth_rt)
    entries = stub.ListAuditEntries(pb.ListAuditEntriesRequest(), metadata=md).entries
    assert [(e.action, e.detail) for e in entries if e.action.startswith("auth.retention")] == [
        ("auth.retention_policy.updated", "personal data 1 → 2 years, financial records 7 → 10 years")
    ]


@pytest.mark.parametrize(
    ("personal", "financial", "fields"),
    [
        (0, 7, {"personal_years": "1 to 10"}),
        (11, 7, {"personal_years": "1 to 10"}),
        (1, 6, {"financial_years": "7 to 30"}),
        (1, 31, {"financial_years": "7 to 30"}),
        (-1, 0, {"personal_years": "1 to 10", "financial_years": "7 to 30"}),
    ],
)
def test_a_policy_out_of_range_is_refused_and_nothing_changes(stub, auth_rt, md, personal, financial, fields):
    before = snapshot(auth_rt)
    err = refused(
        lambda: stub.UpdateRetentionPolicy(
            pb.RetentionPolicy(personal_years=personal, financial_years=financial), metadata=md
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert json.loads(dict(err.trailing_metadata())["x-error-fields"]) == fields
    assert snapshot(auth_rt) == before


def test_the_policy_is_for_staff_only(stub, auth_rt, md):
    kid = student(stub, md, "Lou", "Brun")
    p = parent(stub, md, "Iris", "Brun", "iris.b@example.be", [kid])
    session = activate(stub, last_token(auth_rt, p.id).token)
    for call, req in (
        (stub.GetRetentionPolicy, pb.GetRetentionPolicyRequest()),
        (stub.UpdateRetentionPolicy, pb.RetentionPolicy(personal_years=2, financial_years=8)),
    ):
        err = refused(lambda call=call, req=req: call(req, metadata=bearer(session.identity_token)))
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert refused(lambda call=call, req=req: call(req)).code() == grpc.StatusCode.UNAUTHENTICATED


# -- the daily job ----------------------------------------------------------------------------------


def test_families_whose_children_all_left_are_erased_after_the_period_once(
    stub, auth_rt, md, school, clock, capsys
):
    gone = student(stub, md, "Ysaline", "Farrow")
    gone_too = student(stub, md, "Ugo", "Farrow")
    farrow = parent(stub, md, "Wendeline", "Farrow", "w.farrow@example.be", [gone, gone_too])
    left = student(stub, md, "Tim", "Ketter")
    enrolled = student(stub, md, "Tom", "Ketter")
    ketter = parent(stub, md, "Rosa", "Ketter", "rosa.k@example.be", [left, enrolled])
    with auth_rt.db.unit_of_work() as s:  # the staff's forms make no parent without a child; an import may
        childless = directory.insert_account(
            s,
            school_id=school.id,
            role="parent",
            first="Nils",
            last="Oberon",
            email="nils.o@example.be",
            language="fr",
            now=clock(),
        )
    for kid in (gone, gone_too, left):
        leave(stub, md, kid)
    other = make_school(auth_rt, "Athénée Royal", staff_first="Marc")
    other_md = md_of(stub, other)
    stub.UpdateRetentionPolicy(pb.RetentionPolicy(personal_years=2, financial_years=10), metadata=other_md)
    elsewhere = student(stub, other_md, "Vera", "Lindqvist")
    lindqvist = parent(stub, other_md, "Olaf", "Lindqvist", "olaf.l@example.be", [elsewhere])
    leave(stub, other_md, elsewhere)
    before = names(auth_rt)

    # 31 August 2027, 23:00 in Brussels: the school year after the one they left in is not over
    clock.now = datetime(2027, 8, 31, 21, 0, tzinfo=UTC)
    assert retention(auth_rt, capsys) == {"parent_ids": [], "student_ids": []}
    assert events(auth_rt, ERASED) == [] and names(auth_rt) == before

    clock.now = datetime(2027, 8, 31, 22, 30, tzinfo=UTC)  # 1 September, 00:30 in Brussels
    done = retention(auth_rt, capsys)
    assert done["parent_ids"] == [farrow.id]
    assert sorted(done["student_ids"]) == sorted([gone.id, gone_too.id])
    ((_, ev),) = events(auth_rt, ERASED)
    assert (list(ev.parent_ids), sorted(ev.student_ids), ev.reason, ev.keep_financial_until) == (
        [farrow.id],
        sorted([gone.id, gone_too.id]),
        "retention",
        "2034-12-31",
    )
    now = names(auth_rt)
    assert now[farrow.id] == pseudonym(ERASED_PARENT, farrow.id)
    assert now[gone.id] == pseudonym(ERASED_STUDENT, gone.id)
    # a child still enrolled, no child at all, another school's two years: as they were
    for kept in (ketter.id, left.id, enrolled.id, childless.id, lindqvist.id, elsewhere.id):
        assert now[kept] == before[kept]

    after = snapshot(auth_rt)
    clock.advance(days=1)
    assert retention(auth_rt, capsys) == {"parent_ids": [], "student_ids": []}
    assert snapshot(auth_rt) == after  # twice: harmless

    clock.now = datetime(2028, 9, 1, 6, 0, tzinfo=UTC)  # the other school's two years are over
    done = retention(auth_rt, capsys)
    assert (done["parent_ids"], done["student_ids"]) == ([lindqvist.id], [elsewhere.id])
    assert events(auth_rt, ERASED)[-1][1].keep_financial_until == "2038-12-31"  # its 10 years


def test_a_child_kept_at_the_erasure_because_enrolled_is_erased_once_left_long_enough(
    stub, auth_rt, md, clock, capsys
):
    kid = student(stub, md, "Mirabelle", "Stanek")
    p = parent(stub, md, "Hedda", "Stanek", "hedda.s@example.be", [kid])
    assert list(erase(stub, md, p.id).kept_student_ids) == [kid.id]
    leave(stub, md, kid, "2026-10-15")  # school year 2026-2027: kept until 31 August 2028
    clock.now = datetime(2027, 9, 2, 8, 0, tzinfo=UTC)
    assert retention(auth_rt, capsys) == {"parent_ids": [], "student_ids": []}
    clock.now = datetime(2028, 9, 1, 8, 0, tzinfo=UTC)
    assert retention(auth_rt, capsys) == {"parent_ids": [], "student_ids": [kid.id]}
    assert names(auth_rt)[kid.id] == pseudonym(ERASED_STUDENT, kid.id)
    assert [(list(ev.parent_ids), list(ev.student_ids)) for _, ev in events(auth_rt, ERASED)] == [
        ([p.id], []),
        ([], [kid.id]),
    ]
    assert retention(auth_rt, capsys) == {"parent_ids": [], "student_ids": []}
