"""The provider's webhook is public and carries only an id: an id that is not in our payments table is
answered as unknown without any call to the provider (a provider fake counts them), through the use
case and through the gRPC servicer. What a lost webhook would have said is the sync's to recover."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
import requests
from sqlalchemy import select

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import finance_pb2_grpc
from kit.service import start_grpc
from services.finance.app import use_cases
from services.finance.db import payments
from services.finance.providers.mollie import MollieClient
from services.finance.tests.conftest import MUM, CountingProvider


@pytest.fixture
def counted(finance_rt, provider, webhooks, world):
    """The use cases with the stand-in behind a provider that counts calls; (use cases, counter)."""
    finance_rt.settings = dataclasses.replace(finance_rt.settings, public_base_url=webhooks.url)
    counter = CountingProvider(MollieClient(provider.url, "test_webhook_ids"))
    return use_cases(finance_rt, counter), counter


def _top_up(uc, world, cents: int) -> pb.StartPaymentResponse:
    return uc.online_payments.start_top_up(
        MUM, pb.StartTopUpRequest(wallet_id=world.wallet("emma").id, amount_cents=cents, method="online")
    )


@pytest.mark.parametrize("pid", ["tr_notours12345", "tr_" + "x" * 97, "tr_WQ2ajP3Kxy"])
def test_an_id_not_in_our_payments_is_unknown_without_asking_the_provider(counted, pid):
    uc, counter = counted
    got = uc.webhooks.handle_webhook(pid)
    assert (got.known, got.status, got.booked) == (False, "", False)
    assert counter.calls == []


def test_a_real_provider_payment_that_is_not_ours_is_not_fetched(counted, provider, world):
    """Even a paid payment the provider knows (made with another key, or by hand) whose metadata names
    one of our open payments: its id is not in our table, so nothing is fetched, adopted or booked."""
    uc, counter = counted
    ours = _top_up(uc, world, 700).payment.id
    counter.calls.clear()
    other = MollieClient(provider.url, "test_someone_else").create_payment(
        amount_cents=700,
        description="not ours",
        redirect_url="https://example.invalid/back",
        webhook_url="https://example.invalid/hook",
        metadata={"payment_id": ours},
        idempotency_key="elsewhere-1",
    )
    requests.post(other.checkout_url, data={"action": "paid"}, allow_redirects=False, timeout=10)
    assert not uc.webhooks.handle_webhook(other.id).known
    assert counter.calls == []
    assert world.balance("emma") == 0
    assert uc.online_payments.get_payment(MUM, ours).payment.status == "open"


def test_our_own_ids_are_still_fetched_once_per_webhook(counted, world):
    uc, counter = counted
    started = _top_up(uc, world, 1200)
    requests.post(started.checkout_url, data={"action": "paid"}, allow_redirects=False, timeout=10)
    counter.calls.clear()
    with uc.wallets.rt.db.unit_of_work() as s:
        provider_id = s.execute(
            select(payments.c.provider_id).where(payments.c.id == started.payment.id)
        ).scalar_one()
    assert uc.webhooks.handle_webhook(provider_id).booked
    assert counter.calls == [("get_payment", provider_id)]
    assert world.balance("emma") == 1200


def test_the_grpc_webhook_answers_unknown_ids_without_the_provider(finance_rt):
    """Through the servicer (a public method): the provider the runtime brings is never called."""
    counter = CountingProvider()  # any call fails the test
    finance_rt.extras["payment_provider"] = counter
    server = start_grpc(finance_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        stub = finance_pb2_grpc.FinanceServiceStub(channel)
        for pid in ("tr_unknown1", "tr_unknown2", "tr_unknown3"):
            got = stub.HandlePaymentWebhook(
                pb.HandlePaymentWebhookRequest(provider_payment_id=pid), timeout=10
            )
            assert not got.known
    finally:
        channel.close()
        server.stop(0)
    assert counter.calls == []
