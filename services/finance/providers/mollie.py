"""The one adapter to the payment provider: Mollie's payments API (Bancontact).

Create with an Idempotency-Key; the webhook carries only the id; the status is always fetched from the
provider (the redirect back proves nothing). The same webhook reports refunds and chargebacks: the
payment's ``amountRefunded`` / ``amountChargedBack`` say there are some, and
``GET /v2/payments/{id}/refunds`` / ``/chargebacks`` list them. Pointing at the real Mollie is a matter of settings
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

# A refund in these statuses will not (or did not) send money back: nothing to book for it.
REFUND_VOID_STATUSES = frozenset({"failed", "canceled"})
REFUND_STATUSES = frozenset({"queued", "pending", "processing", "refunded"}) | REFUND_VOID_STATUSES
# Mollie's list pages hold at most 250 items; a payment with more refunds than this is not plausible.
LIST_LIMIT = 250
MAX_PAGES = 20


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: str  # open | pending | authorized | paid | canceled | expired | failed
    amount_cents: int
    checkout_url: str = ""
    metadata: dict = field(default_factory=dict)
    # Mollie v2 ``amountRefunded`` / ``amountChargedBack``: money that went back to the payer.
    amount_refunded_cents: int = 0
    amount_charged_back_cents: int = 0


@dataclass(frozen=True)
class ProviderReversal:
    """One refund (``re_...``) or chargeback (``chb_...``) of a provider payment."""

    id: str
    kind: str  # refund | chargeback
    amount_cents: int
    status: str = ""  # refunds: queued | pending | processing | refunded | failed | canceled
    reversed_at: str = ""  # chargebacks: set when the chargeback itself was reversed

    @property
    def books_money(self) -> bool:
        """Whether money left (or is leaving) the school through it: a refund not failed or canceled,
        a chargeback not reversed."""
        if self.kind == "refund":
            return self.status not in REFUND_VOID_STATUSES
        return not self.reversed_at


def cents_to_value(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _amount_cents(amount: object, what: str) -> int:
    """Cents of a Mollie ``{currency, value}`` amount (None or missing: 0); EUR only."""
    if amount is None:
        return 0
    if not isinstance(amount, dict):
        raise ValueError(f"the provider answered a malformed {what}")
    if amount.get("currency", "EUR") != "EUR":
        raise ValueError(f"the provider answered a non-EUR {what}")
    cents = value_to_cents(str(amount.get("value", "0")))
    if cents < 0:
        raise ValueError(f"the provider answered a negative {what}")
    return cents


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
            amount_refunded_cents=_amount_cents(body.get("amountRefunded"), "amountRefunded"),
            amount_charged_back_cents=_amount_cents(body.get("amountChargedBack"), "amountChargedBack"),
        )

    @staticmethod
    def _reversal(kind: str, body: dict) -> ProviderReversal:
        rid = str(body.get("id", ""))
        prefix = "re_" if kind == "refund" else "chb_"
        if not rid.startswith(prefix) or len(rid) > 100 or not rid[len(prefix) :].isalnum():
            raise ValueError(f"the provider answered a {kind} with a malformed id {rid[:100]!r}")
        status = str(body.get("status") or "") if kind == "refund" else ""
        if kind == "refund" and status not in REFUND_STATUSES:
            raise ValueError(f"the provider answered a refund with an unknown status {status[:40]!r}")
        amount = _amount_cents(body.get("amount"), f"{kind} amount")
        if amount <= 0:
            raise ValueError(f"the provider answered a {kind} of {amount} cents")
        return ProviderReversal(
            id=rid,
            kind=kind,
            amount_cents=amount,
            status=status,
            reversed_at=str(body.get("reversedAt") or "") if kind == "chargeback" else "",
        )

    def _list(self, payment_id: str, kind: str) -> list[ProviderReversal]:
        """Every item of ``GET /v2/payments/{id}/refunds`` (or ``/chargebacks``), page after page."""
        if not payment_id.startswith("tr_") or not payment_id[3:].isalnum():
            raise LookupError(payment_id)
        plural = f"{kind}s"
        path = f"/v2/payments/{payment_id}/{plural}?limit={LIST_LIMIT}"
        out: list[ProviderReversal] = []
        for _page in range(MAX_PAGES):
            body = self._call("GET", path, headers=self._headers())
            items = (body.get("_embedded") or {}).get(plural) or []
            out.extend(self._reversal(kind, item) for item in items)
            nxt = ((body.get("_links") or {}).get("next") or {}).get("href")
            if not nxt:
                return out
            # Follow the provider's own link, but only on the API we talk to.
            if not nxt.startswith(self.base_url + "/"):
                raise ValueError("the provider's next link leaves its API")
            path = nxt[len(self.base_url) :]
        raise ValueError(f"more than {MAX_PAGES} pages of {plural}")

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

    def list_refunds(self, payment_id: str) -> list[ProviderReversal]:
        return self._list(payment_id, "refund")

    def list_chargebacks(self, payment_id: str) -> list[ProviderReversal]:
        return self._list(payment_id, "chargeback")
