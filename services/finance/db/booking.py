"""Booking on the ledger: balanced transactions written once, the wallets' cached balances moved in
the same transaction, the accounts' balances and postings read back; and the sales journal."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Column,
    CursorResult,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from kit.db import bulk_insert
from services.finance.db.tables import (
    ledger_postings,
    ledger_transactions,
    sale_lines,
    sales,
    wallet_types,
    wallets,
)
from services.finance.domain.ledger import Transaction

WALLET_PREFIX = "wallet:"


def book(
    s: Session,
    school_id: str,
    tx: Transaction,
    *,
    at: datetime,
    label: str = "",
    student_id: str | None = None,
) -> str:
    """Write one balanced transaction (never updated afterwards) and move the cached balance of every
    wallet it touches, in the caller's transaction. Debits must have been checked under the wallet's
    lock; the CHECK on wallets refuses a negative balance anyway. On PostgreSQL it is one statement
    (the transaction, its postings and the balances: :func:`_book_statement`), elsewhere three."""
    tx_id = str(uuid.uuid4())
    moves: dict[str, int] = {}
    for p in tx.postings:
        if p.account.startswith(WALLET_PREFIX):
            wallet_id = p.account[len(WALLET_PREFIX) :]
            moves[wallet_id] = moves.get(wallet_id, 0) + p.amount_cents
    row = {
        "id": tx_id,
        "school_id": school_id,
        "kind": tx.kind,
        "method": tx.method,
        "label": (label or tx.memo)[:300],
        "student_id": student_id,
        "created_at": at,
    }
    if s.get_bind().dialect.name == "postgresql":
        params: dict = {f"t_{k}": v for k, v in row.items()}
        for i, p in enumerate(tx.postings):
            params[f"a{i}"], params[f"c{i}"] = p.account, p.amount_cents
        for i, (wallet_id, amount) in enumerate(moves.items()):
            params[f"w{i}"], params[f"m{i}"] = wallet_id, amount
        moved = cast(CursorResult, s.execute(_book_statement(len(tx.postings), len(moves)), params)).rowcount
        if moves and moved != len(moves):
            raise LookupError(f"no wallet behind one of the accounts {sorted(moves)}")
        return tx_id
    s.execute(ledger_transactions.insert().values(**row))
    s.execute(
        ledger_postings.insert(),
        [
            {"transaction_id": tx_id, "account": p.account, "amount_cents": p.amount_cents}
            for p in tx.postings
        ],
    )
    for wallet_id, amount in moves.items():
        moved = cast(
            CursorResult,
            s.execute(
                update(wallets)
                .where(wallets.c.id == wallet_id)
                .values(balance_cents=wallets.c.balance_cents + amount)
            ),
        ).rowcount
        if moved != 1:
            raise LookupError(f"no wallet behind the account {WALLET_PREFIX}{wallet_id}")
    return tx_id


_BOOK_STATEMENTS: dict[tuple[int, int], TextClause] = {}


def _book_statement(postings: int, moved_wallets: int) -> TextClause:
    """PostgreSQL: the transaction row, its ``postings`` and the ``moved_wallets`` balances moved in one
    statement (data-modifying CTEs; the foreign keys are checked at its end), its row count the wallets
    moved. One text per shape, built once."""
    key = (postings, moved_wallets)
    found = _BOOK_STATEMENTS.get(key)
    if found is not None:
        return found
    values = ", ".join(f"(:t_id, CAST(:a{i} AS varchar), CAST(:c{i} AS bigint))" for i in range(postings))
    insert_tx = (
        "INSERT INTO ledger_transactions (id, school_id, kind, method, label, student_id, created_at) "
        "VALUES (:t_id, :t_school_id, :t_kind, :t_method, :t_label, :t_student_id, :t_created_at)"
    )
    insert_postings = f"INSERT INTO ledger_postings (transaction_id, account, amount_cents) VALUES {values}"  # noqa: S608 - placeholders only
    if moved_wallets:
        moves = ", ".join(f"(CAST(:w{i} AS varchar), CAST(:m{i} AS bigint))" for i in range(moved_wallets))
        sql = (
            f"WITH t AS ({insert_tx}), p AS ({insert_postings}) "  # noqa: S608 - placeholders only
            "UPDATE wallets SET balance_cents = wallets.balance_cents + m.amount "
            f"FROM (VALUES {moves}) AS m (id, amount) WHERE wallets.id = m.id"
        )
    else:
        sql = f"WITH t AS ({insert_tx}) {insert_postings}"
    found = _BOOK_STATEMENTS[key] = text(sql)
    return found


def book_many(
    s: Session, school_id: str, entries: list[tuple[str, Transaction, datetime, str, str | None]]
) -> None:
    """Write many balanced transactions at once: ``(id, transaction, at, label, student_id)`` each,
    with bulk inserts, and move every touched wallet's cached balance by its net amount (one UPDATE
    per wallet; on PostgreSQL one UPDATE joined to the moves). Same rules as :func:`book`: the caller
    locked the wallets it touches."""
    if not entries:
        return
    bulk_insert(
        s,
        ledger_transactions,
        [
            {
                "id": tx_id,
                "school_id": school_id,
                "kind": tx.kind,
                "method": tx.method,
                "label": (label or tx.memo)[:300],
                "student_id": student_id,
                "created_at": at,
            }
            for tx_id, tx, at, label, student_id in entries
        ],
    )
    bulk_insert(
        s,
        ledger_postings,
        [
            {"transaction_id": tx_id, "account": p.account, "amount_cents": p.amount_cents}
            for tx_id, tx, _at, _label, _student in entries
            for p in tx.postings
        ],
    )
    moves: dict[str, int] = {}
    for _id, tx, _at, _label, _student in entries:
        for p in tx.postings:
            if p.account.startswith(WALLET_PREFIX):
                wallet_id = p.account[len(WALLET_PREFIX) :]
                moves[wallet_id] = moves.get(wallet_id, 0) + p.amount_cents
    update_by_id(s, wallets, "balance_cents", {w: m for w, m in moves.items() if m}, add=True)


def update_by_id(s: Session, table: Table, column: str, values: dict, *, add: bool = False) -> None:
    """Set (or with ``add``, increase) ``column`` of many rows of ``table`` by id. On PostgreSQL the
    values go through a temporary table and one UPDATE ... FROM; elsewhere one UPDATE per row."""
    if not values:
        return
    target = table.c[column]
    if s.get_bind().dialect.name != "postgresql":
        stmt = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({column: (target + bindparam("value")) if add else bindparam("value")})
        )
        s.connection().execute(stmt, [{"row_id": k, "value": v} for k, v in sorted(values.items())])
        return
    sql_type = "bigint" if isinstance(next(iter(values.values())), int) else "text"
    tmp = f"tmp_update_{table.name}_{column}"
    s.execute(
        text(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (row_id varchar(36), value {sql_type}) ON COMMIT DROP")
    )
    s.execute(text(f"DELETE FROM {tmp}"))  # noqa: S608 - names from our own tables
    tmp_table = Table(
        tmp,
        MetaData(),
        Column("row_id", String(36)),
        Column("value", BigInteger if sql_type == "bigint" else Text),
    )
    bulk_insert(s, tmp_table, [{"row_id": k, "value": v} for k, v in sorted(values.items())])
    new_value = f"{table.name}.{column} + t.value" if add else "t.value"
    sql = f"UPDATE {table.name} SET {column} = {new_value} FROM {tmp} t WHERE {table.name}.id = t.row_id"  # noqa: S608
    s.execute(text(sql))


def ledger_sums(s: Session, school_id: str | None = None) -> dict[str, int]:
    """Every account's balance from the postings (for invariant checks and reconciliation)."""
    t, p = ledger_transactions, ledger_postings
    q = (
        select(p.c.account, func.sum(p.c.amount_cents))
        .join(t, t.c.id == p.c.transaction_id)
        .group_by(p.c.account)
    )
    if school_id:
        q = q.where(t.c.school_id == school_id)
    return {account: int(total) for account, total in s.execute(q).all()}


def posted_on(s: Session, transaction_id: str, account: str) -> int:
    """What one transaction posted on one account (0 when nothing)."""
    p = ledger_postings
    total = s.execute(
        select(func.coalesce(func.sum(p.c.amount_cents), 0)).where(
            p.c.transaction_id == transaction_id, p.c.account == account
        )
    ).scalar_one()
    return int(total)  # PostgreSQL sums bigints as numeric


def postings_of(
    s: Session,
    accounts: list[str],
    start: datetime,
    end: datetime,
    *,
    kind: str = "",
    not_kinds: list[str] | None = None,
    method: str = "",
    after: tuple[datetime, int] | None = None,
    limit: int | None = None,
):
    """The postings on ``accounts`` in ``[start, end)``, newest first, with their transaction's kind,
    method, label and time; optionally of one kind, of none of ``not_kinds``, of one method; ``limit``
    postings after the posting ``after`` (its time and id: the keyset of the order)."""
    t, p = ledger_transactions, ledger_postings
    q = (
        select(p.c.id, p.c.account, p.c.amount_cents, t.c.kind, t.c.method, t.c.label, t.c.created_at)
        .join(t, t.c.id == p.c.transaction_id)
        .where(p.c.account.in_(accounts), t.c.created_at >= start, t.c.created_at < end)
        .order_by(t.c.created_at.desc(), p.c.id.desc())
    )
    if not_kinds is not None:
        q = q.where(t.c.kind.not_in(not_kinds))
    elif kind:
        q = q.where(t.c.kind == kind)
    if method:
        q = q.where(t.c.method == method)
    if after is not None:
        at, posting_id = after
        q = q.where(or_(t.c.created_at < at, and_(t.c.created_at == at, p.c.id < posting_id)))
    if limit is not None:
        q = q.limit(limit)
    return s.execute(q).all()


# --- the sales journal ------------------------------------------------------------------------------


def insert_sale(
    s: Session,
    lines: list[tuple[str, int, int, int]],
    *,
    school_id: str,
    student_id: str,
    wallet_id: str,
    transaction_id: str,
    amount: int,
    recorded_by: str,
    now: datetime,
    childcare: Sequence[bool] = (),
    days: Sequence[int] = (),
) -> str:
    """A sale and its ``(label, quantity, unit price, amount)`` lines, each line childcare when
    ``childcare`` says so, with its ``days`` of care (in the lines' order); its id."""
    sale_id = str(uuid.uuid4())
    sale = {
        "id": sale_id,
        "school_id": school_id,
        "student_id": student_id,
        "wallet_id": wallet_id,
        "transaction_id": transaction_id,
        "amount_cents": amount,
        "recorded_by": recorded_by,
        "created_at": now,
    }
    rows = [
        {
            "id": str(uuid.uuid4()),
            "sale_id": sale_id,
            "position": i,
            "label": lb,
            "quantity": q,
            "unit_price_cents": u,
            "amount_cents": a,
            "childcare": i < len(childcare) and bool(childcare[i]),
            "days": int(days[i]) if i < len(days) else 0,
        }
        for i, (lb, q, u, a) in enumerate(lines)
    ]
    if s.get_bind().dialect.name == "postgresql":
        params = {f"s_{k}": v for k, v in sale.items()}
        for i, r in enumerate(rows):
            params.update({f"{k}{i}": v for k, v in r.items() if k != "sale_id"})
        s.execute(_sale_statement(len(rows)), params)
        return sale_id
    s.execute(sales.insert().values(**sale))
    s.execute(sale_lines.insert(), rows)
    return sale_id


_SALE_STATEMENTS: dict[int, TextClause] = {}
_SALE_LINE_COLUMNS = (
    "id",
    "position",
    "label",
    "quantity",
    "unit_price_cents",
    "amount_cents",
    "childcare",
    "days",
)


def _sale_statement(lines: int) -> TextClause:
    """PostgreSQL: a sale and its ``lines`` in one statement (one text per number of lines)."""
    found = _SALE_STATEMENTS.get(lines)
    if found is not None:
        return found
    casts = ("varchar", "integer", "varchar", "integer", "bigint", "bigint", "boolean", "integer")
    values = ", ".join(
        "(:s_id, "
        + ", ".join(f"CAST(:{c}{i} AS {t})" for c, t in zip(_SALE_LINE_COLUMNS, casts, strict=True))
        + ")"
        for i in range(lines)
    )
    sql = (
        "WITH s AS (INSERT INTO sales (id, school_id, student_id, wallet_id, transaction_id, amount_cents, "  # noqa: S608 - placeholders only
        "recorded_by, created_at) VALUES (:s_id, :s_school_id, :s_student_id, :s_wallet_id, :s_transaction_id, "
        ":s_amount_cents, :s_recorded_by, :s_created_at)) "
        f"INSERT INTO sale_lines (sale_id, {', '.join(_SALE_LINE_COLUMNS)}) VALUES {values}"
    )
    found = _SALE_STATEMENTS[lines] = text(sql)
    return found


def sale_lines_of(
    s: Session,
    school_id: str,
    start: datetime,
    end: datetime,
    *,
    student_id: str = "",
    wallet_id: str = "",
    after: tuple[datetime, str, int] | None = None,
    limit: int | None = None,
):
    """The school's sale lines in ``[start, end)``, newest sale first, each with its sale's time,
    wallet (and its type's ``name``) and student; optionally of one student, one wallet; ``limit``
    lines after the line ``after`` (its sale's time, sale id and position: the keyset of the order)."""
    sl = sale_lines
    q = (
        select(
            sl.c.position,
            sl.c.id,
            sl.c.sale_id,
            sl.c.label,
            sl.c.quantity,
            sl.c.unit_price_cents,
            sl.c.amount_cents,
            sl.c.childcare,
            sl.c.days,
            sales.c.created_at,
            sales.c.wallet_id,
            sales.c.student_id,
            wallet_types.c.name,
        )
        .join(sales, sales.c.id == sl.c.sale_id)
        .join(wallets, wallets.c.id == sales.c.wallet_id)
        .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
        .where(sales.c.school_id == school_id, sales.c.created_at >= start, sales.c.created_at < end)
        .order_by(sales.c.created_at.desc(), sales.c.id, sl.c.position)
    )
    if student_id:
        q = q.where(sales.c.student_id == student_id)
    if wallet_id:
        q = q.where(sales.c.wallet_id == wallet_id)
    if after is not None:
        at, sale_id, position = after
        q = q.where(
            or_(
                sales.c.created_at < at,
                and_(
                    sales.c.created_at == at,
                    or_(sales.c.id > sale_id, and_(sales.c.id == sale_id, sl.c.position > position)),
                ),
            )
        )
    if limit is not None:
        q = q.limit(limit)
    return s.execute(q).all()
