"""Wallet types, students' wallets and their structured communications."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from stdnum.be import ogm_vcs

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.finance.v1 import finance_pb2 as pb
from kit import bus
from kit.errors import Forbidden, InvalidRequest
from kit.service import make_consumer
from services.finance.db import structured_communications
from services.finance.tests.conftest import MUM, SCHOOL, STAFF, STRANGER

pytestmark = pytest.mark.usefixtures("world")


def test_every_student_has_one_wallet_per_type_each_with_its_own_valid_communication(world):
    emma = world.finance.wallets.list_wallets(MUM, "emma").wallets
    assert [w.name for w in emma] == ["Repas", "Activités"]
    assert all(w.balance_cents == 0 for w in emma)
    comms = {w.structured_communication for s in world.wallets.values() for w in s.values()}
    assert len(comms) == 6
    for c in comms:
        assert c.startswith("+++") and c.endswith("+++")
        assert ogm_vcs.is_valid(c.strip("+").replace("/", ""))


def test_opening_wallets_again_changes_nothing(world):
    before = world.finance.wallets.list_wallets(STAFF, "emma").wallets
    again = world.finance.wallets.open_student_wallets(
        STAFF, pb.OpenStudentWalletsRequest(student_id="emma", level="primary")
    )
    assert list(again.wallets) == list(before)


def test_a_new_wallet_type_opens_that_wallet_for_every_known_student(world):
    made = world.finance.wallets.create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name="Garderie"))
    assert made.created and made.wallets_opened == 3
    for student in ("emma", "leo", "noah"):
        assert "Garderie" in [w.name for w in world.finance.wallets.list_wallets(STAFF, student).wallets]
    same = world.finance.wallets.create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name="  garderie "))
    assert not same.created and same.wallet_type.id == made.wallet_type.id


def test_moving_to_secondary_gives_new_communications_and_the_old_ones_still_name_the_wallet(
    world, finance_rt
):
    old = {
        w.id: w.structured_communication for w in world.finance.wallets.list_wallets(STAFF, "emma").wallets
    }
    moved = world.finance.wallets.open_student_wallets(
        STAFF, pb.OpenStudentWalletsRequest(student_id="emma", level="secondary")
    )
    new = {w.id: w.structured_communication for w in moved.wallets}
    assert new.keys() == old.keys()
    assert all(new[w] != old[w] for w in old)
    with finance_rt.db.unit_of_work() as s:
        rows = s.execute(
            select(structured_communications).where(structured_communications.c.wallet_id.in_(old))
        ).all()
    by_wallet: dict[str, list] = {}
    for r in rows:
        by_wallet.setdefault(r.wallet_id, []).append(r)
    for wallet_id, comms in by_wallet.items():
        assert len(comms) == 2
        previous = next(c for c in comms if c.level == "primary")
        current = next(c for c in comms if c.level == "secondary")
        assert current.valid_until is None
        assert previous.valid_until is not None  # still credits the same wallet until then
        assert previous.wallet_id == current.wallet_id == wallet_id
    # stable from then on
    again = world.finance.wallets.open_student_wallets(
        STAFF, pb.OpenStudentWalletsRequest(student_id="emma", level="secondary")
    )
    assert {w.id: w.structured_communication for w in again.wallets} == new


def test_student_created_event_opens_the_same_wallets_once_and_a_late_event_changes_no_level(
    world, finance_rt
):
    consumer = make_consumer(finance_rt)

    def deliver(student_id: str, level: str) -> str:
        env = bus.make_envelope(
            "auth.student.created.v1",
            auth_events.StudentCreated(student_id=student_id, class_name="2A", level=level),
            SCHOOL,
        )
        return consumer.handle(env.SerializeToString())

    assert deliver("zoe", "primary") == "handled"
    zoe = world.finance.wallets.list_wallets(STAFF, "zoe").wallets
    assert [w.name for w in zoe] == ["Repas", "Activités"]
    world.finance.wallets.open_student_wallets(
        STAFF, pb.OpenStudentWalletsRequest(student_id="zoe", level="primary")
    )
    assert list(world.finance.wallets.list_wallets(STAFF, "zoe").wallets) == list(zoe)
    # leo is secondary already: a stale event saying primary must not renew his communications
    leo = list(world.finance.wallets.list_wallets(STAFF, "leo").wallets)
    deliver("leo", "primary")
    assert list(world.finance.wallets.list_wallets(STAFF, "leo").wallets) == leo


def test_parents_see_only_their_children_and_only_staff_open_wallets(world):
    with pytest.raises(Forbidden):
        world.finance.wallets.list_wallets(STRANGER, "emma")
    with pytest.raises(Forbidden):
        world.finance.wallets.open_student_wallets(
            MUM, pb.OpenStudentWalletsRequest(student_id="emma", level="primary")
        )
    with pytest.raises(InvalidRequest):
        world.finance.wallets.open_student_wallets(
            STAFF, pb.OpenStudentWalletsRequest(student_id="x", level="university")
        )
    with pytest.raises(Forbidden):
        world.finance.wallets.create_wallet_type(MUM, pb.CreateWalletTypeRequest(name="Piscine"))
