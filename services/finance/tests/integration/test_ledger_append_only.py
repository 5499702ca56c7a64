"""The ledger is append-only in the database itself (SQLite and PostgreSQL triggers), whatever the code
does: no posting changes or goes, no transaction goes, and of a transaction only its label may change
(an erased family's names are replaced in it, issue #21)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from services.finance import db

REFUSED = (DBAPIError,)


@pytest.fixture
def booked(world, finance_rt):
    world.add_student("emma")
    world.top_up("emma", 2500)
    with finance_rt.db.unit_of_work() as s:
        tx = s.execute(select(db.ledger_transactions).limit(1)).one()
        posting = s.execute(
            select(db.ledger_postings).where(db.ledger_postings.c.transaction_id == tx.id)
        ).first()
    return finance_rt, tx, posting


def _refused(rt, statement) -> None:
    with pytest.raises(REFUSED, match="append-only"), rt.db.unit_of_work() as s:
        s.execute(statement)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "refund"},
        {"student_id": "someone-else"},
        {"school_id": "another-school"},
        {"method": "not-a-method"},
        {"id": "00000000-0000-4000-8000-000000000000"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_transaction_keeps_everything_but_its_label(booked, change):
    rt, tx, _posting = booked
    _refused(rt, update(db.ledger_transactions).where(db.ledger_transactions.c.id == tx.id).values(**change))


def test_postings_never_change_and_nothing_is_deleted(booked):
    rt, tx, posting = booked
    lp = db.ledger_postings
    _refused(rt, update(lp).where(lp.c.id == posting.id).values(amount_cents=posting.amount_cents + 1))
    _refused(rt, update(lp).where(lp.c.id == posting.id).values(account="cash"))
    _refused(rt, delete(lp).where(lp.c.id == posting.id))
    _refused(rt, delete(db.ledger_transactions).where(db.ledger_transactions.c.id == tx.id))
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.sum(lp.c.amount_cents))).scalar() == 0


def test_a_label_may_be_rewritten(booked):
    rt, tx, _posting = booked
    lt = db.ledger_transactions
    with rt.db.unit_of_work() as s:
        s.execute(update(lt).where(lt.c.id == tx.id).values(label="Rechargement par virement"))
    with rt.db.unit_of_work() as s:
        assert s.execute(select(lt.c.label).where(lt.c.id == tx.id)).scalar() == "Rechargement par virement"
