"""Reading the People CSV (API.md): bytes as a spreadsheet saves them, to one entry per student row,
every problem of the file listed with its line as the spreadsheet shows it (the header is line 1).

Pure: the file and today's date in, entries and problems out. What needs the school's data (is the
student new? whose is this e-mail?) is domain/people_import.py's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.auth.domain import people as rules

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000

STUDENT_COLUMNS = ("student_id", "first_name", "last_name", "class_name", "level", "birth_date")
PARENT_SLOTS = ("parent1", "parent2")
PARENT_FIELDS = ("first_name", "last_name", "email")
COLUMNS = STUDENT_COLUMNS + tuple(f"{p}_{f}" for p in PARENT_SLOTS for f in PARENT_FIELDS)


class TooLarge(ValueError):
    """More than MAX_BYTES or MAX_ROWS: refused before anything is read."""


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # a header name, or "" for the whole line
    code: str
    message: str


@dataclass(frozen=True)
class ParentEntry:
    line: int
    slot: str  # parent1 | parent2: the columns' prefix
    email: str  # lower-case
    first_name: str | None  # None: not given (a known parent keeps theirs)
    last_name: str | None


@dataclass(frozen=True)
class StudentEntry:
    """One row. A field None was not given: a known student keeps it, a new one needs it."""

    line: int
    external_id: str
    first_name: str | None
    last_name: str | None
    class_name: str | None
    level: str | None
    birth_date: date | None
    parents: tuple[ParentEntry, ...]


def decode(data: bytes) -> str | None:
    """The file's text: UTF-8 (a BOM dropped) if it is that, else Windows-1252; None for neither (or
    for what is no text at all)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if "\x00" in text else text
    return None


def delimiter_of(header_line: str) -> str:
    """``;`` or ``,``: the one the header line uses more (``;`` on a tie)."""
    return "," if header_line.count(",") > header_line.count(";") else ";"


def read_people_csv(data: bytes, today: date) -> tuple[list[StudentEntry], list[Problem], int]:
    """The student rows, every problem found, and how many data rows there were (blank ones not
    counted). TooLarge beyond 10 MB or 20,000 rows."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"at most {MAX_BYTES // (1024 * 1024)} MB")
    text = decode(data)
    if text is None:
        return (
            [],
            [Problem(1, "", "not_text", "the file is neither UTF-8 nor Windows-1252 text (save it as CSV)")],
            0,
        )
    if not text.strip():
        return [], [Problem(1, "", "empty_file", "the file is empty")], 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.split("\n", 1)[0]))
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
            if len(records) > MAX_ROWS + 1:
                raise TooLarge(f"at most {MAX_ROWS} rows")
    except csv.Error as err:
        return [], [Problem(len(records) + 1, "", "not_csv", f"not CSV: {err}")], 0
    columns, problems = _header(records[0])
    if problems:
        return [], problems, 0
    entries: list[StudentEntry] = []
    first_line: dict[str, int] = {}
    rows = 0
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank row: the spreadsheet shows it, it says nothing
        rows += 1
        entry = _row(line, record, columns, len(records[0]), today, problems)
        if entry is None:
            continue
        seen = first_line.setdefault(entry.external_id, line)
        if seen != line:
            problems.append(
                Problem(
                    line, "student_id", "duplicate_student_id", f"this student_id is on line {seen} already"
                )
            )
            continue
        entries.append(entry)
    if not rows:
        problems.append(Problem(2, "", "empty_file", "the file has a header but no student row"))
    return entries, problems, rows


def _header(record: list[str]) -> tuple[dict[str, int], list[Problem]]:
    """The known columns' positions (names trimmed, any case); problems for a repeated or missing one.
    Other columns are ignored (a school's software exports more)."""
    columns: dict[str, int] = {}
    problems = []
    for i, raw in enumerate(record):
        name = raw.strip().strip("\ufeff").lower()
        if name not in COLUMNS:
            continue
        if name in columns:
            problems.append(Problem(1, name, "duplicate_column", "this column is there twice"))
        columns[name] = i
    if "student_id" not in columns:
        problems.append(
            Problem(1, "student_id", "missing_column", "no student_id column (the delimiter is ; or ,)")
        )
    return columns, problems


def _row(
    line: int, record: list[str], columns: dict[str, int], width: int, today: date, problems: list[Problem]
) -> StudentEntry | None:
    """One data row (of a header ``width`` cells wide) checked; its problems added to ``problems``
    (None when it has any)."""
    found: list[Problem] = []

    def cell(name: str) -> str | None:
        i = columns.get(name)
        value = record[i].strip() if i is not None and i < len(record) else ""
        return value or None

    def checked(name: str, check: Callable[[str], Any]) -> Any:
        value = cell(name)
        if value is None:
            return None
        try:
            return check(value)
        except rules.BadValue as bad:
            found.append(Problem(line, name, bad.code, bad.message))
            return None

    if any(v.strip() for v in record[width:]):
        found.append(Problem(line, "", "too_many_values", "more values than the header has columns"))
    external_id = checked("student_id", rules.clean_external_id)
    if cell("student_id") is None:
        found.append(Problem(line, "student_id", "required", "required"))
    entry = dict(
        first_name=checked("first_name", rules.clean_name),
        last_name=checked("last_name", rules.clean_name),
        class_name=checked("class_name", rules.clean_class),
        level=checked("level", lambda v: rules.parse_level(v, french=True)),
        birth_date=checked("birth_date", lambda v: rules.parse_birth_date(v, today, day_first=True)),
    )
    parents = []
    for slot in PARENT_SLOTS:
        given = {f: cell(f"{slot}_{f}") for f in PARENT_FIELDS}
        if not any(given.values()):
            continue
        email = given["email"]
        if email is None:
            found.append(Problem(line, f"{slot}_email", "required", "a parent needs their e-mail"))
        elif not rules.looks_like_email(email):
            found.append(Problem(line, f"{slot}_email", "invalid_email", "not an e-mail address"))
        first = checked(f"{slot}_first_name", rules.clean_name)
        last = checked(f"{slot}_last_name", rules.clean_name)
        if email is not None:
            parents.append(ParentEntry(line, slot, email.lower(), first, last))
    if len(parents) == 2 and parents[0].email == parents[1].email:
        found.append(Problem(line, "parent2_email", "same_parent_twice", "parent2 has parent1's e-mail"))
    if found:
        problems.extend(found)
        return None
    assert external_id is not None
    return StudentEntry(line=line, external_id=external_id, parents=tuple(parents), **entry)
