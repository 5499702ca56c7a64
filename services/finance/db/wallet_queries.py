"""Queries of wallets and wallet types. A wallet row is read with its type's ``name`` (and, where the
answer shows it, its current structured communication's ``digits``)."""

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import String, and_, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.finance.db.school import issue_communication
from services.finance.db.sepa_tables import auto_top_ups
from services.finance.db.tables import structured_communications, students, wallet_types, wallets

CHUNK = 1000  # ids per IN (...) list


def chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_sets(s: Session, column, values: Iterable[str]) -> Iterator:
    """Conditions that together pick the rows whose ``column`` is among ``values`` (strings), in
    sorted order: on PostgreSQL one ``column = ANY(:array)`` for them all (one statement, one
    parameter, however many there are); elsewhere one ``IN (...)`` per ``CHUNK`` (SQLite's limit on
    parameters)."""
    items = sorted(values)
    if not items:
        return
    if s.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam("values", items, type_=ARRAY(String)))
        return
    for chunk in chunks(items):
        yield column.in_(chunk)


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


_LOCK_FOR_MOVEMENT = (
    select(
        wallets,
        wallet_types.c.name,
        students.c.status.label("student_status"),
        auto_top_ups.c.enabled.label("auto_enabled"),
        auto_top_ups.c.threshold_cents.label("auto_threshold_cents"),
        auto_top_ups.c.amount_cents.label("auto_amount_cents"),
    )
    .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
    .outerjoin(
        students, and_(students.c.id == wallets.c.student_id, students.c.school_id == wallets.c.school_id)
    )
    .outerjoin(auto_top_ups, auto_top_ups.c.wallet_id == wallets.c.id)
    .where(wallets.c.id == bindparam("wallet_id"), wallets.c.school_id == bindparam("school_id"))
    .with_for_update(of=wallets)
)


def lock_wallet_for_movement(s: Session, school_id: str, wallet_id: str):
    """:func:`lock_wallet`'s row (locked the same way), with what a movement of its money reads besides
    it, in the same statement: its student's ``student_status`` (None when finance does not know the
    student in this school) and its automatic top-up (``auto_enabled``, ``auto_threshold_cents``,
    ``auto_amount_cents``; None when it has none)."""
    return s.execute(_LOCK_FOR_MOVEMENT, {"wallet_id": wallet_id, "school_id": school_id}).first()


def find_wallet(s: Session, school_id: str, wallet_id: str):
    """The wallet row (not locked), None when it is not a wallet of this school."""
    return s.execute(
        select(wallets).where(wallets.c.id == wallet_id, wallets.c.school_id == school_id)
    ).first()


def _with_communication():
    sc = structured_communications
    return (
        select(wallets, wallet_types.c.name, sc.c.digits)
        .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
        .outerjoin(sc, and_(sc.c.wallet_id == wallets.c.id, sc.c.valid_until.is_(None)))
    )


def student_wallets(s: Session, school_id: str, student_id: str):
    """The student's wallets in the order the school created their types, each with ``name`` and
    its current communication's ``digits``."""
    return s.execute(
        _with_communication()
        .where(wallets.c.student_id == student_id, wallets.c.school_id == school_id)
        .order_by(wallet_types.c.position)
    ).all()


def wallet_with_communication(s: Session, school_id: str, wallet_id: str):
    """One wallet with ``name`` and its current communication's ``digits``; None when not this school's."""
    return s.execute(
        _with_communication().where(wallets.c.id == wallet_id, wallets.c.school_id == school_id)
    ).first()


def wallet_names(s: Session, school_id: str, student_id: str) -> dict[str, str]:
    """The student's wallets: id -> its type's name."""
    return dict(
        s.execute(
            select(wallets.c.id, wallet_types.c.name)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .where(wallets.c.student_id == student_id, wallets.c.school_id == school_id)
        ).all()
    )


def wallet_balance_and_name(s: Session, wallet_id: str):
    """``(balance_cents, name)`` of a wallet, None when there is none."""
    return s.execute(
        select(wallets.c.balance_cents, wallet_types.c.name)
        .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
        .where(wallets.c.id == wallet_id)
    ).first()


def wallet_owner_names(s: Session, wallet_id: str):
    """``(name, first_name, last_name)``: the wallet's type and its student's names."""
    return s.execute(
        select(wallet_types.c.name, students.c.first_name, students.c.last_name)
        .select_from(wallets)
        .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
        .join(students, students.c.id == wallets.c.student_id)
        .where(wallets.c.id == wallet_id)
    ).one()


def open_wallet(s: Session, school_id: str, student_id: str, type_id: str, level: str, now: datetime) -> None:
    """A new empty wallet of ``type_id`` for the student, with its own structured communication."""
    wallet_id = str(uuid.uuid4())
    s.execute(
        wallets.insert().values(
            id=wallet_id,
            school_id=school_id,
            student_id=student_id,
            wallet_type_id=type_id,
            balance_cents=0,
            created_at=now,
        )
    )
    issue_communication(s, school_id, now, wallet_id=wallet_id, level=level)


def renew_communications(
    s: Session, school_id: str, student_id: str, level: str, now: datetime, old_valid_until: datetime
) -> None:
    """A new communication for each of the student's wallets; the current one keeps crediting the
    wallet until ``old_valid_until``."""
    sc = structured_communications
    wallet_ids = s.execute(select(wallets.c.id).where(wallets.c.student_id == student_id)).scalars().all()
    for wallet_id in wallet_ids:
        s.execute(
            update(sc)
            .where(sc.c.wallet_id == wallet_id, sc.c.valid_until.is_(None))
            .values(valid_until=old_valid_until)
        )
        issue_communication(s, school_id, now, wallet_id=wallet_id, level=level)


def wallet_type_ids_of(s: Session, student_id: str) -> set[str]:
    """The types of the wallets the student has."""
    return set(
        s.execute(select(wallets.c.wallet_type_id).where(wallets.c.student_id == student_id)).scalars()
    )


def wallet_types_of(s: Session, school_id: str):
    """The school's wallet types, in the order it created them."""
    return s.execute(
        select(wallet_types).where(wallet_types.c.school_id == school_id).order_by(wallet_types.c.position)
    ).all()


def wallet_type_ids(s: Session, school_id: str) -> list[str]:
    return list(s.execute(select(wallet_types.c.id).where(wallet_types.c.school_id == school_id)).scalars())


def find_wallet_type(s: Session, school_id: str, name_key: str):
    return s.execute(
        select(wallet_types).where(wallet_types.c.school_id == school_id, wallet_types.c.name_key == name_key)
    ).first()


def add_wallet_type(s: Session, school_id: str, name: str, now: datetime) -> str:
    """A new wallet type, last in the school's order; its id."""
    type_id = str(uuid.uuid4())
    position = s.execute(
        select(func.count()).select_from(wallet_types).where(wallet_types.c.school_id == school_id)
    ).scalar_one()
    s.execute(
        wallet_types.insert().values(
            id=type_id,
            school_id=school_id,
            name=name,
            name_key=name.casefold(),
            position=position,
            created_at=now,
        )
    )
    return type_id


def wallet_type_name(s: Session, type_id: str) -> str:
    return s.execute(select(wallet_types.c.name).where(wallet_types.c.id == type_id)).scalar_one()


def wallet_type_names(s: Session, school_id: str) -> dict[str, str]:
    """The school's wallet types: id -> name."""
    return dict(
        s.execute(
            select(wallet_types.c.id, wallet_types.c.name).where(wallet_types.c.school_id == school_id)
        ).all()
    )


def lock_wallets(s: Session, school_id: str, ids: set[str]) -> list:
    """The school's wallets among ``ids`` (id, student_id, balance_cents, wallet_type_id), locked in id
    order."""
    rows: list = []
    for among in in_sets(s, wallets.c.id, ids):
        rows += s.execute(
            select(wallets.c.id, wallets.c.student_id, wallets.c.balance_cents, wallets.c.wallet_type_id)
            .where(wallets.c.school_id == school_id, among)
            .order_by(wallets.c.id)
            .with_for_update()
        ).all()
    return rows
