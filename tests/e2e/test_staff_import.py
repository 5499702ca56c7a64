"""The People CSV (API.md "School back office", POST /api/v1/admin/imports/people) through the whole
suite: a dry run counts and writes nothing; the import creates the students and parents, links them
and mails each new parent their connection token (a known parent gets nothing); the same file again
changes and sends nothing; an updated file updates classes and names without doubling anyone; every
bad row is listed with its line and column and nothing is written; ';' and ',', UTF-8 with and
without BOM and Windows-1252, French and English level names, both date formats; and the bad
inputs (no file, an empty one, not CSV, too large, not staff)."""

from __future__ import annotations

import pytest

from tests.factories import (
    anonymous,
    expect,
    invite_parent,
    mails_to,
    new_family,
    new_school,
    unique,
    wait_for_token,
)

URL = "/admin/imports/people"
HEADER = [
    "student_id",
    "first_name",
    "last_name",
    "class_name",
    "level",
    "birth_date",
    "parent1_first_name",
    "parent1_last_name",
    "parent1_email",
    "parent2_first_name",
    "parent2_last_name",
    "parent2_email",
]
COUNT_KEYS = {
    "rows",
    "students_created",
    "students_updated",
    "parents_created",
    "parents_updated",
    "links_created",
}


def csv_file(rows, *, header=HEADER, delimiter=";", encoding="utf-8", bom=False) -> bytes:
    """A People CSV as a spreadsheet saves it (CRLF line ends); ``rows`` lists of cells."""
    text = "\r\n".join(delimiter.join(cells) for cells in [header, *rows]) + "\r\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def send(staff, data: bytes, *, dry_run: bool = False, name: str = "eleves.csv"):
    return staff.post(
        URL, params={"dry_run": "true"} if dry_run else None, files={"file": (name, data, "text/csv")}
    )


def counts(**given: int) -> dict[str, int]:
    return {k: 0 for k in COUNT_KEYS} | given


def students(staff, **params) -> dict[str, dict]:
    """The school's students by external id (GET /admin/students, every page)."""
    out: dict[str, dict] = {}
    cursor = None
    while True:
        page = expect(staff.get("/admin/students", params={**params, "limit": 200, "cursor": cursor})).json()
        out.update({s["external_id"] or s["id"]: s for s in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return out


def parents(staff) -> dict[str, dict]:
    """The school's parents by e-mail (GET /admin/parents, every page)."""
    out: dict[str, dict] = {}
    cursor = None
    while True:
        page = expect(staff.get("/admin/parents", params={"limit": 200, "cursor": cursor})).json()
        out.update({p["email"]: p for p in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return out


@pytest.fixture(scope="module")
def quiet_school(suite):
    """A school for the tests whose imports are refused (they write nothing to share)."""
    return new_school(suite)


def address(name: str) -> str:
    return f"{unique(name + '.')}@famille.example.test"


def test_dry_run_import_the_same_file_again_and_an_updated_file(suite):
    staff = new_school(suite)
    known = new_family(
        suite, staff, first_name="Jan", last_name="Peeters", children=[{"first_name": "Lotte"}]
    )
    anais, marc, karim = address("anais"), address("marc"), address("karim")
    v1 = [
        ["E1", "Émile", "Dupont-Évrard", "3A", "primaire", "14/03/2016", "Anaïs", "Dupont", anais, "Marc", "Évrard", marc],
        ["E2", "Zoé", "Dupont", "1B", "primary", "2018-09-02", "Anaïs", "Dupont", anais.upper(), "", "", ""],
        ["E3", "Noah", "D'Hondt", "2S1", "secondaire", "", "Karim", "El Amrani", karim, "Jan", "Peeters", known.email],
    ]  # fmt: skip
    first = csv_file(v1)
    expected = counts(rows=3, students_created=3, parents_created=3, links_created=5)

    mark = suite.bus_mark()
    dry = send(staff, first, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json() == expected
    assert set(students(staff)) == {known.children[0]["id"]}
    assert set(parents(staff)) == {known.email}
    suite.wait_until_settled(mark)
    assert all(mails_to(suite, a) == [] for a in (anais, marc, karim))  # a dry run sends nothing
    known_mails = len(mails_to(suite, known.email))

    made = send(staff, first)
    assert made.status_code == 201, made.text
    assert made.json() == expected
    found = students(staff)
    assert len(found) == 4
    e1 = found["E1"]
    assert (e1["first_name"], e1["last_name"], e1["class_name"], e1["level"], e1["birth_date"]) == (
        "Émile",
        "Dupont-Évrard",
        "3A",
        "primary",
        "2016-03-14",
    )
    assert found["E2"]["birth_date"] == "2018-09-02" and found["E3"]["level"] == "secondary"
    assert found["E3"]["birth_date"] is None
    by_mail = parents(staff)
    assert set(by_mail) == {anais, marc, karim, known.email}  # one Anaïs for two rows (e-mail case ignored)
    assert set(by_mail[anais]["student_ids"]) == {found["E1"]["id"], found["E2"]["id"]}
    assert by_mail[anais]["status"] == "invited" and by_mail[anais]["last_name"] == "Dupont"
    assert set(by_mail[known.email]["student_ids"]) == {known.children[0]["id"], found["E3"]["id"]}

    # every new parent gets their connection token, and can connect with it; the known one nothing
    tokens = {a: wait_for_token(suite, a) for a in (anais, marc, karim)}
    password = "Tournesol rouge sous la lune 9"
    session = expect(
        anonymous(suite).post(
            "/activation", json={"token": tokens[anais], "password": password, "password_confirm": password}
        )
    ).json()
    assert {(c["first_name"], c["class_name"]) for c in session["children"]} == {
        ("Émile", "3A"),
        ("Zoé", "1B"),
    }

    # the same file again changes nothing and sends nothing
    mark = suite.bus_mark()
    again = send(staff, first)
    assert again.status_code == 201 and again.json() == counts(rows=3)
    suite.wait_until_settled(mark)
    assert len(mails_to(suite, known.email)) == known_mails
    assert all(len(mails_to(suite, a)) == 1 for a in (anais, marc, karim))
    assert len(students(staff)) == 4 and len(parents(staff)) == 4

    # an updated file: a class, a parent's name, a new student with a new parent; empty cells keep
    lina = address("lina")
    v2 = [
        ["E1", "Émile", "Dupont-Évrard", "4A", "primaire", "14/03/2016", "Anaïs", "Dupont", anais, "Marc", "Évrard", marc],
        ["E2", "", "", "", "", "", "", "", anais, "", "", ""],
        ["E3", "Noah", "D'Hondt", "2S1", "secondaire", "", "Karim", "El Amrani-Benali", karim, "", "", known.email],
        ["E4", "Inès", "Martin", "1B", "primaire", "01/01/2019", "Lina", "Martin", lina, "", "", ""],
    ]  # fmt: skip
    mark = suite.bus_mark()
    updated = send(staff, csv_file(v2), name="eleves-juin.csv")
    assert updated.status_code == 201, updated.text
    assert updated.json() == counts(
        rows=4, students_created=1, students_updated=1, parents_created=1, parents_updated=1, links_created=1
    )
    found, by_mail = students(staff), parents(staff)
    assert len(found) == 5 and len(by_mail) == 5  # nobody doubled
    assert found["E1"]["class_name"] == "4A"
    assert (found["E2"]["first_name"], found["E2"]["class_name"]) == ("Zoé", "1B")
    assert by_mail[karim]["last_name"] == "El Amrani-Benali"
    assert set(by_mail[marc]["student_ids"]) == {found["E1"]["id"]}  # links are only added
    assert by_mail[lina]["student_ids"] == [found["E4"]["id"]]
    wait_for_token(suite, lina)
    suite.wait_until_settled(mark)
    assert len(mails_to(suite, karim)) == 1 and len(mails_to(suite, known.email)) == known_mails


def test_a_parent_added_to_a_known_unchanged_student(suite):
    """A second parent for a student whose own cells do not change (auth once failed this, a 500)."""
    staff = new_school(suite)
    first, second = address("premier"), address("second")
    row = ["K1", "Jade", "Lambert", "2A", "primaire", "", "Paul", "Lambert", first]
    expect(send(staff, csv_file([[*row, "", "", ""]])), 201)
    added = send(staff, csv_file([[*row, "Rita", "Lambert", second]]))
    assert added.status_code == 201, added.text
    assert added.json() == counts(rows=1, parents_created=1, links_created=1)
    assert parents(staff)[second]["student_ids"] == [students(staff)["K1"]["id"]]


def test_every_bad_row_is_listed_with_its_line_and_column_and_nothing_is_written(suite):
    staff = new_school(suite)
    other = new_school(suite)
    strangers_parent = invite_parent(suite, other)
    managers_email = expect(staff.get("/admin/staff")).json()["items"][0]["email"]
    ana = address("ana")
    rows = [
        ["G1", "Ana", "Peeters", "3A", "primaire", "", "Sofie", "Peeters", ana, "", "", ""],  # line 2: good
        ["B1", "Bo", "Peeters", "3A", "tertiaire", "", "", "", "", "", "", ""],
        ["B2", "Cé", "Peeters", "3A", "primaire", "31/02/2016", "", "", "", "", "", ""],
        ["", "Dé", "Peeters", "3A", "primaire", "", "", "", "", "", "", ""],
        ["G1", "Ana", "Peeters", "3A", "primaire", "", "", "", "", "", "", ""],
        ["B3", "Eva", "Peeters", "3A", "primaire", "", "Tom", "Peeters", "not-an-email", "", "", ""],
        ["B4", "Fé", "Peeters", "3A", "primaire", "", "Tom", "Peeters", "tom@x.example.test", "Tom", "Peeters", "TOM@x.example.test"],
        ["B5", "Gil", "Peeters", "3A", "primaire", "", "", "", "", "", "", "", "one too many"],
        ["B6", "", "Peeters", "3A", "primaire", "", "", "", "", "", "", ""],
        ["B7", "Hugo", "Peeters", "3A", "primaire", "", "Claire", "Direction", managers_email, "", "", ""],
        ["B8", "Iris", "Peeters", "3A", "primaire", "", "Sophie", "Ailleurs", strangers_parent["email"], "", "", ""],
        ["B9", "Jo", "Peeters", "3A", "primaire", "", "Sonja", "Peeters", ana, "", "", ""],
        ["B10", "Ka<script>", "Peeters", "3A", "primaire", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    data = csv_file(rows)
    expected = {
        (3, "level", "invalid_level"),
        (4, "birth_date", "invalid_date"),
        (5, "student_id", "required"),
        (6, "student_id", "duplicate_student_id"),
        (7, "parent1_email", "invalid_email"),
        (8, "parent2_email", "same_parent_twice"),
        (9, "", "too_many_values"),
        (10, "first_name", "required"),
        (11, "parent1_email", "email_taken"),
        (12, "parent1_email", "email_taken"),
        (13, "parent1_first_name", "conflicting_parent"),
        (14, "first_name", "invalid_name"),
    }
    for dry_run in (True, False):
        resp = send(staff, data, dry_run=dry_run)
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert error["code"] == "invalid_import"
        found = error["fields"]["rows"]
        assert all({"line", "column", "message"} <= set(r) and r["message"] for r in found)
        assert {(r["line"], r["column"], r["code"]) for r in found} == expected
        assert [r["line"] for r in found] == sorted(r["line"] for r in found)
        assert 2 not in {r["line"] for r in found}
    # nothing written: not even the good row
    assert students(staff) == {} and parents(staff) == {}
    assert mails_to(suite, ana) == []


def test_delimiters_encodings_level_names_and_date_formats(suite):
    staff = new_school(suite)
    upper = [h.upper() if i % 2 else h.title() for i, h in enumerate(HEADER)]  # header names any case
    windows = csv_file(
        [
            ["W1", "Éloïse", "Lefèvre", "5A", "primaire", "03/04/2015", "Françoise", "Lefèvre", address("francoise"), "", "", ""],
            ["W2", "Zoë", "Œuvray", "6B", "secondaire", "31/12/2012", "", "", "", "", "", ""],
        ],
        header=upper,
        delimiter=",",
        encoding="cp1252",
    )  # fmt: skip
    made = send(staff, windows, name="export-windows.csv")
    assert made.status_code == 201, made.text
    assert made.json() == counts(rows=2, students_created=2, parents_created=1, links_created=1)

    bom = csv_file(
        [
            ["U1", "Maëlle", "N'Diaye", "1A", "primary", "2017-05-06", "", "", "", "", "", "", "ignored"],
            [],  # a blank row is skipped
            ["U2", "Léon", "Van den Broeck", "2A", "secondary", "2011-02-28", "", "", "", "", "", "", ""],
        ],
        header=[*HEADER, "notes"],
        bom=True,
    )
    made = send(staff, bom, name="export-utf8.csv")
    assert made.status_code == 201, made.text
    assert made.json() == counts(rows=2, students_created=2)

    comma_bom = csv_file(
        [["C1", "Chloé", "Dubois", "3C", "Primaire", "1/9/2016", "", "", "", "", "", ""]],
        delimiter=",",
        bom=True,
    )
    made = send(staff, comma_bom)
    assert made.status_code == 201, made.text

    found = students(staff)
    assert (found["W1"]["first_name"], found["W1"]["last_name"], found["W1"]["birth_date"]) == (
        "Éloïse",
        "Lefèvre",
        "2015-04-03",
    )
    assert (found["W2"]["first_name"], found["W2"]["last_name"], found["W2"]["level"]) == (
        "Zoë",
        "Œuvray",
        "secondary",
    )
    assert (found["U1"]["last_name"], found["U1"]["level"], found["U1"]["birth_date"]) == (
        "N'Diaye",
        "primary",
        "2017-05-06",
    )
    assert found["U2"]["last_name"] == "Van den Broeck" and found["U2"]["level"] == "secondary"
    assert found["C1"]["first_name"] == "Chloé" and found["C1"]["birth_date"] == "2016-09-01"
    assert [p["first_name"] for p in parents(staff).values()] == ["Françoise"]


def test_the_pages_example_file_is_a_good_people_csv(suite):
    staff = new_school(suite)
    example = expect(staff.page("/gestion/import/exemple.csv"))
    assert example.headers["Content-Type"].startswith("text/csv")
    resp = send(staff, example.content, dry_run=True)
    assert resp.status_code == 200, resp.text
    assert resp.json() == counts(rows=3, students_created=3, parents_created=4, links_created=5)


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        (b"student_id;first_name\r\n", "empty_file", (2, "")),
        (b"first_name;last_name\r\nAna;Peeters\r\n", "missing_column", (1, "student_id")),
        (b"student_id;first_name;student_id\r\nA;B;C\r\n", "duplicate_column", (1, "student_id")),
        (b"\x00\x01\x02\xff\xfe binary", "not_text", (1, "")),
        (b"   \r\n\r\n", "empty_file", (1, "")),
    ],
    ids=["header only", "no student_id", "a column twice", "not text", "blank"],
)
def test_a_file_that_is_no_people_csv_is_invalid_import(quiet_school, data, code, where):
    staff = quiet_school
    resp = send(staff, data)
    assert resp.status_code == 400, resp.text
    rows = resp.json()["error"]["fields"]["rows"]
    assert resp.json()["error"]["code"] == "invalid_import"
    assert [(r["line"], r["column"], r["code"]) for r in rows] == [(*where, code)]


def test_bad_requests(quiet_school):
    staff = quiet_school
    none = staff.post(URL, data={"nothing": "here"})
    assert none.status_code == 400 and none.json()["error"]["code"] == "invalid_request"
    assert "file" in none.json()["error"]["fields"]
    wrong_field = staff.post(URL, files={"csv": ("x.csv", b"student_id\r\nA\r\n")})
    assert wrong_field.status_code == 400 and wrong_field.json()["error"]["fields"] == {"file": "required"}
    empty = send(staff, b"")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_request"
    maybe = staff.post(URL, params={"dry_run": "perhaps"}, files={"file": ("x.csv", b"student_id\r\nA\r\n")})
    assert maybe.status_code == 400 and "dry_run" in maybe.json()["error"]["fields"]
    # over auth's 10 MB: refused before anything is read
    row = "X{};Ana;Peeters;3A;primaire\r\n"
    big = (
        "student_id;first_name;last_name;class_name;level\r\n"
        + "".join(row.format(i) for i in range(400_000))
    ).encode()
    assert len(big) > 10 * 1024 * 1024
    too_large = send(staff, big)
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "too_large"
    assert students(staff) == {}


def test_only_the_schools_staff_may_import(suite, quiet_school):
    staff = quiet_school
    family = new_family(suite, staff)
    data = csv_file([["P1", "Ana", "Peeters", "3A", "primaire", "", "", "", "", "", "", ""]])
    assert family.post(URL, files={"file": ("x.csv", data)}).status_code == 403
    assert anonymous(suite).post(URL, files={"file": ("x.csv", data)}).status_code == 401
    assert "P1" not in students(staff)
