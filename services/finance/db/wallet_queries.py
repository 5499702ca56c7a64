"""Queries of wallets and wallet types."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.finance.db.tables import wallet_types, wallets


def lock_wallet(s: Session, school_id: str, wallet_id: str):
    """The wallet row with its type's ``name``, locked until commit (SELECT ... FOR UPDATE OF wallets;
    SQLite: the immediate transaction already excludes other writers). None when it is not a wallet
    of this school."""
    return s.execute(
        select(wallets, wallet_types.c.name)
        .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
        .where(wallets.c.id == wallet_id, wallets.c.school_id == school_id)
        .with_for_update(of=wallets)
    ).first()
