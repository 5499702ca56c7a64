"""The level ``nursery`` (maternelle / kleuter, issue #19: the Flemish maximum bill caps kleuter and
lager apart): created, changed, imported from the People CSV as maternelle, kleuter or nursery."""

from __future__ import annotations

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.domain.people import BadValue, parse_level
from services.auth.tests.integration.test_people_import import HEADER, csv_of, imported, md, school  # noqa: F401
from services.auth.tests.integration.test_students import add


def test_parse_level_knows_nursery_and_the_import_its_french_and_dutch_words():
    assert parse_level("Nursery") == "nursery"
    for word in ("maternelle", "Kleuter", "nursery"):
        assert parse_level(word, french=True) == "nursery"
    with pytest.raises(BadValue):
        parse_level("maternelle")  # the API says nursery
    with pytest.raises(BadValue):
        parse_level("kindergarten", french=True)


def test_a_nursery_student_is_created_and_changed_and_a_bad_level_is_named(stub, md):  # noqa: F811
    made = add(stub, md, "Lou", "Peeters", "K2", level="nursery")
    assert made.level == "nursery"
    moved = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=made.id, level="primary"), metadata=md
    ).student
    assert moved.level == "primary"
    back = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=made.id, level="nursery"), metadata=md
    ).student
    assert back.level == "nursery"
    with pytest.raises(grpc.RpcError) as err:
        add(stub, md, "Lou", "Peeters", "K2", level="kleuterklas")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_people_csv_takes_maternelle_kleuter_and_nursery(stub, md):  # noqa: F811
    rows = [
        "K001;Lou;Peeters;K1;maternelle;;;;;;;",
        "K002;Mila;Janssens;K2;kleuter;;;;;;;",
        "K003;Noor;Claes;K3;nursery;;;;;;;",
    ]
    answer = imported(stub, md, csv_of(*rows, header=HEADER))
    assert answer.students_created == 3 and not answer.problems
    listed = stub.ListStudents(pb.ListStudentsRequest(), metadata=md).students
    assert sorted(s.level for s in listed if s.external_id.startswith("K")) == ["nursery"] * 3
