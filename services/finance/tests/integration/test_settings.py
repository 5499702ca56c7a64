"""The school's settings: changing the IBAN (the first one too) asks for a password typed again within
5 minutes (the identity's reauthenticated_at), announces the change masked, and the settings gain
the invoice reminders, the SEPA creditor identifier and the enterprise number."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Forbidden, InvalidRequest
from services.finance.db import outbox
from services.finance.tests.conftest import (
    OTHER_SCHOOL_STAFF,
    SCHOOL,
    STAFF,
    error_code,
    md,
    reauthenticated,
    reauthenticated_token,
    settings,
    snapshot,
)

NEW_IBAN = "BE71 0961 2345 6769"


def iban_events(rt) -> list[tuple[str, ev.IbanChanged]]:
    out = []
    with rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.settings.iban_changed.v1")
            .order_by(outbox.c.id)
        ).scalars():
            env = envelope_pb2.Envelope.FromString(body)
            msg = ev.IbanChanged()
            env.payload.Unpack(msg)
            out.append((env.school_id, msg))
    return out


def refused(finance, who, request) -> str:
    with pytest.raises(Forbidden) as err:
        finance.settings.update_settings(who, request)
    return err.value.code


# --- the IBAN and the password typed again ----------------------------------------------------------


def test_the_first_iban_needs_the_password_typed_again(finance, finance_rt):
    before = snapshot(finance_rt)
    assert refused(finance, STAFF, settings()) == "reauthentication_required"
    assert snapshot(finance_rt) == before
    saved = finance.settings.update_settings(reauthenticated(STAFF, finance_rt), settings()).settings
    assert saved.iban == "BE68539007547034"


def test_a_new_iban_without_a_password_typed_again_is_refused_and_nothing_changes(world, finance_rt):
    finance = world.finance
    before = snapshot(finance_rt)
    assert refused(finance, STAFF, settings(iban=NEW_IBAN, bic="GKCCBEBB")) == "reauthentication_required"
    assert snapshot(finance_rt) == before
    assert finance.settings.get_settings(STAFF).settings.iban == "BE68539007547034"


@pytest.mark.parametrize(
    ("ago", "allowed"), [(0, True), (299, True), (300, True), (301, False), (3600, False)]
)
def test_the_password_counts_for_five_minutes(world, finance_rt, ago, allowed):
    who = reauthenticated(STAFF, finance_rt, ago_seconds=ago)
    if allowed:
        assert world.finance.settings.update_settings(who, settings(iban=NEW_IBAN)).settings.iban == (
            "BE71096123456769"
        )
    else:
        assert refused(world.finance, who, settings(iban=NEW_IBAN)) == "reauthentication_required"


def test_a_reauthentication_dated_in_the_future_beyond_clock_drift_does_not_count(world, finance_rt):
    who = reauthenticated(STAFF, finance_rt, ago_seconds=-3600)
    assert refused(world.finance, who, settings(iban=NEW_IBAN)) == "reauthentication_required"


def test_the_same_iban_however_spelled_needs_no_password(world, finance_rt):
    got = world.finance.settings.update_settings(
        STAFF, settings(iban="be68 5390 0754 7034", top_up_methods=["transfer"])
    ).settings
    assert (got.iban, list(got.top_up_methods)) == ("BE68539007547034", ["transfer"])
    assert len(iban_events(finance_rt)) == 1  # the first IBAN's only


def test_a_changed_iban_is_announced_masked_with_who_changed_it(world, finance_rt):
    finance_rt.clock.advance(minutes=10)
    world.finance.settings.update_settings(
        reauthenticated(STAFF, finance_rt), settings(iban=NEW_IBAN, school_name="École Saint-Joseph")
    )
    first, changed = iban_events(finance_rt)
    assert first[1].old_iban_masked == "" and first[1].new_iban_last4 == "7034"
    school_id, msg = changed
    assert school_id == SCHOOL
    assert (msg.school_id, msg.account_id) == (SCHOOL, STAFF.account_id)
    assert (msg.old_iban_masked, msg.new_iban_masked) == ("BE** **** **** 7034", "BE** **** **** 6769")
    assert (msg.old_iban_last4, msg.new_iban_last4) == ("7034", "6769")
    assert msg.school_name == "École Saint-Joseph"
    assert msg.changed_at == "2026-03-16T09:40:00+00:00"
    # No full IBAN travels in the event.
    assert b"0961234" not in msg.SerializeToString() and b"53900754" not in msg.SerializeToString()


def test_another_schools_iban_is_its_own(world, finance_rt):
    """The password typed again counts for the caller's school only: another school's first IBAN is a
    change of theirs, refused without it, and ours stays."""
    assert refused(world.finance, OTHER_SCHOOL_STAFF, settings(iban=NEW_IBAN)) == "reauthentication_required"
    assert world.finance.settings.get_settings(STAFF).settings.iban == "BE68539007547034"


def test_over_grpc_the_refusal_is_permission_denied_reauthentication_required(stub, keys, finance_rt, world):
    plain = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
    request = settings(iban=NEW_IBAN)
    with pytest.raises(grpc.RpcError) as exc:
        stub.UpdateSettings(request, metadata=md(plain), timeout=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_code(exc.value) == "reauthentication_required"
    fresh = reauthenticated_token(keys, finance_rt, STAFF)
    assert stub.UpdateSettings(request, metadata=md(fresh), timeout=10).settings.iban == "BE71096123456769"
    stale = reauthenticated_token(keys, finance_rt, STAFF, ago_seconds=600)
    with pytest.raises(grpc.RpcError) as exc:
        stub.UpdateSettings(settings(), metadata=md(stale), timeout=10)
    assert error_code(exc.value) == "reauthentication_required"


# --- reminders, creditor identifier, enterprise number ----------------------------------------------


def test_new_settings_are_stored_and_returned(world):
    request = settings()
    request.settings.reminders.CopyFrom(
        pb.ReminderSettings(enabled=True, first_after_days=10, repeat_every_days=7, max_count=2)
    )
    request.settings.creditor_id = "be 69 zzz 050d000000008"
    request.settings.enterprise_number = "BE 0203.201.340"
    got = world.finance.settings.update_settings(STAFF, request).settings
    assert (got.reminders.enabled, got.reminders.first_after_days) == (True, 10)
    assert (got.reminders.repeat_every_days, got.reminders.max_count) == (7, 2)
    assert (got.creditor_id, got.enterprise_number) == ("BE69ZZZ050D000000008", "0203201340")
    assert world.finance.settings.get_settings(STAFF).settings == got


def test_settings_not_given_keep_what_is_stored_and_empty_clears(world):
    request = settings()
    request.settings.reminders.CopyFrom(
        pb.ReminderSettings(enabled=True, first_after_days=10, repeat_every_days=7, max_count=2)
    )
    request.settings.creditor_id = "BE69ZZZ050D000000008"
    request.settings.enterprise_number = "0203201340"
    world.finance.settings.update_settings(STAFF, request)
    # A caller that does not know the new fields (an older page) changes nothing of them.
    kept = world.finance.settings.update_settings(STAFF, settings(top_up_methods=["transfer"])).settings
    assert (kept.creditor_id, kept.enterprise_number, kept.reminders.max_count) == (
        "BE69ZZZ050D000000008",
        "0203201340",
        2,
    )
    # Reminders turned off with no numbers keep the numbers; "" clears an identifier.
    off = settings(creditor_id="", enterprise_number="")
    off.settings.reminders.CopyFrom(pb.ReminderSettings(enabled=False))
    got = world.finance.settings.update_settings(STAFF, off).settings
    assert (got.creditor_id, got.enterprise_number) == ("", "")
    assert (got.reminders.enabled, got.reminders.first_after_days, got.reminders.max_count) == (False, 10, 2)


def test_a_school_without_settings_reads_the_default_reminders(finance):
    got = finance.settings.get_settings(STAFF).settings
    assert got.iban == "" and not got.reminders.enabled
    assert (got.reminders.first_after_days, got.reminders.repeat_every_days, got.reminders.max_count) == (
        7,
        14,
        3,
    )


def test_bad_new_settings_name_each_wrong_field_and_save_nothing(world, finance_rt):
    request = settings(creditor_id="BE70ZZZ050D000000008", enterprise_number="0203.201.341")
    request.settings.reminders.CopyFrom(
        pb.ReminderSettings(enabled=True, first_after_days=0, repeat_every_days=400, max_count=11)
    )
    before = snapshot(finance_rt)
    with pytest.raises(InvalidRequest) as err:
        world.finance.settings.update_settings(STAFF, request)
    assert set(err.value.fields) == {
        "creditor_id",
        "enterprise_number",
        "reminders.first_after_days",
        "reminders.repeat_every_days",
        "reminders.max_count",
    }
    assert snapshot(finance_rt) == before


def test_a_bad_iban_is_a_bad_field_before_any_password_question(world):
    with pytest.raises(InvalidRequest) as err:
        world.finance.settings.update_settings(STAFF, settings(iban="BE68 5390 0754 7035"))
    assert "iban" in err.value.fields
