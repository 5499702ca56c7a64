"""Parents choose their mails over gRPC; the identity token says who they are."""

from __future__ import annotations

import grpc
import pytest

from cartable.notifications.v1 import notifications_pb2 as pb
from services.notifications.tests.conftest import add_parent, auth_metadata


def test_parent_sees_every_mail_on_and_their_language_until_they_choose(consumer, notifications_stub, keys):
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"})
    md = auth_metadata(keys, role="parent", account_id="acc-els", students={"stu-lucas": "2B"})
    p = notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=md).preferences
    assert (p.language, p.documents, p.invoices, p.payments, p.orders) == ("nl", True, True, True, True)
    assert p.low_balance_threshold_cents == 0 and p.email == "els@example.be"


def test_parent_updates_their_preferences_and_reads_them_back(consumer, notifications_stub, keys):
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"})
    md = auth_metadata(keys, role="parent", account_id="acc-els")
    wanted = pb.MailPreferences(
        language="en",
        documents=True,
        invoices=False,
        payments=True,
        orders=False,
        low_balance_threshold_cents=750,
    )
    back = notifications_stub.UpdateMailPreferences(
        pb.UpdateMailPreferencesRequest(preferences=wanted), metadata=md
    )
    assert back.preferences.language == "en" and not back.preferences.invoices
    p = notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=md).preferences
    assert (p.language, p.documents, p.invoices, p.payments, p.orders, p.low_balance_threshold_cents) == (
        "en",
        True,
        False,
        True,
        False,
        750,
    )
    # another parent's preferences are untouched
    other = auth_metadata(keys, role="parent", account_id="acc-other")
    assert notifications_stub.GetMailPreferences(
        pb.GetMailPreferencesRequest(), metadata=other
    ).preferences.invoices


def test_invalid_preferences_are_refused_with_the_field(notifications_stub, keys):
    md = auth_metadata(keys, role="parent", account_id="acc-els")
    bad = pb.MailPreferences(language="de", low_balance_threshold_cents=-5)
    with pytest.raises(grpc.RpcError) as err:
        notifications_stub.UpdateMailPreferences(
            pb.UpdateMailPreferencesRequest(preferences=bad), metadata=md
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = dict(err.value.trailing_metadata())["x-error-fields"]
    assert "language" in fields and "low_balance_threshold_cents" in fields


def test_preferences_are_a_parents_and_need_an_identity(notifications_stub, keys):
    with pytest.raises(grpc.RpcError) as staff:
        notifications_stub.GetMailPreferences(
            pb.GetMailPreferencesRequest(), metadata=auth_metadata(keys, role="staff")
        )
    assert staff.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as anonymous:
        notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_meeting_mails_are_on_by_default_and_a_parent_can_turn_them_off(consumer, notifications_stub, keys):
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"})
    md = auth_metadata(keys, role="parent", account_id="acc-els")
    p = notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=md).preferences
    assert p.HasField("meetings") and p.meetings
    off = pb.MailPreferences(
        language="nl", documents=True, invoices=True, payments=True, orders=True, meetings=False
    )
    back = notifications_stub.UpdateMailPreferences(
        pb.UpdateMailPreferencesRequest(preferences=off), metadata=md
    )
    assert back.preferences.HasField("meetings") and not back.preferences.meetings
    p = notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=md).preferences
    assert (p.documents, p.meetings) == (True, False)


def test_an_update_that_leaves_meetings_out_keeps_the_parents_choice(consumer, notifications_stub, keys):
    # A client written before the switch existed must not turn meeting mails off (or back on).
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"})
    md = auth_metadata(keys, role="parent", account_id="acc-els")
    without = pb.MailPreferences(language="en", documents=True, invoices=False, payments=True, orders=True)
    back = notifications_stub.UpdateMailPreferences(
        pb.UpdateMailPreferencesRequest(preferences=without), metadata=md
    )
    assert back.preferences.meetings and not back.preferences.invoices  # first choice: the default, on
    turned_off = pb.MailPreferences(
        language="en", documents=True, invoices=False, payments=True, orders=True, meetings=False
    )
    notifications_stub.UpdateMailPreferences(
        pb.UpdateMailPreferencesRequest(preferences=turned_off), metadata=md
    )
    back = notifications_stub.UpdateMailPreferences(
        pb.UpdateMailPreferencesRequest(preferences=without), metadata=md
    )
    assert not back.preferences.meetings and back.preferences.language == "en"


def test_parents_who_chose_before_the_meetings_switch_existed_get_meeting_mails(databases):
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text

    from kit import migrations
    from services.notifications.app import spec

    url = databases.url("notifications")
    migrations.upgrade(spec().migrations_dir, url, "760f7c740d87")  # the revision before the switch
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO mail_preferences (account_id, school_id, language, documents, invoices, payments,"
                " orders, low_balance_threshold_cents, updated_at)"
                " VALUES ('acc-old', 'school-1', 'fr', :f, :t, :t, :t, 0, :now)"
            ),
            {"t": True, "f": False, "now": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    migrations.upgrade(spec().migrations_dir, url)
    with engine.connect() as c:
        row = c.execute(
            text("SELECT documents, meetings FROM mail_preferences WHERE account_id = 'acc-old'")
        ).one()
    engine.dispose()
    assert (bool(row.documents), bool(row.meetings)) == (False, True)
