"""Bulk invoicing a 1,000-student school on PostgreSQL, beside the single-invoice path in the same run.

A scratch finance database is created and migrated; a school with payment settings, one wallet type
and 1,000 students in 40 classes of 25 is set up through the use cases. Then, through the real use
cases (what the gRPC servicer calls):

- bulk: ``BulkInvoices.bulk_create_invoices`` for every class at once: one transaction writing 1,000
  invoices, their lines, structured communications, ledger receivables and issued events (outbox);
- single: ``Invoices.create_invoice`` 1,000 times, one per student, each its own transaction and its
  own Idempotency-Key (as the API's POST /admin/invoices does).

Prints invoices per second of each and the ratio; checks the ledger still sums to zero and every
invoice has its communication. Fails when the bulk takes a minute or more. The scratch database is
dropped at the end.

    .venv/bin/python bench/bench_bulk_invoices.py          # BENCH_STUDENTS=1000 by default
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from sqlalchemy import func, select  # noqa: E402

from cartable.finance.v1 import finance_pb2 as pb  # noqa: E402
from kit import migrations  # noqa: E402
from kit.identity import Identity  # noqa: E402
from kit.service import bootstrap  # noqa: E402
from kit.testing import Keys, create_pg_database, drop_pg_database, test_settings  # noqa: E402
from services.finance.app import spec, use_cases  # noqa: E402
from services.finance.db import invoices, ledger_postings, structured_communications  # noqa: E402

STUDENTS = int(os.environ.get("BENCH_STUDENTS", "1000"))
PER_CLASS = 25
LIMIT_SECONDS = 60.0
SCHOOL = str(uuid.uuid4())
STAFF = Identity(
    account_id=str(uuid.uuid4()), role="staff", school_id=SCHOOL, reauthenticated_at=int(time.time())
)
LINES = [
    pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=1500),
    pb.InvoiceLineInput(label="Entrée au musée", quantity=1, unit_price_cents=900),
]


class NoProvider:
    def __getattr__(self, name: str):
        raise AssertionError(f"the payment provider was called ({name})")


def set_up(uc) -> tuple[list[str], list[str]]:
    uc.settings.update_settings(
        STAFF,
        pb.UpdateSettingsRequest(
            settings=pb.Settings(iban="BE68539007547034", beneficiary="École du banc d'essai")
        ),
    )
    uc.wallets.create_wallet_type(STAFF, pb.CreateWalletTypeRequest(name="Repas"))
    ids, classes = [], []
    for i in range(STUDENTS):
        cls = f"C{i // PER_CLASS:02d}"
        if cls not in classes:
            classes.append(cls)
        sid = str(uuid.uuid4())
        uc.wallets.open_student_wallets(
            STAFF,
            pb.OpenStudentWalletsRequest(
                student_id=sid, level="primary", first_name=f"Élève{i}", last_name="Banc", class_name=cls
            ),
        )
        ids.append(sid)
    return ids, classes


def check(rt, expected: int) -> None:
    with rt.db.unit_of_work() as s:
        n = s.execute(select(func.count()).select_from(invoices)).scalar_one()
        comms = s.execute(
            select(func.count())
            .select_from(structured_communications)
            .where(structured_communications.c.invoice_id.is_not(None))
        ).scalar_one()
        total = s.execute(select(func.coalesce(func.sum(ledger_postings.c.amount_cents), 0))).scalar_one()
    assert n == expected and comms == expected, (n, comms, expected)
    assert total == 0, f"the ledger sums to {total}"


def main() -> int:
    name = f"cartable_bench_bulk_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name)
    tmp = Path(tempfile.mkdtemp(prefix="cartable-bench-bulk-"))
    rt = None
    try:
        migrations.upgrade(spec().migrations_dir, url)
        rt = bootstrap(spec(), test_settings("finance", url, Keys(tmp), None))
        uc = use_cases(rt, NoProvider())
        t0 = time.perf_counter()
        ids, classes = set_up(uc)
        print(
            f"bench_bulk_invoices: PostgreSQL, {STUDENTS} students in {len(classes)} classes "
            f"(set up in {time.perf_counter() - t0:.1f} s), {os.cpu_count()} CPUs shared with the database"
        )
        t0 = time.perf_counter()
        out = uc.bulk_invoices.bulk_create_invoices(
            STAFF,
            pb.BulkCreateInvoicesRequest(
                title="Visite au musée", lines=LINES, class_names=classes, idempotency_key=str(uuid.uuid4())
            ),
        )
        bulk_s = time.perf_counter() - t0
        assert out.count == STUDENTS, out.count
        check(rt, STUDENTS)
        t0 = time.perf_counter()
        for sid in ids:
            uc.invoices.create_invoice(
                STAFF,
                pb.CreateInvoiceRequest(
                    student_id=sid, title="Visite au musée", lines=LINES, idempotency_key=str(uuid.uuid4())
                ),
            )
        single_s = time.perf_counter() - t0
        check(rt, 2 * STUDENTS)
        bulk_rate, single_rate = STUDENTS / bulk_s, STUDENTS / single_s
        print(f"  {'bulk, one transaction':<34} {bulk_s:7.2f} s  {bulk_rate:8.1f} invoices/s")
        print(f"  {f'CreateInvoice x {STUDENTS}':<34} {single_s:7.2f} s  {single_rate:8.1f} invoices/s")
        print(f"  ratio bulk/single: {bulk_rate / single_rate:.2f}x")
        print("  checked: one communication per invoice, the ledger sums to zero")
        if bulk_s >= LIMIT_SECONDS:
            print(f"FAIL: the bulk took {bulk_s:.1f} s (limit {LIMIT_SECONDS:.0f} s)")
            return 1
        return 0
    finally:
        if rt is not None:
            rt.db.dispose()
        drop_pg_database(name)


if __name__ == "__main__":
    raise SystemExit(main())
