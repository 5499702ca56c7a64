"""The People CSV pages (/gestion/import) in-process against a fake auth: the form with the columns
and the example file, a dry run that lists every bad row (line, column, reason in the reader's
words) or says what would change, the confirmation that imports only the file checked (picked
again, compared by SHA-256), the summary; and every French string of these pages in Dutch and
English."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from cartable.auth.v1 import auth_pb2 as pb
from gateway.pages.imports import EXAMPLE_ROWS, REASONS, reason
from gateway.tests.conftest import form_fields
from gateway.tests.test_account_translations import KEYWORDS, _translated
from kit.errors import TooLarge

GOOD = b"student_id;first_name;last_name;class_name;level\r\nA1;Emile;Peeters;3A;primaire\r\n"
FIXED = GOOD.replace(b"Emile", b"Emil")
COUNTS = dict(rows=1, students_created=1, parents_created=2, links_created=2)
PROBLEMS = [
    pb.ImportProblem(line=2, column="level", code="invalid_level", message="primary or secondary"),
    pb.ImportProblem(line=4, column="", code="too_many_values", message="more values than columns"),
    pb.ImportProblem(
        line=5,
        column="student_id",
        code="duplicate_student_id",
        message="this student_id is on line 3 already",
    ),
]


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def staff(client, fakes):
    bad_files = set()

    def answer(req):
        if req.csv in bad_files:
            return pb.ImportPeopleResponse(rows=4, problems=PROBLEMS, dry_run=req.dry_run)
        return pb.ImportPeopleResponse(**COUNTS, dry_run=req.dry_run)

    fakes.on("auth", "ImportPeople", answer)
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    signed.bad_files = bad_files  # type: ignore[attr-defined]
    return signed


def _csrf(client) -> str:
    return form_fields(text(client.get("/gestion/import")), "/gestion/import")["csrf_token"]


def _post(client, path: str, data: bytes | None, name: str = "eleves.csv"):
    form = {"csrf_token": _csrf(client)}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)  # type: ignore[assignment]
    return client.post(path, data=form, content_type="multipart/form-data")


def test_the_page_explains_the_columns_and_offers_an_example(client, staff):
    page = text(client.get("/gestion/import"))
    for column in [row for row in EXAMPLE_ROWS[0]]:
        assert f"<code>{column}</code>" in page
    assert 'href="/gestion/import/exemple.csv"' in page
    assert 'enctype="multipart/form-data"' in page and 'data-progress="check-progress"' in page
    assert "import.js" in page and 'aria-live="polite"' in page and "Vérification en cours…" in page
    assert '<a href="/gestion/import" aria-current="page">Importer</a>' in page  # the staff navigation

    example = client.get("/gestion/import/exemple.csv")
    assert example.status_code == 200 and example.mimetype == "text/csv"
    assert "attachment" in example.headers["Content-Disposition"]
    body = example.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body[3:].decode("utf-8").splitlines()
    assert lines[0].split(";") == EXAMPLE_ROWS[0] and len(lines) == len(EXAMPLE_ROWS)


def test_a_file_with_bad_rows_lists_each_of_them_and_offers_no_import(client, fakes, staff):
    staff.bad_files.add(GOOD)
    resp = _post(client, "/gestion/import", GOOD)
    assert resp.status_code == 400
    page = text(resp)
    assert "Fichier refusé : 3 problèmes" in page and "Rien n'a été importé." in page
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    assert len(rows) == 3
    assert "2</td>" in rows[0] and "<code>level</code>" in rows[0] and "Niveau inconnu" in rows[0]
    assert "toute la ligne" in rows[1]
    assert "(ligne 3)" in rows[2]
    assert "/gestion/import/confirmer" not in page
    assert fakes.requests("auth", "ImportPeople")[-1].dry_run is True


def test_a_good_file_is_checked_then_picked_again_and_imported(client, fakes, staff):
    resp = _post(client, "/gestion/import", GOOD)
    assert resp.status_code == 200
    page = text(resp)
    assert "Fichier vérifié : eleves.csv" in page
    assert "1 élève créé" in page and "2 parents créés" in page and "2 liens entre un parent" in page
    assert 'action="/gestion/import/confirmer"' in page and "Import en cours…" in page
    assert [r.dry_run for r in fakes.requests("auth", "ImportPeople")] == [True]

    # the confirmation without the file asks for it again; nothing imported
    again = _post(client, "/gestion/import/confirmer", None)
    assert again.status_code == 400 and "Choisissez à nouveau le fichier vérifié" in text(again)
    assert 'aria-invalid="true"' in text(again)

    done = _post(client, "/gestion/import/confirmer", GOOD)
    assert done.status_code == 303 and done.headers["Location"].endswith("/gestion/import/bilan")
    sent = fakes.requests("auth", "ImportPeople")[-1]
    assert sent.dry_run is False and sent.csv == GOOD and sent.filename == "eleves.csv"
    summary = text(client.get("/gestion/import/bilan"))
    assert "Import terminé" in summary and "Fichier importé : eleves.csv" in summary
    assert "1 élève créé" in summary

    # the checked file is forgotten: a second confirmation imports nothing
    twice = _post(client, "/gestion/import/confirmer", GOOD)
    assert twice.status_code == 303 and twice.headers["Location"].endswith("/gestion/import")
    assert len(fakes.requests("auth", "ImportPeople")) == 2


def test_another_file_at_the_confirmation_is_checked_not_imported(client, fakes, staff):
    _post(client, "/gestion/import", GOOD)
    resp = _post(client, "/gestion/import/confirmer", FIXED, name="autre.csv")
    assert resp.status_code == 200
    page = text(resp)
    assert "n'est pas celui qui a été vérifié" in page and "Fichier vérifié : autre.csv" in page
    assert [r.dry_run for r in fakes.requests("auth", "ImportPeople")] == [True, True]


def test_a_file_refused_at_the_import_itself_shows_its_rows(client, fakes, staff):
    _post(client, "/gestion/import", GOOD)
    staff.bad_files.add(GOOD)  # the school changed meanwhile (an address taken...)
    resp = _post(client, "/gestion/import/confirmer", GOOD)
    assert resp.status_code == 400 and "Fichier refusé : 3 problèmes" in text(resp)


def test_a_confirmation_without_a_dry_run_imports_nothing(client, fakes, staff):
    resp = _post(client, "/gestion/import/confirmer", GOOD)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/import")
    assert "Vérifiez d'abord le fichier" in text(client.get("/gestion/import"))
    assert fakes.requests("auth", "ImportPeople") == []
    assert client.get("/gestion/import/bilan").status_code == 303


def test_no_file_empty_file_and_too_large(client, fakes, staff):
    assert "Choisissez le fichier CSV" in text(_post(client, "/gestion/import", None))
    assert _post(client, "/gestion/import", b"").status_code == 400
    assert fakes.requests("auth", "ImportPeople") == []

    def refuse(_req):
        raise TooLarge("too large", code="too_large")

    fakes.on("auth", "ImportPeople", refuse)
    resp = _post(client, "/gestion/import", GOOD)
    assert resp.status_code == 413 and "trop volumineux" in text(resp)


def test_a_file_that_changes_nothing_has_nothing_to_confirm(client, fakes, staff):
    fakes.on("auth", "ImportPeople", pb.ImportPeopleResponse(rows=1, dry_run=True))
    page = text(_post(client, "/gestion/import", GOOD))
    assert "il ne change rien" in page and "/gestion/import/confirmer" not in page


def test_parents_and_strangers_cannot_open_it(client, fakes, staff):
    client.set_cookie("cartable_session", fakes.parent().token)
    assert client.get("/gestion/import").status_code == 403
    assert client.get("/gestion/import/exemple.csv").status_code == 403
    client.delete_cookie("cartable_session")
    assert client.get("/gestion/import").status_code in (302, 303)


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_is_said(code):
    assert reason(code, "whatever") == str(REASONS[code])


def test_reasons_keep_what_auths_message_names():
    assert reason("required", "a new student needs their first_name") == "Obligatoire pour un nouvel élève."
    assert reason("too_long", "at most 100 characters").endswith("100 caractères au plus.")
    assert reason("conflicting_parent", "line 12 gives this e-mail another last_name").endswith("(ligne 12)")
    assert reason("some_new_code", "as auth says it") == "as auth says it"


def test_the_pages_speak_dutch_and_english(client, staff):
    nl = text(client.get("/gestion/import?lang=nl"))
    assert "Importeren" in nl and "Vérifier le fichier" not in nl
    en = text(client.get("/gestion/import?lang=en"))
    assert "Import" in en and "Vérifier le fichier" not in en


GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    GATEWAY / "pages" / "imports.py",
    *sorted((GATEWAY / "templates" / "imports").glob("*.html")),
]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_import_pages_is_translated(lang):
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 40
    translated = _translated(lang)
    assert sorted(m for m in found if m not in translated) == []
    assert "Importer" in translated  # the navigation's label
