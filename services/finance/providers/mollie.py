"""The one adapter to the payment provider: Mollie's payments API (Bancontact).

Create with an Idempotency-Key; the webhook carries only the id; the status is always fetched from the
provider (the redirect back proves nothing). Pointing at the real Mollie is a matter of settings
(``MOLLIE_API_URL=https://api.mollie.com``, ``MOLLIE_API_KEY=live_...``); the local run and the tests
use the stand-in in devtools, which speaks the same subset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from kit.errors import InvalidRequest, Unavailable

log = logging.getLogger("finance.mollie")

FINAL_STATUSES = frozenset({"paid", "failed", "canceled", "expired"})


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: str  # open | pending | authorized | paid | canceled | expired | failed
    amount_cents: int
    checkout_url: str = ""
    metadata: dict = field(default_factory=dict)


def cents_to_value(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def value_to_cents(value: str) -> int:
    d = Decimal(value)
    cents = d * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {value!r} has more than two decimals")
    return int(cents)


class MollieClient:
    def __init__(
        self, base_url: str, api_key: str, timeout: float = 10.0, session: requests.Session | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.http = session or requests.Session()

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        if not self.api_key:
            log.error("MOLLIE_API_KEY is not set: online payments cannot start")
            raise Unavailable("online payments are not configured")
        h = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        return h

    @staticmethod
    def _payment(body: dict) -> ProviderPayment:
        amount = body.get("amount") or {}
        if amount.get("currency", "EUR") != "EUR":
            raise ValueError("the provider answered a non-EUR amount")
        return ProviderPayment(
            id=body["id"],
            status=body["status"],
            amount_cents=value_to_cents(amount.get("value", "0")),
            checkout_url=((body.get("_links") or {}).get("checkout") or {}).get("href", ""),
            metadata=body.get("metadata") or {},
        )

    def _call(self, method: str, path: str, **kw) -> dict:
        try:
            resp = self.http.request(method, self.base_url + path, timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            log.warning("payment provider unreachable", extra={"error": type(exc).__name__})
            raise Unavailable("the payment provider does not answer; try again in a moment") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Unavailable("the payment provider is unavailable; try again in a moment")
        if resp.status_code == 404:
            raise LookupError(path)
        if resp.status_code >= 400:
            detail = ""
            try:
                detail = resp.json().get("detail", "")
            except ValueError:
                pass
            log.error("payment provider refused", extra={"status": resp.status_code, "detail": detail})
            raise InvalidRequest(f"the payment provider refused the payment: {detail or resp.status_code}")
        return resp.json()

    def create_payment(
        self,
        *,
        amount_cents: int,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict,
        idempotency_key: str,
    ) -> ProviderPayment:
        body = {
            "amount": {"currency": "EUR", "value": cents_to_value(amount_cents)},
            "description": description[:255],
            "redirectUrl": redirect_url,
            "webhookUrl": webhook_url,
            "method": "bancontact",
            "metadata": metadata,
        }
        return self._payment(
            self._call("POST", "/v2/payments", json=body, headers=self._headers(idempotency_key))
        )

    def get_payment(self, payment_id: str) -> ProviderPayment:
        if not payment_id.startswith("tr_") or not payment_id[3:].isalnum():
            raise LookupError(payment_id)
        return self._payment(self._call("GET", f"/v2/payments/{payment_id}", headers=self._headers()))
