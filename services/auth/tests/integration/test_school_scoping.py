"""Every staff RPC of auth refuses, in the service itself, an id of another school: NOT_FOUND, like an
id that never existed, and nothing written (every table the same before and after, outbox and audit
included). Through the real servicer over gRPC on SQLite and PostgreSQL, with a staff identity token
auth signed at sign-in. The same calls with the caller's own ids are served (the control)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import metadata
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, make_school


def snapshot(rt) -> dict[str, list[tuple]]:
    """Every row of every table of the service."""
    with rt.db.unit_of_work() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr) for t in metadata.sorted_tables
        }


@dataclass
class Schools:
    rt: object
    stub: object
    md: list  # the caller: a manager of OURS
    us: SimpleNamespace  # ids of OURS: student, parent, colleague
    them: SimpleNamespace  # ids of THEIRS


def _people(stub, md, suffix: str) -> SimpleNamespace:
    student = stub.CreateStudent(
        pb.CreateStudentRequest(first_name="Zoé", last_name="Martin", class_name="2A", level="primary"),
        metadata=md,
    ).student
    parent = stub.CreateParent(
        pb.CreateParentRequest(
            first_name="Paul", last_name="Martin", email=f"paul.{suffix}@example.be", student_ids=[student.id]
        ),
        metadata=md,
    )
    colleague = stub.CreateStaff(
        pb.CreateStaffRequest(first_name="Inès", last_name="Petit", email=f"ines.{suffix}@ecole.example"),
        metadata=md,
    )
    return SimpleNamespace(student=student.id, parent=parent.id, colleague=colleague.id)


@pytest.fixture
def schools(stub, auth_rt) -> Schools:
    ours = make_school(auth_rt, "École Sainte-Marie", staff_first="Anne")
    theirs = make_school(auth_rt, "Athénée Royal", staff_first="Paul")

    def md(school) -> list:
        req = pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)
        return bearer(stub.SignIn(req).session.identity_token)

    our_md, their_md = md(ours), md(theirs)
    return Schools(
        auth_rt, stub, our_md, us=_people(stub, our_md, "ours"), them=_people(stub, their_md, "theirs")
    )


# (RPC, the request field holding the other school's id) -> the request, built from our ids except
# that field, which takes the ids given (ours in the control test, theirs in the matrix); the code
# another school's id answers.
Build = Callable[[SimpleNamespace, SimpleNamespace], object]
NF, BAD = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT
CASES: dict[tuple[str, str], tuple[Build, grpc.StatusCode]] = {
    ("GetStudent", "student_id"): (lambda us, x: pb.GetStudentRequest(student_id=x.student), NF),
    ("UpdateStudent", "student_id"): (
        lambda us, x: pb.UpdateStudentRequest(student_id=x.student, class_name="3B", external_id="E-1"),
        NF,
    ),
    ("LeaveStudent", "student_id"): (lambda us, x: pb.LeaveStudentRequest(student_id=x.student), NF),
    ("GetParent", "parent_id"): (lambda us, x: pb.GetParentRequest(parent_id=x.parent), NF),
    ("UpdateParent", "parent_id"): (
        lambda us, x: pb.UpdateParentRequest(
            parent_id=x.parent, first_name="Pierre", email="pierre@example.be"
        ),
        NF,
    ),
    ("IssueConnectionToken", "parent_id"): (
        lambda us, x: pb.IssueConnectionTokenRequest(parent_id=x.parent),
        NF,
    ),
    ("LinkChildren", "parent_id"): (
        lambda us, x: pb.LinkChildrenRequest(parent_id=x.parent, student_ids=[us.student]),
        NF,
    ),
    # Students named for a parent are looked up among the school's: another school's is as unknown
    # as one that never existed, the 400 that names every unknown student (fields.student_ids).
    ("LinkChildren", "student_ids"): (
        lambda us, x: pb.LinkChildrenRequest(parent_id=us.parent, student_ids=[x.student]),
        BAD,
    ),
    ("CreateParent", "student_ids"): (
        lambda us, x: pb.CreateParentRequest(
            first_name="Léa", last_name="Roux", email="lea.roux@example.be", student_ids=[x.student]
        ),
        BAD,
    ),
    ("DisableAccount", "account_id"): (lambda us, x: pb.DisableAccountRequest(account_id=x.colleague), NF),
    ("DisableAccount", "account_id (parent)"): (
        lambda us, x: pb.DisableAccountRequest(account_id=x.parent),
        NF,
    ),
    ("EnableAccount", "account_id"): (lambda us, x: pb.EnableAccountRequest(account_id=x.colleague), NF),
    ("EndSessions", "account_id"): (lambda us, x: pb.EndSessionsRequest(account_id=x.parent), NF),
    ("ResetSecondFactor", "account_id"): (
        lambda us, x: pb.ResetSecondFactorRequest(account_id=x.colleague),
        NF,
    ),
    # a staff account (ours too) is no parent to erase: test_erasure
    ("EraseFamily", "parent_id"): (lambda us, x: pb.EraseFamilyRequest(parent_id=x.parent, confirm=True), NF),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # Filters: another school's ids match nothing, as unknown ones (test_filters_...): an empty list,
    # not not_found, which would tell one school which ids another uses.
    ("ListStudents", "student_ids"): "filter, nothing listed",
    ("ListParents", "student_ids"): "filter, nothing listed",
    # Classes are the school's own labels, matched among its own students only: count 0.
    ("MoveClass", "from_class"): "scoped match, count 0",
    # The CSV's student_id is the school's own id (external_id, unique per school): another school's
    # is no id of theirs here (it makes a student of ours); their parents' e-mails are bad rows
    # (email_taken), tested in test_people_import.
    ("ImportPeople", "csv"): "the school's own ids; e-mails: email_taken",
}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_refused_and_nothing_is_written(schools, rpc, field):
    build, code = CASES[(rpc, field)]
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(build(schools.us, schools.them), metadata=schools.md)
    assert exc.value.code() == code, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    build, _code = CASES[(rpc, field)]
    getattr(schools.stub, rpc)(build(schools.us, schools.us), metadata=schools.md)


def test_filters_and_class_moves_with_another_school_s_ids_touch_nothing_of_theirs(schools):
    stub, md = schools.stub, schools.md
    before = snapshot(schools.rt)
    assert (
        list(
            stub.ListStudents(
                pb.ListStudentsRequest(student_ids=[schools.them.student]), metadata=md
            ).students
        )
        == []
    )
    assert (
        list(stub.ListParents(pb.ListParentsRequest(student_ids=[schools.them.student]), metadata=md).parents)
        == []
    )
    assert stub.MoveClass(pb.MoveClassRequest(from_class="9Z", to_class="9Y"), metadata=md).moved == 0
    assert snapshot(schools.rt) == before
    # both schools have a 2A: moving ours leaves theirs where it is
    assert stub.MoveClass(pb.MoveClassRequest(from_class="2A", to_class="3A"), metadata=md).moved == 1
    (ours,) = stub.ListStudents(pb.ListStudentsRequest(class_name="3A"), metadata=md).students
    assert ours.id == schools.us.student


def test_searches_list_only_the_caller_s_school(schools):
    stub, md = schools.stub, schools.md
    assert [s.id for s in stub.ListStudents(pb.ListStudentsRequest(q="zoe"), metadata=md).students] == [
        schools.us.student
    ]
    assert [p.id for p in stub.ListParents(pb.ListParentsRequest(q="paul"), metadata=md).parents] == [
        schools.us.parent
    ]


def test_every_staff_rpc_with_an_id_is_in_the_matrix_or_exempt():
    """A new staff RPC taking an id must join CASES (or EXEMPT, with its reason)."""
    with_ids = {
        m.name
        for m in pb.DESCRIPTOR.services_by_name["AuthService"].methods
        if any(
            f.name.endswith(("_id", "_ids", "_class")) or f.name == "csv"
            for f in m.input_type.fields
            if f.name not in ("session_token",)
        )
    }
    covered = {rpc for rpc, _ in CASES} | {rpc for rpc, _ in EXEMPT}
    public = {"SelectChild"}  # the session token's own children (test_grpc_auth)
    assert with_ids - public == covered


def test_a_school_s_retention_policy_is_its_own(schools, stub, auth_rt):
    """GetRetentionPolicy and UpdateRetentionPolicy take no id: the caller's school's, never another's."""
    theirs = make_school(auth_rt, "Lycée Voisin", staff_first="Marc")
    their_md = bearer(
        stub.SignIn(
            pb.SignInRequest(username=theirs.staff_username, password=STAFF_PASSWORD)
        ).session.identity_token
    )
    schools.stub.UpdateRetentionPolicy(
        pb.RetentionPolicy(personal_years=3, financial_years=10), metadata=schools.md
    )
    assert schools.stub.GetRetentionPolicy(
        pb.GetRetentionPolicyRequest(), metadata=schools.md
    ) == pb.RetentionPolicy(personal_years=3, financial_years=10)
    before = snapshot(schools.rt)
    assert stub.GetRetentionPolicy(pb.GetRetentionPolicyRequest(), metadata=their_md) == pb.RetentionPolicy(
        personal_years=1, financial_years=7
    )
    assert snapshot(schools.rt) == before
