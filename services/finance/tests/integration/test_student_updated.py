"""auth.student.updated.v1 in finance, on SQLite and PostgreSQL: the student's names and class follow,
and a level change (primary -> secondary) gives every wallet a new structured communication while a
transfer with the old one still credits the same wallet. Once through finance's consumer alone, and
once from auth's own UpdateStudent to a bank statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2
from cartable.auth.v1 import events_pb2 as auth_events
from cartable.finance.v1 import finance_pb2 as pb
from kit import bus
from kit.identity import Identity
from kit.service import make_consumer
from services.auth.app import use_case_deps
from services.auth.tests.conftest import Clock, make_runtime, make_school
from services.auth.tests.conftest import events as auth_events_in_outbox
from services.auth.use_cases import people, students
from services.finance.db import students as finance_students
from services.finance.tests.conftest import SCHOOL, STAFF, reauthenticated, settings
from services.finance.tests.statement_builders import Mv, build_camt053


def digits(communication: str) -> str:
    return communication.strip("+").replace("/", "")


def communications(finance, who, student_id: str) -> dict[str, str]:
    return {w.id: w.structured_communication for w in finance.wallets.list_wallets(who, student_id).wallets}


def transfer(finance, finance_rt, who, credits: list[tuple[str, int]], statement_id: str):
    day = finance_rt.clock().date() + timedelta(days=20)
    content = build_camt053(
        [Mv(cents, ogm=digits(comm), booked_on=day) for comm, cents in credits],
        statement_id=statement_id,
        created_on=day,
    )
    return finance.statements.import_statement(
        who, pb.ImportStatementRequest(content=content, filename=f"{statement_id}.xml")
    ).result


def updated(student_id: str, **fields) -> bytes:
    ev = auth_events.StudentUpdated(student_id=student_id, status="active", **fields)
    return bus.make_envelope("auth.student.updated.v1", ev, SCHOOL).SerializeToString()


def test_a_level_change_renews_the_communications_and_the_old_ones_still_credit_the_same_wallets(
    finance, finance_rt, world
):
    consumer = make_consumer(finance_rt)
    old = communications(finance, STAFF, "emma")
    body = updated(
        "emma",
        class_name="1S1",
        level="secondary",
        first_name="Emma",
        last_name="Dupont-Martin",
        previous_class_name="6A",
        previous_level="primary",
    )
    assert consumer.handle(body) == "handled"
    new = communications(finance, STAFF, "emma")
    assert new.keys() == old.keys() and all(new[w] != old[w] for w in old)
    with finance_rt.db.unit_of_work() as s:
        row = s.execute(select(finance_students).where(finance_students.c.id == "emma")).one()
    assert (row.level, row.class_name, row.last_name) == ("secondary", "1S1", "Dupont-Martin")
    assert consumer.handle(body) == "duplicate"  # delivered twice: renewed once
    assert communications(finance, STAFF, "emma") == new

    repas = world.wallet("emma", "Repas").id
    activites = world.wallet("emma", "Activités").id
    result = transfer(
        finance,
        finance_rt,
        STAFF,
        [(old[repas], 1500), (new[repas], 700), (old[activites], 300)],
        "STMT-LEVEL-1",
    )
    assert (result.credited, result.unmatched) == (3, 0)
    assert world.balance("emma", "Repas") == 2200
    assert world.balance("emma", "Activités") == 300

    # an event delivered late (a name change made while still in primary) undoes no level
    late = updated("emma", class_name="1S1", level="primary", first_name="Emma", previous_level="primary")
    assert consumer.handle(late) == "handled"
    assert communications(finance, STAFF, "emma") == new
    # a class move keeps the communications
    consumer.handle(updated("emma", class_name="2S1", level="secondary", previous_level="secondary"))
    assert communications(finance, STAFF, "emma") == new


def test_from_auth_s_update_to_the_bank_a_transfer_with_the_old_communication_credits_the_wallet(
    finance, finance_rt, databases, keys, tmp_path
):
    auth_rt = make_runtime(databases.migrated("auth"), keys, Clock(finance_rt.clock()), [])
    try:
        deps = use_case_deps(auth_rt)
        school = make_school(auth_rt)
        staff = Identity(account_id=school.staff_id, role="staff", school_id=school.id)
        finance.settings.update_settings(reauthenticated(staff, finance_rt), settings())
        finance.wallets.create_wallet_type(staff, pb.CreateWalletTypeRequest(name="Repas"))
        consumer = make_consumer(finance_rt)

        def deliver(name: str) -> None:
            for env, _ in auth_events_in_outbox(auth_rt, name):
                consumer.handle(env.SerializeToString())

        lucas = people.create_student(deps, school.staff, "Lucas", "Dupont", "6A", "primary").student
        deliver("auth.student.created.v1")
        (wallet_id, old), *_ = communications(finance, staff, lucas.id).items()

        students.update_student(
            deps,
            school.staff,
            auth_pb2.UpdateStudentRequest(student_id=lucas.id, class_name="1S1", level="secondary"),
        )
        deliver("auth.student.updated.v1")
        new = communications(finance, staff, lucas.id)[wallet_id]
        assert new != old

        result = transfer(finance, finance_rt, staff, [(old, 2500), (new, 500)], "STMT-AUTH-1")
        assert (result.credited, result.unmatched) == (2, 0)
        (wallet,) = finance.wallets.list_wallets(staff, lucas.id).wallets
        assert (wallet.id, wallet.balance_cents, wallet.structured_communication) == (wallet_id, 3000, new)
    finally:
        auth_rt.db.dispose()


@pytest.mark.parametrize("level", ["", "kindergarten"])
def test_an_event_without_a_known_level_opens_primary_wallets_for_a_student_finance_never_saw(
    finance, finance_rt, world, level
):
    consumer = make_consumer(finance_rt)
    consumer.handle(updated("zoe", class_name="2A", level=level, first_name="Zoé"))
    zoe = finance.wallets.list_wallets(STAFF, "zoe").wallets
    assert [w.name for w in zoe] == ["Repas", "Activités"]
    with finance_rt.db.unit_of_work() as s:
        row = s.execute(select(finance_students).where(finance_students.c.id == "zoe")).one()
    assert (row.level, row.class_name, row.first_name) == ("primary", "2A", "Zoé")
