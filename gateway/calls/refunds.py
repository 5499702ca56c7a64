"""Refunds to a bank account (issue #18): finance's RefundService (served by the finance server beside
FinanceService, on its channel), and the students they are for (auth, leavers too). The JSON API
(``gateway.api.refunds``) and the pages (``gateway.pages.refunds``) call these; finance owns every rule
(the IBAN's check, never below zero, each refund in one batch, the school's scope)."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, sepa_pb2
from gateway.clients import rpc, rpc_future
from kit.errors import from_rpc_error

# Creating a refund or a batch writes the ledger, the refund(s), the outbox and (a batch) builds and
# checks its file in one transaction: more than a page's read.
WRITE_TIMEOUT = 15.0
SEARCH_LIMIT = 20
LOOKUP_TIMEOUT = 5.0


def _refunds(method: str, req, timeout: float | None = None):
    """``RefundService.method`` on the finance server's channel, with the caller's identity token."""
    return rpc("refunds", method, req, timeout=timeout)


def proposal(wallet_id: str) -> sepa_pb2.GetRefundProposalResponse:
    """The wallet's balance and an active mandate's IBAN and holder ("" when none)."""
    return _refunds("GetRefundProposal", sepa_pb2.GetRefundProposalRequest(wallet_id=wallet_id))


def create_refund(
    wallet_id: str,
    iban: str,
    holder_name: str,
    amount_cents: int | None,
    *,
    reason: str = "",
    key: str = "",
) -> sepa_pb2.CreateRefundResponse:
    """Refund the wallet (``amount_cents`` None: its whole balance) to the IBAN, once per ``key``: 409
    insufficient_balance when it does not hold it, 400 with fields for a bad IBAN, holder or amount."""
    req = sepa_pb2.CreateRefundRequest(
        wallet_id=wallet_id, iban=iban, holder_name=holder_name, reason=reason, idempotency_key=key
    )
    if amount_cents is not None:
        req.amount_cents = amount_cents
    return _refunds("CreateRefund", req, timeout=WRITE_TIMEOUT)


def list_refunds(
    *, unbatched: bool = False, student_id: str = "", limit: int = 50, cursor: str = ""
) -> sepa_pb2.ListRefundsResponse:
    req = sepa_pb2.ListRefundsRequest(unbatched=unbatched, student_id=student_id, limit=limit, cursor=cursor)
    return _refunds("ListRefunds", req)


def create_batch(execution_date: str = "", key: str = "") -> sepa_pb2.CreateRefundBatchResponse:
    """Every refund not batched yet in one credit-transfer batch, once per ``key`` (409 batch_empty,
    method_disabled when the school's settings name no IBAN)."""
    req = sepa_pb2.CreateRefundBatchRequest(execution_date=execution_date, idempotency_key=key)
    return _refunds("CreateRefundBatch", req, timeout=WRITE_TIMEOUT)


def list_batches(limit: int = 50, cursor: str = "") -> sepa_pb2.ListRefundBatchesResponse:
    return _refunds("ListRefundBatches", sepa_pb2.ListRefundBatchesRequest(limit=limit, cursor=cursor))


def batch_file(batch_id: str) -> sepa_pb2.SepaFile:
    """The batch's pain.001.001.03 file, as finance built it."""
    return _refunds("GetRefundBatchFile", sepa_pb2.GetRefundBatchFileRequest(batch_id=batch_id[:36]))


# -- the students refunds are for (leavers first) -------------------------------------------------------


def _gather(futures: list) -> list[auth_pb2.Student]:
    found: dict[str, auth_pb2.Student] = {}
    try:
        for fut in futures:
            for s in fut.result().students:
                found.setdefault(s.id, s)
    except grpc.RpcError as exc:
        for fut in futures:
            fut.cancel()
        raise from_rpc_error(exc) from None
    return list(found.values())


def search_students(text: str, limit: int = SEARCH_LIMIT) -> list[auth_pb2.Student]:
    """The school's students named ``text`` (any part of a name) or in the class ``text``: those who
    left first (whose balance a refund is most often for), then the others; auth asked all at once."""
    text = " ".join((text or "").split())[:100]
    if not text:
        return []
    asks = [
        auth_pb2.ListStudentsRequest(q=text, status=status, limit=limit) for status in ("left", "active")
    ] + [
        auth_pb2.ListStudentsRequest(class_name=c, status=status, limit=limit)
        for c in dict.fromkeys([text, text.upper()])
        for status in ("left", "active")
    ]
    found = _gather([rpc_future("auth", "ListStudents", r, timeout=LOOKUP_TIMEOUT) for r in asks])
    return sorted(found, key=lambda s: s.status != "left")[: limit * 2]


def students_by_ids(student_ids: Iterable[str]) -> dict[str, auth_pb2.Student]:
    """The school's students of those ids, whether they left or not (auth filters by status: both
    asked at once)."""
    ids = sorted({i for i in student_ids if i})
    if not ids:
        return {}
    asks = [auth_pb2.ListStudentsRequest(student_ids=ids, status=status) for status in ("active", "left")]
    return {
        s.id: s
        for s in _gather([rpc_future("auth", "ListStudents", r, timeout=LOOKUP_TIMEOUT) for r in asks])
    }


def student_wallets(student_id: str) -> list[finance_pb2.Wallet]:
    """The student's wallets and balances (finance: another school's student is not found)."""
    fut = rpc_future(
        "finance",
        "ListWallets",
        finance_pb2.ListWalletsRequest(student_id=student_id),
        timeout=LOOKUP_TIMEOUT,
    )
    try:
        return list(fut.result().wallets)
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None
