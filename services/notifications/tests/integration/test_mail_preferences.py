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
    wanted = pb.MailPreferences(language="en", documents=True, invoices=False, payments=True, orders=False,
                                low_balance_threshold_cents=750)
    back = notifications_stub.UpdateMailPreferences(pb.UpdateMailPreferencesRequest(preferences=wanted), metadata=md)
    assert back.preferences.language == "en" and not back.preferences.invoices
    p = notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=md).preferences
    assert (p.language, p.documents, p.invoices, p.payments, p.orders, p.low_balance_threshold_cents) == (
        "en", True, False, True, False, 750
    )
    # another parent's preferences are untouched
    other = auth_metadata(keys, role="parent", account_id="acc-other")
    assert notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=other).preferences.invoices


def test_invalid_preferences_are_refused_with_the_field(notifications_stub, keys):
    md = auth_metadata(keys, role="parent", account_id="acc-els")
    bad = pb.MailPreferences(language="de", low_balance_threshold_cents=-5)
    with pytest.raises(grpc.RpcError) as err:
        notifications_stub.UpdateMailPreferences(pb.UpdateMailPreferencesRequest(preferences=bad), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = dict(err.value.trailing_metadata())["x-error-fields"]
    assert "language" in fields and "low_balance_threshold_cents" in fields


def test_preferences_are_a_parents_and_need_an_identity(notifications_stub, keys):
    with pytest.raises(grpc.RpcError) as staff:
        notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest(), metadata=auth_metadata(keys, role="staff"))
    assert staff.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as anonymous:
        notifications_stub.GetMailPreferences(pb.GetMailPreferencesRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
