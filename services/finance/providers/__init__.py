"""The payment provider as the use cases see it (:class:`PaymentProvider`); ``mollie.py`` is the one
adapter (``app.py`` builds it from the settings and hands it to the use cases; tests hand a fake)."""

from __future__ import annotations

from typing import Protocol

from services.finance.providers.mollie import ProviderPayment, ProviderReversal


class PaymentProvider(Protocol):
    """What the use cases need of the provider (``providers.mollie.MollieClient``, or a fake)."""

    def create_payment(
        self,
        *,
        amount_cents: int,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict,
        idempotency_key: str,
    ) -> ProviderPayment: ...

    def get_payment(self, payment_id: str) -> ProviderPayment: ...

    def list_refunds(self, payment_id: str) -> list[ProviderReversal]: ...

    def list_chargebacks(self, payment_id: str) -> list[ProviderReversal]: ...


__all__ = ["PaymentProvider", "ProviderPayment", "ProviderReversal"]
