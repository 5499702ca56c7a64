"""Use cases of the finance service, one unit of work each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kit.identity import Identity
from kit.service import Runtime
from services.finance.db import wallet_types, wallets


@dataclass(frozen=True)
class WalletView:
    id: str
    student_id: str
    name: str
    balance_cents: int
    structured_communication: str


def format_ogm(digits: str) -> str:
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


class FinanceService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_wallets(self, who: Identity, student_id: str) -> list[WalletView]:
        """The student's wallets, one per wallet type, with their balances."""
        who.require_student(student_id)
        with self.rt.db.unit_of_work() as s:
            rows = s.execute(
                select(wallets, wallet_types.c.name)
                .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
                .where(wallets.c.student_id == student_id, wallets.c.school_id == who.school_id)
                .order_by(wallet_types.c.name)
            ).all()
        return [
            WalletView(r.id, r.student_id, r.name, r.balance_cents, format_ogm(r.structured_communication))
            for r in rows
        ]
