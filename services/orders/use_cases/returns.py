"""Book returns: books given back earn credit, taken off the rentals of the student's next order."""

from __future__ import annotations

from cartable.orders.v1 import orders_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.orders import db
from services.orders.domain.pricing import MAX_PRICE_CENTS
from services.orders.use_cases.common import require_student_here


class Returns:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def record_book_return(
        self, who: Identity, student_id: str, credit_cents: int, note: str
    ) -> pb.RecordBookReturnResponse:
        """Books given back earn credit; answers the entry and the student's credit now. A student of
        another school (as far as this service knows, see ``require_student_here``) is not_found."""
        who.require_staff()
        if credit_cents <= 0 or credit_cents > MAX_PRICE_CENTS:
            raise InvalidRequest(
                "credit_cents must be positive", fields={"credit_cents": f"1 to {MAX_PRICE_CENTS}"}
            )
        with self.rt.db.unit_of_work() as s:
            require_student_here(s, who, student_id)
            db.ensure_credit_account(s, who.school_id, student_id)
            entry_id = db.add_credit(
                s, who.school_id, student_id, credit_cents, (note or "").strip(), self.rt.clock()
            )
            balance = db.credit_balance(s, who.school_id, student_id)
            audit.record(
                self.rt,
                s,
                who,
                "orders.book_return.recorded",
                "student",
                student_id,
                f"credit {format_eur(credit_cents)}",
            )
        return pb.RecordBookReturnResponse(id=entry_id, credit_balance_cents=balance)
