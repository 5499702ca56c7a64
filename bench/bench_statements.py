"""Importing a 50,000-movement CODA file on PostgreSQL, beside a plain INSERT of every row the import
writes.

A scratch finance database is created and migrated, a school is seeded with 35,000 students' wallets
and 5,000 invoices whose structured communications the file uses (bulk_specs: 60 % structured, 20 %
typed in free text, 10 % free text only, 10 % debits), and the file (build_coda: several statements,
13 MB) goes through the real use case ``Statements.import_statement``: parse, de-duplicate, match,
lock, book (ledger, payments, movements, unmatched list, outbox events) in one transaction. The same
file is then imported again (everything is a duplicate). In the same run and database, the rows the
first import wrote (read back: its bank movements, ledger transactions and postings, payments,
unmatched transfers, outbox rows, the import's own row) are inserted into plain copies of those tables
(``CREATE TABLE ... (LIKE ...)``: same columns, no index, key or constraint) with INSERTs through
the same driver (executemany, pipelined), one transaction; and again with COPY. Prints seconds, the rows on each side
and the ratio with its goal (issue #20: the plain INSERT's time over the import's, >= 0.5); the scratch
database is dropped at the end.

    .venv/bin/python bench/bench_statements.py          # BENCH_MOVEMENTS=50000 by default
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from sqlalchemy import Column, MetaData, Table, text  # noqa: E402

from cartable.finance.v1 import finance_pb2 as pb  # noqa: E402
from kit import migrations  # noqa: E402
from kit.identity import Identity  # noqa: E402
from kit.service import bootstrap  # noqa: E402
from kit.testing import Keys, create_pg_database, drop_pg_database, test_settings  # noqa: E402
from services.finance import db  # noqa: E402
from services.finance.app import spec  # noqa: E402
from services.finance.domain import ledger  # noqa: E402
from services.finance.domain.statements import parse_statement  # noqa: E402
from services.finance.tests.statement_builders import build_coda, bulk_specs, make_ogm  # noqa: E402
from services.finance.use_cases.settings import PaymentSettings  # noqa: E402
from services.finance.use_cases.statements import Statements  # noqa: E402
from services.finance.use_cases.wallets import Wallets  # noqa: E402

MOVEMENTS = int(os.environ.get("BENCH_MOVEMENTS", "50000"))
SCHOOL = str(uuid.uuid4())
# re-authenticated: setting the first IBAN asks for it (issue #15)
STAFF = Identity(
    account_id=str(uuid.uuid4()), role="staff", school_id=SCHOOL, reauthenticated_at=int(time.time())
)


def seed(rt, n: int) -> tuple[int, int]:
    """Wallets and invoices named by the communications bulk_specs writes (movement i uses
    make_ogm(1_000_000 + i)): every tenth referencing movement pays an invoice, the others a wallet."""
    PaymentSettings(rt).update_settings(
        STAFF,
        pb.UpdateSettingsRequest(
            settings=pb.Settings(
                iban="BE68539007547034",
                bic="GKCCBEBB",
                beneficiary="École du banc d'essai",
                top_up_methods=["transfer"],
            )
        ),
    )
    type_id = Wallets(rt).create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name="Repas")).wallet_type.id
    now = datetime.now(UTC)
    rand = random.Random(7)
    students, wallets, comms, invoices, lines = [], [], [], [], []
    entries: list[tuple[str, ledger.Transaction, datetime, str, str | None]] = []
    for i in range(n):
        if i % 10 >= 8:  # free text only, or a debit: names nothing
            continue
        student_id = str(uuid.uuid4())
        students.append(
            {
                "id": student_id,
                "school_id": SCHOOL,
                "level": "primary",
                "first_name": f"E{i}",
                "last_name": "Banc",
                "class_name": f"{1 + i % 6}A",
                "created_at": now,
            }
        )
        digits = make_ogm(1_000_000 + i)
        if i % 10 == 0:
            invoice_id, total = str(uuid.uuid4()), rand.randrange(1_000, 30_000)
            invoices.append(
                {
                    "id": invoice_id,
                    "school_id": SCHOOL,
                    "student_id": student_id,
                    "number": f"B-{i:06d}",
                    "title": "Classe verte",
                    "issued_on": now.date(),
                    "due_on": now.date(),
                    "total_cents": total,
                    "credit_cents": 0,
                    "paid_cents": 0,
                    "credited_cents": 0,
                    "status": "unpaid",
                    "source": "staff",
                    "created_at": now,
                }
            )
            lines.append(
                {
                    "invoice_id": invoice_id,
                    "position": 0,
                    "label": "Séjour",
                    "quantity": 1,
                    "unit_price_cents": total,
                    "amount_cents": total,
                }
            )
            comms.append(
                {
                    "digits": digits,
                    "school_id": SCHOOL,
                    "wallet_id": None,
                    "invoice_id": invoice_id,
                    "level": "",
                    "created_at": now,
                    "valid_until": None,
                }
            )
            entries.append(
                (
                    str(uuid.uuid4()),
                    ledger.issue_invoice(invoice_id, SCHOOL, total),
                    now,
                    "Facture",
                    student_id,
                )
            )
        else:
            wallet_id = str(uuid.uuid4())
            wallets.append(
                {
                    "id": wallet_id,
                    "school_id": SCHOOL,
                    "student_id": student_id,
                    "wallet_type_id": type_id,
                    "balance_cents": 0,
                    "created_at": now,
                }
            )
            comms.append(
                {
                    "digits": digits,
                    "school_id": SCHOOL,
                    "wallet_id": wallet_id,
                    "invoice_id": None,
                    "level": "primary",
                    "created_at": now,
                    "valid_until": None,
                }
            )
    with rt.db.unit_of_work() as s:
        for table, rows in (
            (db.students, students),
            (db.wallets, wallets),
            (db.invoices, invoices),
            (db.invoice_lines, lines),
            (db.structured_communications, comms),
        ):
            for k in range(0, len(rows), 5000):
                s.execute(table.insert(), rows[k : k + 5000])
        db.book_many(s, SCHOOL, entries)
    return len(wallets), len(invoices)


# The tables an import writes, and how to find the rows it wrote in them (the seed wrote invoices'
# ledger transactions and postings before it; ``:since`` is the instant the import started).
WRITTEN = {
    "statement_imports": "SELECT * FROM statement_imports",
    "bank_movements": "SELECT * FROM bank_movements",
    "ledger_transactions": "SELECT * FROM ledger_transactions WHERE kind <> 'invoice_issued'",
    "ledger_postings": "SELECT p.* FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id "
    "WHERE t.kind <> 'invoice_issued'",
    "payments": "SELECT * FROM payments",
    "unmatched_transfers": "SELECT * FROM unmatched_transfers",
    "outbox": "SELECT * FROM outbox WHERE created_at >= :since",
}


def written_rows(rt, since: datetime) -> dict[str, list[dict]]:
    """The rows the import wrote, table by table (a scratch database: nothing else wrote them)."""
    with rt.db.unit_of_work() as s:
        return {
            name: [dict(r._mapping) for r in s.execute(text(sql), {"since": since})]
            for name, sql in WRITTEN.items()
        }


def plain_tables(rt, suffix: str) -> dict[str, Table]:
    """Plain copies of the written tables: the same columns, no index, key or constraint."""
    tables = {}
    with rt.db.engine.begin() as conn:
        for name in WRITTEN:
            conn.execute(text(f"CREATE TABLE plain_{suffix}_{name} (LIKE {name})"))
            real = db.metadata.tables[name]
            tables[name] = Table(
                f"plain_{suffix}_{name}", MetaData(), *(Column(c.name, c.type) for c in real.columns)
            )
    return tables


def plain_insert(rt, rows: dict[str, list[dict]]) -> float:
    """The same rows, one transaction, INSERTs through the same driver as the service: SQLAlchemy's
    executemany, 5,000 rows a call, which psycopg sends pipelined (one round trip a call). It is
    faster here than one long ``INSERT ... VALUES (...), (...)`` a call: psycopg parses such a long
    query text again on every call, in Python."""
    tables = plain_tables(rt, "insert")
    started = time.perf_counter()
    with rt.db.engine.begin() as conn:
        for name, table_rows in rows.items():
            for k in range(0, len(table_rows), 5000):
                conn.execute(tables[name].insert(), table_rows[k : k + 5000])
    return time.perf_counter() - started


def plain_copy(rt, rows: dict[str, list[dict]]) -> float:
    """The same rows with PostgreSQL's COPY (the fastest way in)."""
    tables = plain_tables(rt, "copy")
    raw = rt.db.engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.cursor() as cur:
            for name, table_rows in rows.items():
                columns = [c.name for c in tables[name].columns]
                with cur.copy(f"COPY {tables[name].name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in table_rows:
                        copy.write_row(tuple(r[c] for c in columns))
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def check(rt) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        total = s.execute(text("SELECT COALESCE(SUM(amount_cents), 0) FROM ledger_postings")).scalar_one()
        drift = s.execute(
            text(
                "SELECT COUNT(*) FROM wallets w LEFT JOIN (SELECT account, SUM(amount_cents) AS s FROM ledger_postings "
                "WHERE account LIKE 'wallet:%' GROUP BY account) p ON p.account = 'wallet:' || w.id "
                "WHERE w.balance_cents <> COALESCE(p.s, 0)"
            )
        ).scalar_one()
        counts = {
            t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()  # noqa: S608 - fixed names
            for t in ("bank_movements", "ledger_transactions", "payments", "unmatched_transfers", "outbox")
        }
    assert total == 0, f"the ledger does not sum to zero: {total}"
    assert drift == 0, f"{drift} wallets' balances differ from their postings"
    return counts


def main() -> int:
    name = f"cartable_bench_statements_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name)
    try:
        migrations.upgrade(ROOT / "services" / "finance" / "migrations", url)
        keys = Keys(Path(tempfile.mkdtemp(prefix="cartable-bench-keys-")))
        rt = bootstrap(spec(), test_settings("finance", url, keys, None))
        t0 = time.perf_counter()
        n_wallets, n_invoices = seed(rt, MOVEMENTS)
        specs = bulk_specs(MOVEMENTS)
        content = build_coda(specs)
        print(
            f"bench_statements: {MOVEMENTS} movements, CODA file of {len(content) / 1e6:.1f} MB, PostgreSQL "
            f"(set-up: {n_wallets} wallets and {n_invoices} invoices in {time.perf_counter() - t0:.1f} s)",
            flush=True,
        )

        started = time.perf_counter()
        parse_statement(content)
        parse_s = time.perf_counter() - started
        bank = Statements(rt)
        req = pb.ImportStatementRequest(content=content, filename="bench.cod")
        since = datetime.now(UTC)
        started, cpu = time.perf_counter(), time.process_time()
        result = bank.import_statement(STAFF, req).result
        import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
        counts = check(rt)
        rows = written_rows(rt, since)
        started = time.perf_counter()
        again = bank.import_statement(STAFF, req).result
        again_s = time.perf_counter() - started
        assert again.duplicates == MOVEMENTS and again.credited == 0, again
        # nothing more written but the second import's own row and its audit entry
        assert check(rt) == {**counts, "outbox": counts["outbox"] + 1}

        insert_s = plain_insert(rt, rows)
        copy_s = plain_copy(rt, rows)

        written = sum(len(r) for r in rows.values())
        print(
            f"  file: {result.statements} statements; credited {result.credited}, unmatched {result.unmatched}, "
            f"debits {result.debits}, duplicates {result.duplicates}"
        )
        print(
            f"  the import wrote {written} rows ({written / MOVEMENTS:.1f} per movement: "
            + ", ".join(f"{name} {len(r)}" for name, r in rows.items())
            + ") in one transaction; the plain INSERT and COPY write these same rows into plain copies of"
            " those tables (same columns, no index, key or constraint)"
        )
        print(
            f"  {'import (parse, match, lock, book, events)':<46} {import_s:7.2f} s  {MOVEMENTS / import_s:9.0f} movements/s"
            f"   (of which parsing {parse_s:.2f} s; {import_cpu:.2f} s of this process's CPU)"
        )
        print(
            f"  {'same file again (all duplicates)':<46} {again_s:7.2f} s  {MOVEMENTS / again_s:9.0f} movements/s"
        )
        print(
            f"  {'plain INSERT of the rows the import wrote':<46} {insert_s:7.2f} s  {written / insert_s:9.0f} rows/s"
        )
        print(f"  {'plain COPY of the same rows':<46} {copy_s:7.2f} s  {written / copy_s:9.0f} rows/s")
        print(
            f"  ratio plain INSERT / import: {insert_s / import_s:.2f} (goal >= 0.5)   "
            f"plain COPY / import: {copy_s / import_s:.2f}"
        )
        digest = hashlib.sha256(content).hexdigest()[:12]
        print(f"  (file sha256 {digest}…; scratch database {name} dropped)")
        rt.db.dispose()
    finally:
        drop_pg_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
