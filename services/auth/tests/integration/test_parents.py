"""The school's parents in the back office, over gRPC on SQLite and PostgreSQL: found by any part of
their name or e-mail (accents and case ignored) and by status, page by page; one parent with their
children; a change of names, e-mail (one account's only, compared lower-case) or national number,
announced (auth.parent.updated.v1) and audited."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import accounts
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, error_code, events, make_school
from services.auth.tests.integration.test_grpc_auth import refused

NN = "80110204503"


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


@pytest.fixture
def kid(stub, md):
    req = pb.CreateStudentRequest(first_name="Lucas", last_name="Dupont", class_name="3A", level="primary")
    return stub.CreateStudent(req, metadata=md).student


def add_parent(stub, md, kid, first, last, email):
    req = pb.CreateParentRequest(first_name=first, last_name=last, email=email, student_ids=[kid.id])
    return stub.CreateParent(req, metadata=md)


@pytest.fixture
def family(stub, md, kid):
    return {
        p.username: p
        for p in [
            add_parent(stub, md, kid, "Marie", "Dupont", "marie.dupont@example.be"),
            add_parent(stub, md, kid, "Jérôme", "Dupont", "jerome@mail.example"),
            add_parent(stub, md, kid, "Inès", "Lefèvre", "ines.l@example.be"),
        ]
    }


def found(stub, md, **kw) -> list[str]:
    return [p.email for p in stub.ListParents(pb.ListParentsRequest(**kw), metadata=md).parents]


@pytest.mark.parametrize(
    ("q", "emails"),
    [
        ("jerome", ["jerome@mail.example"]),
        ("LEFEVRE", ["ines.l@example.be"]),
        ("dupont", ["jerome@mail.example", "marie.dupont@example.be"]),
        ("mail.exa", ["jerome@mail.example"]),
        ("@EXAMPLE.BE", ["marie.dupont@example.be", "ines.l@example.be"]),
        ("marie dup", ["marie.dupont@example.be"]),
        ("nobody", []),
    ],
)
def test_parents_are_found_by_any_part_of_a_name_or_e_mail(stub, md, family, q, emails):
    assert found(stub, md, q=q) == emails


def test_parents_come_a_page_at_a_time_with_the_status_filter(stub, md, kid, family):
    for i in range(4):
        add_parent(stub, md, kid, f"Parent{i}", "Martin", f"p{i}@example.be")
    seen, cursor = [], ""
    while True:
        page = stub.ListParents(pb.ListParentsRequest(limit=2, cursor=cursor, status="invited"), metadata=md)
        assert len(page.parents) <= 2
        seen += [p.id for p in page.parents]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    assert len(found(stub, md, status="invited")) == 7  # no q, no cursor: every parent
    assert found(stub, md, status="active", q="martin") == []
    for bad in ({"limit": 201}, {"cursor": "x"}):
        err = refused(lambda bad=bad: stub.ListParents(pb.ListParentsRequest(**bad), metadata=md))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_parent_s_change_is_kept_announced_and_audited(stub, auth_rt, md, kid, family):
    marie = family["marie.dupont"]
    changed = stub.UpdateParent(
        pb.UpdateParentRequest(
            parent_id=marie.id,
            first_name=" Marie-Hélène ",
            last_name="Dupont  Martin",
            email=" Marie.Martin@Example.BE ",
            national_number="80.11.02-045.03",
        ),
        metadata=md,
    ).parent
    assert (changed.first_name, changed.last_name, changed.email) == (
        "Marie-Hélène",
        "Dupont Martin",
        "marie.martin@example.be",
    )
    assert changed.national_number == "••••••••••03"
    assert changed.username == "marie.dupont"  # a username never changes
    (_, ev), *_ = reversed(events(auth_rt, "auth.parent.updated.v1"))
    assert (ev.account_id, ev.email, ev.display_name) == (
        marie.id,
        "marie.martin@example.be",
        "Marie-Hélène Dupont Martin",
    )
    assert list(ev.student_ids) == [kid.id]
    (_, entry), *_ = reversed(events(auth_rt, "auth.audit.recorded.v1"))
    assert (entry.action, entry.object_id) == ("auth.parent.updated", marie.id)
    assert "national_number" in entry.detail and NN not in entry.detail
    assert found(stub, md, q="helene") == ["marie.martin@example.be"]
    got = stub.GetParent(pb.GetParentRequest(parent_id=marie.id), metadata=md)
    assert got.parent.national_number == NN
    assert [(c.id, c.status) for c in got.children] == [(kid.id, "active")]
    with auth_rt.db.unit_of_work() as s:
        stored = s.execute(select(accounts.c.national_number).where(accounts.c.id == marie.id)).scalar()
    assert stored and NN not in stored

    before = len(events(auth_rt))
    stub.UpdateParent(
        pb.UpdateParentRequest(parent_id=marie.id, email="MARIE.MARTIN@example.be"), metadata=md
    )
    assert len(events(auth_rt)) == before  # the same address, other case: nothing changed


def test_an_e_mail_is_one_account_s_whatever_its_case_role_or_school(stub, auth_rt, md, school, family):
    marie = family["marie.dupont"]
    other = make_school(auth_rt, "Athénée Royal", staff_first="Paul")  # paul@ecole.example, staff elsewhere
    taken = ["JEROME@mail.example", "anne@ecole.example", "paul@ecole.example"]
    for email in taken:
        err = refused(
            lambda email=email: stub.UpdateParent(
                pb.UpdateParentRequest(parent_id=marie.id, email=email), metadata=md
            )
        )
        assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "email_taken"), email
    assert other.id != school.id
    for field, value in [("email", "not-an-address"), ("first_name", ""), ("national_number", "80110204504")]:
        err = refused(
            lambda field=field, value=value: stub.UpdateParent(
                pb.UpdateParentRequest(parent_id=marie.id, **{field: value}), metadata=md
            )
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, field
    for call, req in [
        (stub.UpdateParent, pb.UpdateParentRequest(parent_id="nobody", first_name="A")),
        (stub.GetParent, pb.GetParentRequest(parent_id="nobody")),
        (stub.GetParent, pb.GetParentRequest(parent_id=school.staff_id)),  # a staff account is no parent
    ]:
        err = refused(lambda call=call, req=req: call(req, metadata=md))
        assert err.code() == grpc.StatusCode.NOT_FOUND
