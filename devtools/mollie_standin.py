"""A local stand-in for Mollie's payments API (the Bancontact subset Cartable uses).

``python -m devtools.mollie_standin`` serves it on ``MOLLIE_STANDIN_ADDR`` (default 127.0.0.1:8010)
until SIGTERM or SIGINT, logging JSON lines to stderr. Payments live in memory and, for the process,
also in the JSON file ``MOLLIE_STANDIN_STATE`` (default ``$CARTABLE_VAR_DIR/mollie-standin.json``,
else ``var/mollie-standin.json``; an empty value keeps them in memory only), so restarting the local
run keeps them. Checkout links start with ``MOLLIE_STANDIN_PUBLIC_URL`` when set, else with the URL
the request came in on.

Speaks like Mollie (API keys ``test_...``, Mollie-style error bodies):

- ``POST /v2/payments``: create (``Idempotency-Key``: the same key with the same body replays the
  first answer; with another body, 422).
- ``GET /v2/payments/<id>``: the payment as it is now.
- ``GET /checkout/<id>``: the checkout page; ``POST /checkout/<id>`` with ``action`` = ``paid``,
  ``failed``, ``canceled`` or ``expired`` settles an open payment, calls the webhook (form-encoded
  ``id=tr_...``, nothing else; retried in the background with backoff while it fails) and redirects
  (303) to the payment's ``redirectUrl``.

- ``GET /v2/payments/<id>/refunds`` and ``GET /v2/payments/<id>/chargebacks``: Mollie's list format
  (``count``, ``_embedded.refunds[]`` / ``_embedded.chargebacks[]``, ``_links``). A paid payment
  shows ``amountRefunded`` and ``amountRemaining``; a charged-back one ``amountChargedBack``.

A failing webhook is retried after ``MOLLIE_STANDIN_RETRY_DELAYS`` (comma-separated seconds, default
1,5,15,60,300,900,3600,10800; empty: no retries), like Mollie does on a longer scale.

Test and ops helpers (no auth, local only): ``GET /_standin/payments`` lists every payment;
``POST /_standin/payments/<id>/webhook`` sends the webhook again and says how it went;
``POST /_standin/payments/<id>/webhook-retries`` JSON ``{"allow": 0}`` holds that payment's webhook
retries (a retry that comes due waits), ``{"allow": 2}`` lets two more go then holds again,
``{"allow": null}`` lets them all go (the default); ``GET`` on it answers ``allow`` and ``waiting`` (how
many retries are due and held). A test looks at what happens before a late webhook without racing it.
What the school or the bank does after a payment, each calling the webhook like a settlement does
(retried in the background while it fails), answering the refund or chargeback with ``webhook``
(delivered, outcome):

- ``POST /_standin/payments/<id>/refunds`` JSON ``{"amount": {"currency": "EUR", "value": "2.50"},
  "status": "pending"}`` (status optional: queued, pending, processing or refunded; default pending):
  refund a paid payment, at most what is not refunded or charged back yet;
- ``POST /_standin/payments/<id>/refunds/<re_id>`` JSON ``{"status": "refunded"}``: move a refund on
  (to processing, refunded, failed, or while queued/pending canceled);
- ``POST /_standin/payments/<id>/chargebacks`` JSON ``{"amount": {...}}``: the payer's bank takes a
  paid payment's money back;
- ``POST /_standin/payments/<id>/chargebacks/<chb_id>/reverse``: the chargeback is reversed
  (``reversedAt``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import logging
import os
import re
import secrets
import signal
import string
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, redirect, render_template_string, request

log = logging.getLogger("mollie_standin")

DEFAULT_ADDR = "127.0.0.1:8010"
DOCS = "https://docs.mollie.com/reference/v2/payments-api/create-payment"
ACTIONS = ("paid", "failed", "canceled", "expired")
FINAL = frozenset(ACTIONS)
EXPIRES_AFTER = timedelta(minutes=15)
WEBHOOK_TIMEOUT = 10.0
# Mollie retries a failing webhook for hours; the local run does the same on a shorter scale.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 3 * 3600)
_AMOUNT_VALUE = re.compile(r"(0|[1-9][0-9]{0,9})\.[0-9]{2}")
_ID_ALPHABET = string.ascii_letters + string.digits
STATUS_FR = {
    "open": "en attente",
    "pending": "en cours",
    "authorized": "autorisé",
    "paid": "payé",
    "failed": "échoué",
    "canceled": "annulé",
    "expired": "expiré",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized Request",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(dt: datetime) -> str:
    return dt.isoformat()  # 2026-11-28T14:00:00+00:00, as Mollie writes them


def new_payment_id() -> str:
    return "tr_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


# Refund statuses (Mollie v2): a refund starts queued or pending, then processing, then refunded; it
# may fail, and may be canceled while queued or pending.
REFUND_START = ("queued", "pending", "processing", "refunded")
REFUND_FINAL = frozenset({"refunded", "failed", "canceled"})
REFUND_VOID = frozenset({"failed", "canceled"})
REFUND_MOVES = {
    "queued": {"pending", "processing", "refunded", "failed", "canceled"},
    "pending": {"processing", "refunded", "failed", "canceled"},
    "processing": {"refunded", "failed"},
}


def _cents(value: str) -> int:
    euros, _, cents = value.partition(".")
    return int(euros) * 100 + int(cents)


def _value(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def refunded_cents(payment: dict) -> int:
    """What the payment's refunds send back (failed and canceled ones send nothing)."""
    return sum(
        _cents(r["amount"]["value"]) for r in payment.get("_refunds", []) if r["status"] not in REFUND_VOID
    )


def charged_back_cents(payment: dict) -> int:
    """What chargebacks took back (a reversed chargeback gave it back)."""
    return sum(
        _cents(c["amount"]["value"]) for c in payment.get("_chargebacks", []) if not c.get("reversedAt")
    )


def remaining_cents(payment: dict) -> int:
    return _cents(payment["amount"]["value"]) - refunded_cents(payment) - charged_back_cents(payment)


def validate_amount(body: object) -> int:
    """The cents of a refund or chargeback request's ``amount``, or :class:`Refused`."""
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object.")
    amount = body.get("amount")
    if not isinstance(amount, dict) or set(amount) != {"currency", "value"}:
        raise Refused(422, "The amount is required: {currency, value}.", "amount")
    if amount["currency"] != "EUR":
        raise Refused(422, "The currency must be EUR.", "amount.currency")
    value = amount["value"]
    if not isinstance(value, str) or not _AMOUNT_VALUE.fullmatch(value):
        raise Refused(
            422, 'The amount value must be a string with exactly two decimals, e.g. "10.00".', "amount.value"
        )
    cents = _cents(value)
    if cents < 1:
        raise Refused(422, "The amount is lower than the minimum of 0.01 EUR.", "amount.value")
    return cents


class Refused(Exception):
    """A request Mollie would refuse: becomes a Mollie-style error answer."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


def mollie_error(status: int, detail: str, field: str | None = None) -> Response:
    body: dict = {"status": status, "title": _TITLES.get(status, "Error"), "detail": detail}
    if field:
        body["field"] = field
    body["_links"] = {"documentation": {"href": DOCS, "type": "text/html"}}
    return Response(json.dumps(body), status=status, mimetype="application/hal+json")


def hal(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/hal+json")


# -- validation -----------------------------------------------------------------------------------


def _url(body: dict, name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Refused(422, f"The {name} is missing or not a string.", name)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refused(422, f"The {name} is not an absolute http(s) URL.", name)
    return value


def validate_create(body: object) -> dict:
    """The payment fields from a create request, or :class:`Refused` saying which field is wrong."""
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object.")
    amount = body.get("amount")
    if not isinstance(amount, dict):
        raise Refused(422, "The amount is required: {currency, value}.", "amount")
    if set(amount) != {"currency", "value"}:
        raise Refused(422, "The amount has exactly two fields: currency and value.", "amount")
    if amount["currency"] != "EUR":
        raise Refused(422, "The currency must be EUR.", "amount.currency")
    value = amount["value"]
    if not isinstance(value, str) or not _AMOUNT_VALUE.fullmatch(value):
        raise Refused(
            422, 'The amount value must be a string with exactly two decimals, e.g. "10.00".', "amount.value"
        )
    if Decimal(value) < Decimal("0.01"):
        raise Refused(422, "The amount is lower than the minimum of 0.01 EUR.", "amount.value")
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise Refused(422, "The description is required.", "description")
    if len(description) > 255:
        raise Refused(422, "The description is longer than 255 characters.", "description")
    redirect_url = _url(body, "redirectUrl", required=True)
    webhook_url = _url(body, "webhookUrl", required=False)
    method = body.get("method")
    if method is not None and method != "bancontact":
        raise Refused(422, "The stand-in only offers the method bancontact.", "method")
    metadata = body.get("metadata")
    if len(json.dumps(metadata)) > 1024:
        raise Refused(422, "The metadata is larger than 1024 bytes.", "metadata")
    return {
        "amount": {"currency": "EUR", "value": value},
        "description": description,
        "method": method,
        "metadata": metadata,
        "redirectUrl": redirect_url,
        "webhookUrl": webhook_url,
    }


def _authorize() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme != "Bearer" or not key:
        raise Refused(401, "Missing authentication, or failed to authenticate")
    if not key.startswith("test_") or len(key) <= len("test_") or not key.isprintable() or " " in key:
        raise Refused(
            401, "Missing authentication, or failed to authenticate: the stand-in takes test_ keys only"
        )
    return key


# -- state ----------------------------------------------------------------------------------------


class Store:
    """Payments and idempotency keys, in memory and (when given a path) in an atomically written file."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.RLock()
        self.payments: dict[str, dict] = {}
        self.idempotency: dict[str, dict] = {}
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.payments = dict(data["payments"])
            self.idempotency = dict(data.get("idempotency", {}))
        except (ValueError, KeyError, TypeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{_now():%Y%m%dT%H%M%S}")
            os.replace(self.path, aside)
            log.error(
                "state file unreadable, moved aside; starting empty",
                extra={"state": str(self.path), "moved_to": str(aside), "error": str(exc)},
            )
            return
        log.info("state loaded", extra={"state": str(self.path), "payments": len(self.payments)})

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            data = json.dumps({"payments": self.payments, "idempotency": self.idempotency}, indent=1)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

    def get(self, payment_id: str) -> dict | None:
        with self.lock:
            p = self.payments.get(payment_id)
            return copy.deepcopy(p) if p is not None else None


def _links(payment: dict, base: str) -> dict:
    links = {
        "self": {"href": f"{base}/v2/payments/{payment['id']}", "type": "application/hal+json"},
        "dashboard": {"href": f"{base}/_standin/payments", "type": "application/json"},
        "documentation": {"href": DOCS, "type": "text/html"},
    }
    if payment["status"] == "open":  # Mollie drops the checkout link once the payment is settled
        links["checkout"] = {"href": f"{base}/checkout/{payment['id']}", "type": "text/html"}
    return links


def represent(payment: dict, base: str) -> dict:
    out = {k: v for k, v in payment.items() if not k.startswith("_")}
    if out.get("webhookUrl") is None:
        out.pop("webhookUrl", None)
    if payment["status"] == "paid":
        out["amountRefunded"] = {"currency": "EUR", "value": _value(refunded_cents(payment))}
        out["amountRemaining"] = {"currency": "EUR", "value": _value(max(remaining_cents(payment), 0))}
    if payment.get("_chargebacks"):
        out["amountChargedBack"] = {"currency": "EUR", "value": _value(charged_back_cents(payment))}
    out["_links"] = _links(payment, base)
    if payment.get("_refunds"):
        out["_links"]["refunds"] = {
            "href": f"{base}/v2/payments/{payment['id']}/refunds",
            "type": "application/hal+json",
        }
    if payment.get("_chargebacks"):
        out["_links"]["chargebacks"] = {
            "href": f"{base}/v2/payments/{payment['id']}/chargebacks",
            "type": "application/hal+json",
        }
    return out


def represent_item(item: dict, payment_id: str, base: str) -> dict:
    """A refund or chargeback as Mollie shows it."""
    plural = f"{item['resource']}s"
    out = dict(item)
    out["paymentId"] = payment_id
    out["_links"] = {
        "self": {
            "href": f"{base}/v2/payments/{payment_id}/{plural}/{item['id']}",
            "type": "application/hal+json",
        },
        "payment": {"href": f"{base}/v2/payments/{payment_id}", "type": "application/hal+json"},
        "documentation": {"href": DOCS, "type": "text/html"},
    }
    return out


# -- webhook --------------------------------------------------------------------------------------


def deliver_webhook(payment_id: str, webhook_url: str, attempt: int = 1) -> tuple[bool, str]:
    """POST ``id=<payment_id>`` (form-encoded, nothing else) to the webhook; (delivered, what happened)."""
    try:
        resp = requests.post(
            webhook_url,
            data={"id": payment_id},
            timeout=WEBHOOK_TIMEOUT,
            allow_redirects=False,
            headers={"User-Agent": "Mollie/stand-in (Cartable)"},
        )
    except requests.RequestException as exc:
        outcome = f"{type(exc).__name__}: {exc}"
        ok = False
    else:
        outcome = f"HTTP {resp.status_code}"
        ok = 200 <= resp.status_code < 300
    level = logging.INFO if ok else logging.WARNING
    log.log(
        level,
        "webhook delivered" if ok else "webhook failed",
        extra={"payment_id": payment_id, "webhook_url": webhook_url, "attempt": attempt, "outcome": outcome},
    )
    return ok, outcome


def parse_delays(text: str) -> tuple[float, ...]:
    """``"1, 5,15"`` -> ``(1.0, 5.0, 15.0)``; ``""`` -> no retries. Raises ValueError on anything else."""
    delays = tuple(float(part) for part in text.split(",") if part.strip())
    if any(d < 0 for d in delays):
        raise ValueError(f"retry delays are seconds >= 0, got {text!r}")
    return delays


class RetryGates:
    """Per payment, how many more webhook retries may go when they come due (absent: no limit)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._allow: dict[str, int] = {}
        self._waiting: dict[str, int] = {}

    def set(self, payment_id: str, allow: int | None) -> None:
        with self._cond:
            if allow is None:
                self._allow.pop(payment_id, None)
            else:
                self._allow[payment_id] = allow
            self._cond.notify_all()

    def state(self, payment_id: str) -> dict:
        with self._cond:
            return {"allow": self._allow.get(payment_id), "waiting": self._waiting.get(payment_id, 0)}

    def pass_through(self, payment_id: str, stop: threading.Event) -> bool:
        """Wait until a retry of ``payment_id`` may go (and count it); False when the stand-in stops."""
        with self._cond:
            self._waiting[payment_id] = self._waiting.get(payment_id, 0) + 1
            try:
                while not stop.is_set():
                    allow = self._allow.get(payment_id)
                    if allow is None:
                        return True
                    if allow > 0:
                        self._allow[payment_id] = allow - 1
                        return True
                    self._cond.wait(0.2)  # also notices ``stop``
                return False
            finally:
                self._waiting[payment_id] -= 1


def _retry_webhook(
    payment_id: str,
    webhook_url: str,
    delays: Sequence[float],
    stop: threading.Event,
    gates: RetryGates | None = None,
) -> None:
    for n, delay in enumerate(delays, start=2):
        if stop.wait(delay):
            return
        if gates is not None and not gates.pass_through(payment_id, stop):
            return
        ok, _ = deliver_webhook(payment_id, webhook_url, attempt=n)
        if ok:
            return
    log.error(
        "webhook given up",
        extra={"payment_id": payment_id, "webhook_url": webhook_url, "attempts": len(delays) + 1},
    )


# -- pages ----------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Bancontact (simulation)</title>
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f3f5f8;color:#1b1f24;line-height:1.5}
 main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem}
 h1{font-size:1.6rem;margin:.2rem 0 1rem;color:#005498}
 .card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
 .note{font-size:.9rem;color:#4a5260}
 dl{margin:0 0 1rem}dt{font-weight:600;margin-top:.5rem}dd{margin:0;word-wrap:break-word}
 .amount{font-size:1.5rem;font-weight:700}
 button{display:block;width:100%;min-height:3rem;margin:.6rem 0;font-size:1.05rem;border-radius:.5rem;
  border:2px solid #005498;background:#fff;color:#005498;cursor:pointer}
 button[value=paid]{background:#005498;color:#fff}
 button:focus-visible,a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
 a{color:#005498}
</style>
</head>
<body>
<main>
<h1>Bancontact</h1>
<div class="card">
<p class="note">Simulation locale du prestataire de paiement : aucun argent réel ne circule.</p>
{% if message %}<p role="status"><strong>{{ message }}</strong></p>{% endif %}
{% if payment %}
<dl>
 <dt>Montant</dt><dd class="amount">{{ amount }}</dd>
 <dt>Description</dt><dd>{{ payment.description }}</dd>
 <dt>Référence</dt><dd>{{ payment.id }}</dd>
 <dt>Statut</dt><dd>{{ status_fr.get(payment.status, payment.status) }}</dd>
</dl>
{% if payment.status == "open" %}
<form method="post" action="{{ action_url }}">
 <fieldset style="border:0;padding:0;margin:0">
 <legend class="note">Choisissez l'issue du paiement :</legend>
 <button type="submit" name="action" value="paid">Payer {{ amount }}</button>
 <button type="submit" name="action" value="failed">Refuser (paiement échoué)</button>
 <button type="submit" name="action" value="canceled">Annuler le paiement</button>
 <button type="submit" name="action" value="expired">Laisser expirer</button>
 </fieldset>
</form>
{% elif payment.redirectUrl %}
<p><a href="{{ payment.redirectUrl }}">Retour au site</a></p>
{% endif %}
{% endif %}
</div>
</main>
</body>
</html>
"""


def _fr_amount(amount: dict) -> str:
    euros, _, cents = amount["value"].partition(".")
    grouped = f"{int(euros):,}".replace(",", "\u202f")
    return f"{grouped},{cents}\u00a0€"


def _page(status: int, title: str, payment: dict | None = None, message: str = "") -> Response:
    html = render_template_string(
        _PAGE,
        title=title,
        payment=payment,
        message=message,
        status_fr=STATUS_FR,
        amount=_fr_amount(payment["amount"]) if payment else "",
        action_url=f"/checkout/{payment['id']}" if payment else "",
    )
    return Response(html, status=status, mimetype="text/html")


# -- app ------------------------------------------------------------------------------------------


def create_app(
    state_file: Path | str | None = None,
    public_url: str | None = None,
    webhook_retry_delays: Sequence[float] | None = None,
) -> Flask:
    """The stand-in as a WSGI app. Without ``state_file`` payments live in memory only.

    ``public_url`` (default ``MOLLIE_STANDIN_PUBLIC_URL``, else the request's own URL) starts the links.
    ``webhook_retry_delays``: seconds to wait before each retry of a failing webhook (default
    ``MOLLIE_STANDIN_RETRY_DELAYS``, else :data:`DEFAULT_RETRY_DELAYS`).
    """
    app = Flask(__name__)
    store = Store(state_file)
    public = (
        public_url if public_url is not None else os.environ.get("MOLLIE_STANDIN_PUBLIC_URL", "")
    ).rstrip("/")
    if webhook_retry_delays is None:
        env_delays = os.environ.get("MOLLIE_STANDIN_RETRY_DELAYS")
        webhook_retry_delays = DEFAULT_RETRY_DELAYS if env_delays is None else parse_delays(env_delays)
    delays = tuple(webhook_retry_delays)
    stopping = threading.Event()
    gates = RetryGates()
    app.extensions["mollie_standin"] = {"store": store, "stopping": stopping, "gates": gates}

    def base() -> str:
        return public or request.host_url.rstrip("/")

    def notify(payment: dict, retry: bool) -> tuple[bool, str]:
        url = payment.get("webhookUrl")
        if not url:
            return True, "no webhookUrl"
        ok, outcome = deliver_webhook(payment["id"], url)
        if not ok and retry and delays:
            threading.Thread(
                target=_retry_webhook,
                args=(payment["id"], url, delays, stopping, gates),
                name=f"webhook-retry-{payment['id']}",
                daemon=True,
            ).start()
        return ok, outcome

    @app.errorhandler(Refused)
    def _refused(exc: Refused):
        return mollie_error(exc.status, exc.detail, exc.field)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _http_error(exc):
        if request.path.startswith(("/v2/", "/_standin/")):
            return mollie_error(exc.code, exc.description)
        return _page(
            exc.code,
            "Introuvable" if exc.code == 404 else "Méthode refusée",
            message="Cette page n'existe pas." if exc.code == 404 else "Méthode non permise.",
        )

    @app.post("/v2/payments")
    def create_payment():
        api_key = _authorize()
        raw = request.get_data(cache=True)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise Refused(400, "The request body is not valid JSON.") from None
        fields = validate_create(body)
        idem = request.headers.get("Idempotency-Key", "")
        scope = hashlib.sha256(f"{api_key}\n{idem}".encode()).hexdigest() if idem else ""
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with store.lock:
            if scope:
                seen = store.idempotency.get(scope)
                if seen is not None:
                    if seen["fingerprint"] != fingerprint:
                        raise Refused(422, "The Idempotency-Key was already used for a different request.")
                    log.info("idempotent replay", extra={"payment_id": seen["response"]["id"]})
                    return hal(seen["response"], seen["status"])
            now = _now()
            payment = {
                "resource": "payment",
                "id": new_payment_id(),
                "mode": "test",
                "createdAt": _iso(now),
                "status": "open",
                "isCancelable": False,
                "expiresAt": _iso(now + EXPIRES_AFTER),
                **fields,
                "profileId": "pfl_standin",
                "sequenceType": "oneoff",
                "details": None,
            }
            while payment["id"] in store.payments:
                payment["id"] = new_payment_id()
            store.payments[payment["id"]] = payment
            answer = represent(payment, base())
            if scope:
                store.idempotency[scope] = {"fingerprint": fingerprint, "status": 201, "response": answer}
            store.save()
        log.info("payment created", extra={"payment_id": payment["id"], "amount": fields["amount"]["value"]})
        return hal(answer, 201)

    @app.get("/v2/payments/<payment_id>")
    def get_payment(payment_id: str):
        _authorize()
        payment = store.get(payment_id)
        if payment is None:
            raise Refused(404, f"No payment exists with token {payment_id}.")
        return hal(represent(payment, base()))

    def _list_items(payment_id: str, plural: str):
        _authorize()
        payment = store.get(payment_id)
        if payment is None:
            raise Refused(404, f"No payment exists with token {payment_id}.")
        items = [represent_item(i, payment_id, base()) for i in payment.get(f"_{plural}", [])]
        items.reverse()  # newest first, as Mollie lists them
        href = f"{base()}/v2/payments/{payment_id}/{plural}"
        return hal(
            {
                "count": len(items),
                "_embedded": {plural: items},
                "_links": {
                    "documentation": {"href": DOCS, "type": "text/html"},
                    "self": {"href": href, "type": "application/hal+json"},
                    "previous": None,
                    "next": None,
                },
            }
        )

    @app.get("/v2/payments/<payment_id>/refunds")
    def list_refunds(payment_id: str):
        return _list_items(payment_id, "refunds")

    @app.get("/v2/payments/<payment_id>/chargebacks")
    def list_chargebacks(payment_id: str):
        return _list_items(payment_id, "chargebacks")

    def _json_body() -> object:
        try:
            return json.loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            raise Refused(400, "The request body is not valid JSON.") from None

    def _after_payment(payment_id: str, change, status: int = 200) -> Response:
        """Apply ``change(payment) -> item`` to a paid payment under the lock, save, call the webhook
        (retried while it fails) and answer the item with how the webhook went."""
        with store.lock:
            payment = store.payments.get(payment_id)
            if payment is None:
                raise Refused(404, f"No payment exists with token {payment_id}.")
            item = change(payment)
            store.save()
            settled = copy.deepcopy(payment)
            answer = represent_item(copy.deepcopy(item), payment_id, base())
        ok, outcome = notify(settled, retry=True)
        answer["webhook"] = {"delivered": ok, "outcome": outcome}
        return hal(answer, status)

    def _require_paid(payment: dict, cents: int, what: str) -> None:
        if payment["status"] != "paid":
            raise Refused(422, f"The payment is {payment['status']}: only a paid payment can be {what}.")
        left = remaining_cents(payment)
        if cents > left:
            raise Refused(
                422,
                f"The amount is higher than what remains on the payment ({_value(left)} EUR).",
                "amount.value",
            )

    @app.post("/_standin/payments/<payment_id>/refunds")
    def create_refund(payment_id: str):
        body = _json_body()
        cents = validate_amount(body)
        assert isinstance(body, dict)  # validate_amount refused anything else
        status = body.get("status", "pending")
        if status not in REFUND_START:
            raise Refused(422, f"A new refund's status is one of {', '.join(REFUND_START)}.", "status")
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 255:
            raise Refused(422, "The description is a string of at most 255 characters.", "description")

        def change(payment: dict) -> dict:
            _require_paid(payment, cents, "refunded")
            refund = {
                "resource": "refund",
                "id": new_id("re_"),
                "amount": {"currency": "EUR", "value": _value(cents)},
                "status": status,
                "description": description,
                "createdAt": _iso(_now()),
                "settlementAmount": {"currency": "EUR", "value": "-" + _value(cents)},
            }
            payment.setdefault("_refunds", []).append(refund)
            return refund

        answer = _after_payment(payment_id, change, 201)
        log.info(
            "refund created", extra={"payment_id": payment_id, "amount": _value(cents), "status": status}
        )
        return answer

    @app.post("/_standin/payments/<payment_id>/refunds/<refund_id>")
    def move_refund(payment_id: str, refund_id: str):
        body = _json_body()
        status = body.get("status") if isinstance(body, dict) else None

        def change(payment: dict) -> dict:
            refund = next((r for r in payment.get("_refunds", []) if r["id"] == refund_id), None)
            if refund is None:
                raise Refused(404, f"No refund exists with token {refund_id}.")
            allowed = REFUND_MOVES.get(refund["status"], set())
            if status not in allowed:
                raise Refused(
                    422,
                    f"A {refund['status']} refund can become: {', '.join(sorted(allowed)) or 'nothing'}.",
                    "status",
                )
            refund["status"] = status
            return refund

        answer = _after_payment(payment_id, change)
        log.info("refund moved", extra={"payment_id": payment_id, "refund_id": refund_id, "status": status})
        return answer

    @app.post("/_standin/payments/<payment_id>/chargebacks")
    def create_chargeback(payment_id: str):
        cents = validate_amount(_json_body())

        def change(payment: dict) -> dict:
            _require_paid(payment, cents, "charged back")
            chargeback = {
                "resource": "chargeback",
                "id": new_id("chb_"),
                "amount": {"currency": "EUR", "value": _value(cents)},
                "settlementAmount": {"currency": "EUR", "value": "-" + _value(cents)},
                "reason": {"code": "MD06", "description": "Refund request by end customer"},
                "createdAt": _iso(_now()),
                "reversedAt": None,
            }
            payment.setdefault("_chargebacks", []).append(chargeback)
            return chargeback

        answer = _after_payment(payment_id, change, 201)
        log.info("chargeback created", extra={"payment_id": payment_id, "amount": _value(cents)})
        return answer

    @app.post("/_standin/payments/<payment_id>/chargebacks/<chargeback_id>/reverse")
    def reverse_chargeback(payment_id: str, chargeback_id: str):
        def change(payment: dict) -> dict:
            chargeback = next((c for c in payment.get("_chargebacks", []) if c["id"] == chargeback_id), None)
            if chargeback is None:
                raise Refused(404, f"No chargeback exists with token {chargeback_id}.")
            if chargeback.get("reversedAt"):
                raise Refused(422, "This chargeback is already reversed.")
            chargeback["reversedAt"] = _iso(_now())
            return chargeback

        answer = _after_payment(payment_id, change)
        log.info("chargeback reversed", extra={"payment_id": payment_id, "chargeback_id": chargeback_id})
        return answer

    @app.get("/checkout/<payment_id>")
    def checkout_page(payment_id: str):
        payment = store.get(payment_id)
        if payment is None:
            return _page(404, "Paiement introuvable", message="Ce paiement n'existe pas.")
        if payment["status"] != "open":
            return _page(
                200,
                "Paiement terminé",
                payment,
                message=f"Ce paiement est déjà {STATUS_FR.get(payment['status'], payment['status'])}.",
            )
        return _page(200, "Paiement", payment)

    @app.post("/checkout/<payment_id>")
    def checkout_settle(payment_id: str):
        action = request.form.get("action", "")
        with store.lock:
            payment = store.payments.get(payment_id)
            if payment is None:
                return _page(404, "Paiement introuvable", message="Ce paiement n'existe pas.")
            if action not in ACTIONS:
                return _page(
                    400,
                    "Action inconnue",
                    copy.deepcopy(payment),
                    message="Choisissez paid, failed, canceled ou expired.",
                )
            if payment["status"] != "open":
                return _page(
                    409,
                    "Paiement terminé",
                    copy.deepcopy(payment),
                    message=f"Ce paiement est déjà {STATUS_FR.get(payment['status'], payment['status'])} : "
                    "il ne peut plus changer.",
                )
            now = _iso(_now())
            payment["status"] = action
            payment[f"{action}At"] = now
            if action == "paid":
                payment["details"] = {
                    "cardNumber": "6703********1234",
                    "cardFingerprint": "standin",
                    "consumerName": "T. Test",
                }
                payment["settlementAmount"] = dict(payment["amount"])
            store.save()
            settled = copy.deepcopy(payment)
        log.info("payment settled", extra={"payment_id": payment_id, "status": action})
        notify(settled, retry=True)
        return redirect(settled["redirectUrl"], code=303)

    @app.get("/_standin/payments")
    def list_payments():
        with store.lock:
            payments = [represent(copy.deepcopy(p), base()) for p in store.payments.values()]
        payments.sort(key=lambda p: p["createdAt"])
        return hal({"count": len(payments), "_embedded": {"payments": payments}})

    @app.post("/_standin/payments/<payment_id>/webhook")
    def resend_webhook(payment_id: str):
        payment = store.get(payment_id)
        if payment is None:
            raise Refused(404, f"No payment exists with token {payment_id}.")
        if not payment.get("webhookUrl"):
            raise Refused(422, "This payment has no webhookUrl.", "webhookUrl")
        ok, outcome = notify(payment, retry=False)
        return hal(
            {"id": payment_id, "webhookUrl": payment["webhookUrl"], "delivered": ok, "outcome": outcome},
            200 if ok else 502,
        )

    @app.get("/_standin/payments/<payment_id>/webhook-retries")
    @app.post("/_standin/payments/<payment_id>/webhook-retries")
    def webhook_retries(payment_id: str):
        if store.get(payment_id) is None:
            raise Refused(404, f"No payment exists with token {payment_id}.")
        if request.method == "POST":
            body = _json_body()
            allow = body.get("allow", "missing") if isinstance(body, dict) else "missing"
            if allow is not None and (isinstance(allow, bool) or not isinstance(allow, int) or allow < 0):
                raise Refused(
                    422, "allow is how many more retries may go (an integer >= 0), or null.", "allow"
                )
            gates.set(payment_id, allow)
            log.info("webhook retries", extra={"payment_id": payment_id, "allow": allow})
        return hal({"id": payment_id, **gates.state(payment_id)})

    return app


# -- process --------------------------------------------------------------------------------------


def _default_state_file() -> str:
    if "MOLLIE_STANDIN_STATE" in os.environ:
        return os.environ["MOLLIE_STANDIN_STATE"]
    return str(Path(os.environ.get("CARTABLE_VAR_DIR") or "var") / "mollie-standin.json")


def main(argv: list[str] | None = None) -> int:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class JsonRequestLog(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            log.info("request", extra={"method": self.command, "path": self.path, "status": str(code)})

    from kit.logs import configure_logging

    parser = argparse.ArgumentParser(
        prog="python -m devtools.mollie_standin", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--addr",
        default=os.environ.get("MOLLIE_STANDIN_ADDR") or DEFAULT_ADDR,
        help="host:port to listen on (MOLLIE_STANDIN_ADDR, default %(default)s)",
    )
    parser.add_argument(
        "--state",
        default=_default_state_file(),
        help="JSON state file, empty for memory only (MOLLIE_STANDIN_STATE)",
    )
    parser.add_argument(
        "--retry-delays",
        default=os.environ.get("MOLLIE_STANDIN_RETRY_DELAYS"),
        help=f"seconds before each webhook retry, comma-separated, empty for none "
        f"(MOLLIE_STANDIN_RETRY_DELAYS, default {','.join(f'{d:g}' for d in DEFAULT_RETRY_DELAYS)})",
    )
    args = parser.parse_args(argv)
    try:
        retry_delays = None if args.retry_delays is None else parse_delays(args.retry_delays)
    except ValueError:
        parser.error(
            f"--retry-delays / MOLLIE_STANDIN_RETRY_DELAYS must be seconds like 1,5,15, got {args.retry_delays!r}"
        )
    configure_logging("mollie-standin", os.environ.get("LOG_LEVEL", "INFO"))
    addr = args.addr
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--addr / MOLLIE_STANDIN_ADDR must be host:port, got {addr!r}")
    state = args.state
    app = create_app(state_file=state or None, webhook_retry_delays=retry_delays)
    try:
        server = make_server(host.strip("[]"), int(port), app, threaded=True, request_handler=JsonRequestLog)
    except OSError as exc:
        log.error("cannot listen", extra={"addr": addr, "error": str(exc)})
        return 1
    stop = threading.Event()

    def _on_signal(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    log.info(
        "listening",
        extra={
            "host": host,
            "port": server.server_port,
            "state": state or "(memory)",
            "public_url": os.environ.get("MOLLIE_STANDIN_PUBLIC_URL", "(request host)"),
        },
    )
    while not stop.wait(1.0):
        pass
    app.extensions["mollie_standin"]["stopping"].set()
    server.shutdown()
    thread.join(10)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
