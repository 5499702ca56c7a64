"""Periodic statements (décomptes périodiques, issue #19): finance computes a student's statement
(PeriodicStatementService, beside FinanceService on its server) and sends them; documents renders the
PDF (StatementDocumentsService, beside DocumentsService on its server: the same renderer files the
copies sent, so a preview is what parents get) and lists those filed. The PDF is in the parents'
language: auth's contact book of the student's parents (the first who has one), French by default.
The JSON API (``gateway.api.statements``) and the page (``gateway.pages.statements``) call these."""

from __future__ import annotations

from cartable.documents.v1 import statements_pb2 as dpb
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from gateway.calls.account import list_parents
from gateway.clients import rpc

LANGUAGES = ("fr", "nl", "en")
# Sending computes every statement of the school in one transaction; documents renders one PDF.
SEND_TIMEOUT = 30.0
RENDER_TIMEOUT = 10.0


def _lang(code: str) -> str:
    code = (code or "").strip().lower()[:2]
    return code if code in LANGUAGES else ""


def languages(student_ids: list[str] | None = None) -> dict[str, str]:
    """Each student's statement language: that of their first parent (in auth's order) who has one.
    None: every student of the school (one call: auth answers the whole school unpaged)."""
    out: dict[str, str] = {}
    for parent in list_parents(student_ids=student_ids or []):
        lang = _lang(parent.language)
        if not lang:
            continue
        for sid in parent.student_ids:
            out.setdefault(sid, lang)
    return out


def statement(student_id: str, first: str, last: str) -> fpb.PeriodicStatement:
    """One student's statement (400 naming from / to for a bad period; 404 another school's)."""
    req = fpb.GetPeriodicStatementRequest(student_id=student_id[:36], from_date=first, to_date=last)
    return rpc("periodic_statements", "GetPeriodicStatement", req).statement


def statement_pdf(
    student_id: str, first: str, last: str, lang: str = ""
) -> dpb.RenderPeriodicStatementResponse:
    """The statement's PDF in ``lang``, else in the student's parents' language, else French."""
    st = statement(student_id, first, last)
    lang = _lang(lang) or languages([st.student_id]).get(st.student_id, "fr")
    req = dpb.RenderPeriodicStatementRequest(statement=st, language=lang)
    return rpc("statement_documents", "RenderPeriodicStatement", req, timeout=RENDER_TIMEOUT)


def send(
    class_name: str, whole_school: bool, first: str, last: str, key: str
) -> fpb.SendPeriodicStatementsResponse:
    """Every statement of the class (or the school) for the period, once per ``key``."""
    req = fpb.SendPeriodicStatementsRequest(
        class_name=class_name,
        whole_school=whole_school,
        from_date=first,
        to_date=last,
        languages=languages(),
        idempotency_key=key,
    )
    return rpc("periodic_statements", "SendPeriodicStatements", req, timeout=SEND_TIMEOUT)


def sent(limit: int = 50, cursor: str = "") -> dpb.ListStatementDocumentsResponse:
    """The statements filed in the school's students' documents, newest first."""
    req = dpb.ListStatementDocumentsRequest(limit=limit, cursor=cursor)
    return rpc("statement_documents", "ListStatementDocuments", req)
