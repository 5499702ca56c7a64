"""A family's SEPA direct debit (issue #18), the parents' side: their e-mandates (signed, listed,
revoked) and each wallet's automatic top-up, in finance's DirectDebitService (served by the finance
server beside FinanceService, on its channel). The JSON API (``gateway.api.mandates``) and the pages
(``gateway.pages.mandates``, ``gateway.pages.auto_top_up``) call these; finance owns every rule (the
IBAN's check, the creditor id, which students a mandate covers, the amounts' ranges)."""

from __future__ import annotations

import re

from flask import request

from cartable.finance.v1 import sepa_pb2
from gateway.calls import finance
from gateway.clients import rpc
from gateway.i18n import current_lang
from gateway.web import client_address
from kit.errors import InvalidRequest, NotFound

# Signing writes the mandate, its evidence and its event in one transaction: more than a page's read.
SIGN_TIMEOUT = 10.0
USER_AGENT_MAX = 500
HOLDER_MAX = 70  # the debtor's name in a SEPA file: 70 characters
IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}")


def _dd(method: str, req, timeout: float | None = None):
    """``DirectDebitService.method`` on the finance server's channel, with the caller's identity."""
    return rpc("direct_debits", method, req, timeout=timeout)


# -- mandates ---------------------------------------------------------------------------------------


def list_mandates(student_id: str) -> list[sepa_pb2.Mandate]:
    """The mandates covering ``student_id`` (one of the caller's children), newest first, revoked
    ones too."""
    return list(_dd("ListMandates", sepa_pb2.ListMandatesRequest(student_id=student_id)).items)


def family_mandate(mandate_id: str, student_id: str) -> sepa_pb2.Mandate:
    """One mandate covering ``student_id``; any other is not found."""
    found = next((m for m in list_mandates(student_id) if m.id == mandate_id), None)
    if found is None:
        raise NotFound("no such mandate")
    return found


def signature(iban: object, holder_name: object, accept: object) -> tuple[str, str]:
    """(iban, holder_name) of a signature as the API or a page received them, every bad field named
    at once (InvalidRequest): the IBAN's shape only (spaces dropped, capitals; its check digits and
    country are finance's rule), a holder of 1-70 characters, ``accept`` exactly true."""
    fields: dict[str, str] = {}
    iban_text = re.sub(r"\s+", "", iban).upper() if isinstance(iban, str) else ""
    if not iban_text:
        fields["iban"] = "required"
    elif not IBAN_SHAPE.fullmatch(iban_text):
        fields["iban"] = "not an IBAN"
    holder = " ".join(holder_name.split()) if isinstance(holder_name, str) else ""
    if not holder:
        fields["holder_name"] = "required"
    elif len(holder) > HOLDER_MAX:
        fields["holder_name"] = f"at most {HOLDER_MAX} characters"
    if accept is not True:
        fields["accept"] = "must be true: the parent accepts the mandate's text"
    if fields:
        raise InvalidRequest("the mandate cannot be signed as sent", fields=fields)
    return iban_text, holder


def sign_mandate(iban: str, holder_name: str, accept: bool, key: str) -> sepa_pb2.SignMandateResponse:
    """The caller signs an e-mandate for their family. Its evidence is this request's: the client's
    address (as sign-in throttling reads it), its user agent, and the language the page or the API
    answers in (the mandate's text and PDF are written in it). Once per ``key``; finance refuses a bad
    IBAN (400 on ``iban``), a holder (``holder_name``), ``accept`` not true, and a school without a
    creditor id (409 ``method_disabled``)."""
    req = sepa_pb2.SignMandateRequest(
        iban=iban,
        holder_name=holder_name,
        accept=accept,
        signed_from=client_address(),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        language=current_lang(),
        idempotency_key=key,
    )
    return _dd("SignMandate", req, timeout=SIGN_TIMEOUT)


def revoke_mandate(mandate_id: str) -> sepa_pb2.RevokeMandateResponse:
    """Nothing more is collected on it (the signing parent only; another's: NotFound). Idempotent."""
    return _dd("RevokeMandate", sepa_pb2.RevokeMandateRequest(mandate_id=mandate_id))


# -- automatic top-ups ------------------------------------------------------------------------------


def child_wallet(wallet_id: str, child_id: str):
    """One of the active child's wallets (a sibling's or anyone else's is not found)."""
    found = next((w for w in finance.list_wallets(child_id) if w.id == wallet_id), None)
    if found is None:
        raise NotFound("no such wallet")
    return found


def get_auto_top_up(wallet_id: str) -> sepa_pb2.AutoTopUp:
    return _dd("GetAutoTopUp", sepa_pb2.GetAutoTopUpRequest(wallet_id=wallet_id)).auto_top_up


def set_auto_top_up(
    wallet_id: str, child_id: str, enabled: bool, threshold_cents: int | None, amount_cents: int | None
) -> sepa_pb2.AutoTopUp:
    """Set the automatic top-up of one of the active child's wallets. Enabling needs an active
    mandate covering the child (409 ``no_mandate``); finance checks the amounts' ranges (400 on
    ``threshold_cents`` / ``amount_cents``). Disabling without amounts keeps the ones stored."""
    child_wallet(wallet_id, child_id)
    if threshold_cents is None or amount_cents is None:
        stored = get_auto_top_up(wallet_id)
        threshold_cents = stored.threshold_cents if threshold_cents is None else threshold_cents
        amount_cents = stored.amount_cents if amount_cents is None else amount_cents
    req = sepa_pb2.SetAutoTopUpRequest(
        wallet_id=wallet_id, enabled=enabled, threshold_cents=threshold_cents, amount_cents=amount_cents
    )
    return _dd("SetAutoTopUp", req).auto_top_up
