"""Shared by the online-payment tests (test_payments_online*.py): the use cases wired to the provider's
stand-in, the parent's action on its checkout page, and the rows and events those tests read."""

from __future__ import annotations

import dataclasses

import requests
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from services.finance.app import UseCases, use_cases
from services.finance.db import outbox, payments
from services.finance.providers.mollie import MollieClient
from services.finance.tests.conftest import MUM


def make_pay(finance_rt, provider, webhooks) -> UseCases:
    finance_rt.settings = dataclasses.replace(finance_rt.settings, public_base_url=webhooks.url)
    return use_cases(finance_rt, MollieClient(provider.url, "test_service_tests"))


def checkout(resp: pb.StartPaymentResponse, action: str) -> requests.Response:
    """What the parent does on the provider's page; the redirect back is not followed (it books nothing)."""
    return requests.post(resp.checkout_url, data={"action": action}, allow_redirects=False, timeout=10)


def provider_id(finance_rt, payment_id: str) -> str:
    with finance_rt.db.unit_of_work() as s:
        return s.execute(select(payments.c.provider_id).where(payments.c.id == payment_id)).scalar_one()


def received_events(finance_rt, name: str = "finance.payment.received.v1") -> list[ev.PaymentReceived]:
    out = []
    with finance_rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body).where(outbox.c.event_name == name).order_by(outbox.c.id)
        ).scalars():
            env = envelope_pb2.Envelope.FromString(body)
            msg = ev.PaymentReceived()
            env.payload.Unpack(msg)
            out.append(msg)
    return out


def top_up(
    pay, world, cents: int = 1000, key: str = "", who=MUM, student: str = "emma"
) -> pb.StartPaymentResponse:
    return pay.online_payments.start_top_up(
        who,
        pb.StartTopUpRequest(
            wallet_id=world.wallet(student).id, amount_cents=cents, method="online", idempotency_key=key
        ),
    )
