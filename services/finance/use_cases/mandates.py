"""SEPA e-mandates (issue #18): a parent signs one for their family, parents and staff list them, the
signing parent or staff revoke them.

Signing: the parent's IBAN is checked (``domain.sepa.check_debtor_iban``: schwifty, SEPA zone, the BIC
derived from the IBAN where the bank is known), the holder's name is 1-70 characters and ``accept``
must be true. The school must have a creditor identifier (its settings), else 409
``method_disabled``. The mandate covers the children the parent's token names (those who left the
school excepted). What the parent accepted is stored as evidence: the mandate text in their language
(naming the school and its creditor identifier, the reference, the masked IBAN and the holder), the
signature time, the request's address and user agent. ``finance.mandate.signed.v1`` carries all
documents needs for the PDF copy filed in the children's documents. Once per idempotency key.

Revoking (:func:`revoke_in`, shared with the bank's returns): the mandate is marked revoked with its
reason (parent | staff | bank_return); nothing more is collected on it: its items in batches whose
file was not fetched yet (not sent to the bank) are withdrawn, and for the students it covered that
no other active mandate covers, the automatic top-ups are turned off and the top-ups waiting for a
batch are withdrawn. Items of a batch already sent stay: the bank collects them or returns them
(MD01). ``finance.mandate.revoked.v1``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from cartable.finance.v1 import sepa_pb2 as spb
from kit import audit
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, events, sepa_views
from services.finance.db import direct_debit_queries as ddq
from services.finance.db import mandate_queries as mq
from services.finance.domain import sepa
from services.finance.use_cases import common

MAX_SIGNED_FROM = 100
MAX_USER_AGENT = 500


def school_creditor(s: Session, school_id: str) -> tuple[str, str]:
    """``(school name, creditor id)`` from the school's settings; 409 ``method_disabled`` when it has
    no creditor identifier (it cannot collect by direct debit)."""
    row = db.settings_row(s, school_id)
    if row is None or not row.creditor_id:
        raise Conflict("the school has no SEPA creditor identifier", code="method_disabled")
    return (row.school_name or row.beneficiary or "").strip(), row.creditor_id


def mandate_message(s: Session, row) -> spb.Mandate:
    return sepa_views.mandate(row, mq.students_of_mandates(s, [row.id])[row.id])


def revoke_in(rt: Runtime, s: Session, row, *, reason: str, by: str | None, at: datetime) -> None:
    """Revoke the (locked, active) mandate ``row`` in the caller's transaction (see the module)."""
    mq.revoke(s, row.id, at=at, reason=reason, by=by)
    withdrawn = ddq.withdraw_unsent_items(s, row.id)
    ddq.set_trigger_status(s, [i.trigger_id for i in withdrawn if i.trigger_id], "withdrawn", at)
    covered = mq.students_of_mandates(s, [row.id])[row.id]
    still = mq.active_mandates(s, row.school_id, covered)
    orphans = [sid for sid in covered if sid not in still]
    ddq.disable_auto_top_ups(s, row.school_id, orphans, at)
    ddq.withdraw_pending_triggers(s, row.school_id, student_ids=orphans, at=at)
    events.record(
        rt,
        s,
        row.school_id,
        events.mandate_revoked(
            mandate_id=row.id,
            reference=row.reference,
            parent_account_id=row.parent_account_id,
            student_ids=covered,
            revoked_at=sepa_views.rfc3339(at),
            reason=reason,
        ),
    )


class Mandates:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_mandates(self, who: Identity, req: spb.ListMandatesRequest) -> spb.ListMandatesResponse:
        """Parents: the mandates covering one of their children, or those they signed (no student).
        Staff: the school's, of one student when named (one finance does not know: not found)."""
        with self.rt.db.unit_of_work() as s:
            if req.student_id:
                who.require_owner(req.student_id)
                common.require_student_here(s, who, req.student_id)
                rows = mq.mandates_of(s, who.school_id, student_id=req.student_id)
            elif who.is_staff:
                rows = mq.mandates_of(s, who.school_id)
            else:
                rows = mq.mandates_of(s, who.school_id, parent_account_id=who.account_id)
            students = mq.students_of_mandates(s, [r.id for r in rows])
            return spb.ListMandatesResponse(items=[sepa_views.mandate(r, students[r.id]) for r in rows])

    def sign_mandate(self, who: Identity, req: spb.SignMandateRequest) -> spb.SignMandateResponse:
        """A parent signs an e-mandate (see the module); staff may not."""
        if who.is_staff:
            raise Forbidden("a mandate is signed by a parent")
        errors: dict[str, str] = {}
        account = None
        try:
            account = sepa.check_debtor_iban(req.iban)
        except ValueError as e:
            errors["iban"] = str(e)
        holder = " ".join((req.holder_name or "").split())
        if not 1 <= len(holder) <= sepa.MAX_HOLDER:
            errors["holder_name"] = f"1 to {sepa.MAX_HOLDER} characters"
        if not req.accept:
            errors["accept"] = "the mandate must be accepted"
        language = req.language or "fr"
        if language not in sepa.LANGUAGES:
            errors["language"] = " | ".join(sepa.LANGUAGES)
        students = sorted(sid for sid in who.students if who.may_change_for(sid))
        if not students and not errors:
            errors["students"] = "no child of yours at school for the mandate to cover"
        if errors or account is None:
            raise InvalidRequest("the mandate is not valid", fields=errors)

        def work(s: Session) -> spb.SignMandateResponse:
            school, creditor_id = school_creditor(s, who.school_id)
            at = common.now(self.rt)
            reference = sepa.mandate_reference(at)
            while mq.mandate_by_reference(s, reference) is not None:  # one in 10^15
                reference = sepa.mandate_reference(at)
            masked = sepa.mask_iban(account.iban)
            text = sepa.mandate_text(
                language,
                reference=reference,
                school=school,
                creditor_id=creditor_id,
                iban_masked=masked,
                holder=holder,
            )
            mandate_id = str(uuid.uuid4())
            signed_from = (req.signed_from or "").strip()[:MAX_SIGNED_FROM]
            mq.insert_mandate(
                s,
                students,
                id=mandate_id,
                school_id=who.school_id,
                reference=reference,
                parent_account_id=who.account_id,
                iban=account.iban,
                bic=account.bic,
                holder_name=holder,
                creditor_id=creditor_id,
                school_name=school,
                mandate_text=text,
                language=language,
                signed_at=at,
                signed_from=signed_from,
                user_agent=(req.user_agent or "").strip()[:MAX_USER_AGENT],
                status=mq.ACTIVE,
                revoked_reason="",
                first_collected=False,
            )
            events.record(
                self.rt,
                s,
                who.school_id,
                events.mandate_signed(
                    mandate_id=mandate_id,
                    reference=reference,
                    parent_account_id=who.account_id,
                    student_ids=students,
                    holder_name=holder,
                    iban_masked=masked,
                    bic=account.bic,
                    signed_at=sepa_views.rfc3339(at),
                    signed_from=signed_from,
                    school_name=school,
                    creditor_id=creditor_id,
                    mandate_text=text,
                    language=language,
                ),
            )
            row = mq.mandate_row(s, who.school_id, mandate_id)
            return spb.SignMandateResponse(mandate=mandate_message(s, row), created=True)

        return common.idempotent(
            self.rt, f"mandate:{who.account_id}", req.idempotency_key, req, spb.SignMandateResponse, work
        )

    def revoke_mandate(self, who: Identity, req: spb.RevokeMandateRequest) -> spb.RevokeMandateResponse:
        """The signing parent or the school's staff revoke a mandate (anyone else: not found); a
        mandate revoked already answers ``revoked_now`` false and changes nothing."""
        with self.rt.db.unit_of_work() as s:
            row = mq.mandate_row(s, who.school_id, req.mandate_id, lock=True) if req.mandate_id else None
            if row is None or (not who.is_staff and row.parent_account_id != who.account_id):
                raise NotFound("no such mandate")
            if row.status != mq.ACTIVE:
                return spb.RevokeMandateResponse(mandate=mandate_message(s, row), revoked_now=False)
            reason = "staff" if who.is_staff else "parent"
            revoke_in(self.rt, s, row, reason=reason, by=who.account_id, at=common.now(self.rt))
            if who.is_staff:
                audit.record(self.rt, s, who, "finance.mandate.revoked", "mandate", row.id, row.reference)
            row = mq.mandate_row(s, who.school_id, row.id)
            return spb.RevokeMandateResponse(mandate=mandate_message(s, row), revoked_now=True)
