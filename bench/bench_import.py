"""Importing a People CSV of 1,500 students with two parents each on PostgreSQL, beside a plain bulk
insert of the same rows.

A scratch auth database is created and migrated, a school and its manager are made, and the file
(``;``-separated, UTF-8 with BOM, French level names, DD/MM/YYYY dates, as a spreadsheet saves it)
goes through the real use case ``imports.import_people``: read, check every row, plan against the
school's data, then write students, parent accounts (usernames from their names), links, connection
tokens and the outbox events (student created, parent created, token issued: the mails) in one
transaction. A dry run first, the import, then the same file again (nothing to change). In the same
run and database, the same student, account and link rows are inserted into plain copies of the
tables with a multi-row INSERT (and with COPY). Prints seconds and the ratios; fails when the import
takes a minute or more. The scratch database is dropped at the end.

    .venv/bin/python bench/bench_import.py          # BENCH_STUDENTS=1500 by default
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from sqlalchemy import MetaData, Table, func, select, text  # noqa: E402

from kit import migrations  # noqa: E402
from kit.identity import Identity  # noqa: E402
from kit.service import bootstrap  # noqa: E402
from kit.testing import Keys, create_pg_database, drop_pg_database, test_settings  # noqa: E402
from services.auth.app import spec, use_case_deps  # noqa: E402
from services.auth.db import accounts, connection_tokens, guardianships, outbox, students  # noqa: E402
from services.auth.domain.people import search_key  # noqa: E402
from services.auth.use_cases import imports, schools  # noqa: E402

STUDENTS = int(os.environ.get("BENCH_STUDENTS", "1500"))
LIMIT_SECONDS = 60.0
FIRST = ["Lucas", "Emma", "Noé", "Zoë", "Louis", "Chloé", "Inès", "Hugo", "Léa", "Jules", "Anaïs", "Théo"]
LAST = ["Dupont", "Lefèvre", "D'Hondt", "Van den Bossche", "Peeters", "Janssens", "Müller", "Nguyen"]
PARENTS = ["Marie", "Jean", "Sophie", "Pierre", "Ann", "Koen", "Fatima", "Youssef", "Élise", "Marc"]


def people_csv(n: int) -> tuple[bytes, list[dict[str, Any]]]:
    """The file, and its rows as plain values (for the plain insert)."""
    rand = random.Random(16)
    header = (
        "student_id;first_name;last_name;class_name;level;birth_date;parent1_first_name;parent1_last_name;"
        "parent1_email;parent2_first_name;parent2_last_name;parent2_email"
    )
    lines, rows = [header], []
    for i in range(n):
        last = rand.choice(LAST)
        year = rand.randint(6, 17)
        row: dict[str, Any] = {
            "external_id": f"MAT{i:05d}",
            "first_name": rand.choice(FIRST),
            "last_name": last,
            "class_name": f"{year - 5}{'ABC'[i % 3]}",
            "level": "primary" if year < 12 else "secondary",
            "birth_date": date(2026 - year, rand.randint(1, 12), rand.randint(1, 28)),
            "parents": [(rand.choice(PARENTS), last, f"p{i:05d}.{k}@famille.example") for k in (1, 2)],
        }
        rows.append(row)
        (f1, l1, e1), (f2, l2, e2) = row["parents"]
        lines.append(
            f"{row['external_id']};{row['first_name']};{last};{row['class_name']};"
            f"{'primaire' if row['level'] == 'primary' else 'secondaire'};{row['birth_date']:%d/%m/%Y};"
            f"{f1};{l1};{e1};{f2};{l2};{e2}"
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), rows


def plain_rows(school_id: str, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The same students, parent accounts and links as the import writes, ids made here."""
    now = datetime.now(UTC)
    out: dict[str, list[dict[str, Any]]] = {"students": [], "accounts": [], "guardianships": []}
    for r in rows:
        student_id = str(uuid.uuid4())
        out["students"].append(
            {
                "id": student_id,
                "school_id": school_id,
                "first_name": r["first_name"],
                "last_name": r["last_name"],
                "class_name": r["class_name"],
                "level": r["level"],
                "active": True,
                "created_at": now,
                "external_id": r["external_id"],
                "birth_date": r["birth_date"],
                "search_name": search_key(r["first_name"], r["last_name"]),
            }
        )
        for first, last, email in r["parents"]:
            account_id = str(uuid.uuid4())
            out["accounts"].append(
                {
                    "id": account_id,
                    "school_id": school_id,
                    "role": "parent",
                    "username": email.split("@")[0],
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "language": "fr",
                    "created_at": now,
                    "search_name": search_key(first, last, email),
                }
            )
            out["guardianships"].append(
                {"parent_id": account_id, "student_id": student_id, "school_id": school_id, "created_at": now}
            )
    return out


def plain_insert(rt, tables: dict[str, list[dict[str, Any]]], how: str) -> float:
    """The rows into plain copies of the tables (no index but their keys), one transaction: a
    multi-row INSERT per 1,000 rows, or COPY."""
    with rt.db.unit_of_work() as s:
        for name in tables:
            s.execute(text(f"CREATE TABLE plain_{how}_{name} (LIKE {name} INCLUDING DEFAULTS)"))
    started = time.perf_counter()
    with rt.db.unit_of_work() as s:
        for name, rows in tables.items():
            columns = list(rows[0])
            if how == "insert":
                table = Table(f"plain_insert_{name}", MetaData(), autoload_with=s.connection())
                for k in range(0, len(rows), 1000):
                    s.execute(table.insert().values(rows[k : k + 1000]))  # one multi-row VALUES
            else:
                cursor = cast(Any, s.connection().connection.dbapi_connection).cursor()
                with cursor.copy(f"COPY plain_copy_{name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
    return time.perf_counter() - started


def written(rt) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        return {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (students, accounts, guardianships, connection_tokens, outbox)
        }


def main() -> int:
    name = f"cartable_bench_import_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name)
    try:
        migrations.upgrade(ROOT / "services" / "auth" / "migrations", url)
        keys = Keys(Path(tempfile.mkdtemp(prefix="cartable-bench-keys-")))
        rt = bootstrap(spec(), test_settings("auth", url, keys, None))
        deps = use_case_deps(rt)
        school_id = schools.create_school(deps, "École du banc d'essai")
        staff = schools.create_staff(deps, school_id, "Claire", "Martin", "direction@banc.example")
        who = Identity(account_id=staff.account_id, role="staff", school_id=school_id)
        content, rows = people_csv(STUDENTS)
        print(
            f"bench_import: {STUDENTS} students with 2 parents each, People CSV of {len(content) / 1e3:.0f} kB, "
            "PostgreSQL",
            flush=True,
        )
        before = written(rt)
        started = time.perf_counter()
        dry = imports.import_people(deps, who, content, dry_run=True, filename="bench.csv")
        dry_s = time.perf_counter() - started
        assert not dry.problems and dry.students_created == STUDENTS, dry
        assert written(rt) == before

        started = time.perf_counter()
        done = imports.import_people(deps, who, content, filename="bench.csv")
        import_s = time.perf_counter() - started
        assert (done.students_created, done.parents_created, done.links_created) == (
            STUDENTS,
            2 * STUDENTS,
            2 * STUDENTS,
        ), done
        after = written(rt)
        started = time.perf_counter()
        again = imports.import_people(deps, who, content, filename="bench.csv")
        again_s = time.perf_counter() - started
        assert (
            again.students_created,
            again.students_updated,
            again.parents_created,
            again.links_created,
        ) == (
            0,
            0,
            0,
            0,
        ), again
        assert written(rt) == after  # nothing more written, nothing more sent

        tables = plain_rows(school_id, rows)
        insert_s = plain_insert(rt, tables, "insert")
        copy_s = plain_insert(rt, tables, "copy")
        rows_written = {k: after[k] - before[k] for k in after}
        plain_count = sum(len(v) for v in tables.values())
        print(f"  the import wrote {sum(rows_written.values())} rows in one transaction: {rows_written}")
        print(f"  the plain insert writes the {plain_count} student, account and link rows only")
        print(f"  {'dry run (read, check, plan)':<44} {dry_s:7.2f} s")
        print(
            f"  {'import (check, plan, write, events, tokens)':<44} {import_s:7.2f} s  "
            f"{STUDENTS / import_s:7.0f} students/s"
        )
        print(f"  {'same file again (nothing to change)':<44} {again_s:7.2f} s")
        print(f"  {'plain bulk insert of the same rows (INSERT)':<44} {insert_s:7.2f} s")
        print(f"  {'plain bulk insert of the same rows (COPY)':<44} {copy_s:7.2f} s")
        print(
            f"  ratio import / plain INSERT: {import_s / insert_s:.1f}x   import / COPY: {import_s / copy_s:.1f}x"
        )
        print(f"  (scratch database {name} dropped)")
        rt.db.dispose()
        if import_s >= LIMIT_SECONDS:
            print(f"  FAILED: the import took {import_s:.1f} s, the limit is {LIMIT_SECONDS:.0f} s")
            return 1
    finally:
        drop_pg_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
