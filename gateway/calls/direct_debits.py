"""The school's direct-debit collections (issue #18): finance's DirectDebitService, served by the
finance server beside FinanceService, on its channel. Staff build a batch of what families with an
active mandate owe, download it as a pain.008 file for their bank, follow what the bank collected and
returned; they see the school's mandates and may revoke one. The JSON API
(``gateway.api.direct_debits``) and the pages (``gateway.pages.direct_debits``) call these; finance
owns every rule (what is collectible, the dates, FRST/RCUR, the school's scope)."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import sepa_pb2
from gateway.clients import rpc, rpc_future

# Building a batch reads every open invoice and wallet of the school's mandated families in one
# transaction, and a file renders every item: more than the default deadline on a large school.
BATCH_TIMEOUT = 20.0
NAMES_TIMEOUT = 5.0


def _dd(method: str, request, timeout: float | None = None):
    """``DirectDebitService.method`` on the finance server's channel, with the caller's identity."""
    return rpc("direct_debits", method, request, timeout=timeout)


# -- batches ----------------------------------------------------------------------------------------


def create_batch(
    collection_date: str, invoices_due_by: str, key: str
) -> sepa_pb2.CreateDirectDebitBatchResponse:
    """A batch collected on ``collection_date`` (at least tomorrow: 400 on the field otherwise) of
    every open invoice due by ``invoices_due_by`` ("": the collection date) and every triggered
    automatic top-up of mandated families, once per ``key``. Nothing to collect: 409 batch_empty;
    no creditor id: 409 method_disabled."""
    req = sepa_pb2.CreateDirectDebitBatchRequest(
        collection_date=collection_date, invoices_due_by=invoices_due_by, idempotency_key=key
    )
    return _dd("CreateDirectDebitBatch", req, timeout=BATCH_TIMEOUT)


def list_batches(limit: int = 50, cursor: str = "") -> sepa_pb2.ListDirectDebitBatchesResponse:
    """The school's batches, newest first, a keyset page (finance checks limit and cursor)."""
    req = sepa_pb2.ListDirectDebitBatchesRequest(limit=limit, cursor=cursor)
    return _dd("ListDirectDebitBatches", req)


def get_batch(batch_id: str) -> sepa_pb2.DirectDebitBatch:
    """One of the school's batches with its items (another school's: NotFound)."""
    return _dd("GetDirectDebitBatch", sepa_pb2.GetDirectDebitBatchRequest(batch_id=batch_id[:36])).batch


def batch_file(batch_id: str) -> sepa_pb2.SepaFile:
    """The batch as pain.008.001.02 (its file name, bytes, content type)."""
    req = sepa_pb2.GetDirectDebitFileRequest(batch_id=batch_id[:36])
    return _dd("GetDirectDebitFile", req, timeout=BATCH_TIMEOUT)


# -- mandates ---------------------------------------------------------------------------------------


def list_mandates(student_id: str = "") -> list[sepa_pb2.Mandate]:
    """The school's mandates (revoked ones too), newest first; those covering ``student_id`` when set."""
    req = sepa_pb2.ListMandatesRequest(student_id=student_id[:36])
    return list(_dd("ListMandates", req).items)


def revoke_mandate(mandate_id: str) -> sepa_pb2.RevokeMandateResponse:
    """Nothing more is collected on it; its items in a batch not yet sent are withdrawn. Idempotent."""
    return _dd("RevokeMandate", sepa_pb2.RevokeMandateRequest(mandate_id=mandate_id[:36]))


# -- names for the pages ----------------------------------------------------------------------------


def people_names(
    student_ids: Iterable[str], parent_ids: Iterable[str] = ()
) -> tuple[dict[str, auth_pb2.Student], dict[str, str]]:
    """``({student id: Student}, {parent account id: name})`` of the school's students (active or
    left) and parents named, asked of auth at once. Names only decorate the pages: what auth does not
    answer in time is left out (the pages show the holder's name and the mandate's reference)."""
    ids = sorted({i for i in student_ids if i})
    if not ids:
        return {}, {}
    asks = [
        rpc_future(
            "auth", "ListStudents", auth_pb2.ListStudentsRequest(student_ids=ids), timeout=NAMES_TIMEOUT
        ),
        rpc_future(
            "auth",
            "ListStudents",
            auth_pb2.ListStudentsRequest(student_ids=ids, status="left", limit=200),
            timeout=NAMES_TIMEOUT,
        ),
    ]
    wanted_parents = {i for i in parent_ids if i}
    if wanted_parents:
        asks.append(
            rpc_future(
                "auth", "ListParents", auth_pb2.ListParentsRequest(student_ids=ids), timeout=NAMES_TIMEOUT
            )
        )
    students: dict[str, auth_pb2.Student] = {}
    parents: dict[str, str] = {}
    for i, fut in enumerate(asks):
        try:
            answer = fut.result()
        except grpc.RpcError:
            continue
        if i < 2:
            for s in answer.students:
                students.setdefault(s.id, s)
        else:
            for p in answer.parents:
                if p.id in wanted_parents:
                    parents[p.id] = p.display_name or f"{p.first_name} {p.last_name}".strip()
    return students, parents
