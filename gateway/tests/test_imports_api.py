"""POST /api/v1/admin/imports/people (API.md "People CSV") in-process against a fake auth: what the
gateway sends (the file's bytes, dry_run, its name), the counts of a dry run (200) and of an import
(201), every bad row as 400 invalid_import fields.rows, a missing or empty file, a bad dry_run, a
file too large (Flask's limit and auth's), staff only."""

from __future__ import annotations

import io

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import TooLarge

URL = "/api/v1/admin/imports/people"
CSV = "student_id;first_name;last_name;class_name;level\r\nA1;Émile;Peeters;3A;primaire\r\n".encode()
COUNTS = {
    "rows": 1,
    "students_created": 1,
    "students_updated": 0,
    "parents_created": 2,
    "parents_updated": 0,
    "links_created": 2,
}


@pytest.fixture
def staff(fakes):
    fakes.on(
        "auth",
        "ImportPeople",
        lambda req: pb.ImportPeopleResponse(**COUNTS, dry_run=req.dry_run),
    )
    return fakes.staff()


def _send(client, who, data: bytes | None = CSV, query: str = "", name: str = "eleves.csv"):
    form = {} if data is None else {"file": (io.BytesIO(data), name)}
    return client.post(URL + query, data=form, headers=who.bearer, content_type="multipart/form-data")


def test_a_dry_run_answers_the_counts_with_200_and_sends_the_file_as_it_is(client, fakes, staff):
    resp = _send(client, staff, query="?dry_run=true")
    assert resp.status_code == 200 and resp.get_json() == COUNTS
    sent = fakes.requests("auth", "ImportPeople")[-1]
    assert sent.csv == CSV and sent.dry_run is True and sent.filename == "eleves.csv"


@pytest.mark.parametrize("query", ["", "?dry_run=false", "?dry_run=0"])
def test_an_import_answers_201(client, fakes, staff, query):
    resp = _send(client, staff, query=query)
    assert resp.status_code == 201 and resp.get_json() == COUNTS
    assert fakes.requests("auth", "ImportPeople")[-1].dry_run is False


def test_every_bad_row_is_a_400_invalid_import(client, fakes, staff):
    problems = [
        pb.ImportProblem(line=3, column="level", code="invalid_level", message="primary or secondary"),
        pb.ImportProblem(line=7, column="", code="too_many_values", message="more values than columns"),
    ]
    fakes.on("auth", "ImportPeople", pb.ImportPeopleResponse(rows=9, problems=problems))
    resp = _send(client, staff)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_import" and "nothing was imported" in error["message"]
    assert error["fields"] == {
        "rows": [
            {"line": 3, "column": "level", "message": "primary or secondary", "code": "invalid_level"},
            {"line": 7, "column": "", "message": "more values than columns", "code": "too_many_values"},
        ]
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [(None, "file"), (b"", "file")],
    ids=["no file", "empty file"],
)
def test_no_file_or_an_empty_one_is_invalid_request(client, fakes, staff, data, field):
    resp = _send(client, staff, data)
    assert resp.status_code == 400
    assert (
        resp.get_json()["error"]["code"] == "invalid_request" and field in resp.get_json()["error"]["fields"]
    )
    assert fakes.requests("auth", "ImportPeople") == []


def test_a_json_body_is_no_file(client, fakes, staff):
    resp = client.post(URL, json={"file": "a;b"}, headers=staff.bearer)
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {"file": "required"}


def test_a_bad_dry_run_value_is_refused(client, fakes, staff):
    resp = _send(client, staff, query="?dry_run=maybe")
    assert resp.status_code == 400 and "dry_run" in resp.get_json()["error"]["fields"]
    assert fakes.requests("auth", "ImportPeople") == []


def test_too_large_for_auth_is_413(client, fakes, staff):
    def refuse(_req):
        raise TooLarge("the file is too large (at most 20000 rows)", code="too_large")

    fakes.on("auth", "ImportPeople", refuse)
    resp = _send(client, staff)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"


def test_too_large_for_the_gateway_is_413_without_calling_auth(app, client, fakes, staff):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = _send(client, staff, CSV * 50)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    assert fakes.requests("auth", "ImportPeople") == []


def test_staff_only(client, fakes, staff):
    parent = fakes.parent()
    assert _send(client, parent).status_code == 403
    assert client.post(URL, data={"file": (io.BytesIO(CSV), "x.csv")}).status_code == 401
    assert fakes.requests("auth", "ImportPeople") == []


def test_a_cookie_caller_needs_the_csrf_header(client, fakes, staff):
    client.set_cookie("cartable_session", staff.token)
    resp = client.post(URL, data={"file": (io.BytesIO(CSV), "x.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    ok = client.post(
        URL,
        data={"file": (io.BytesIO(CSV), "x.csv")},
        headers={"X-CSRF-Token": staff.csrf},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 201


def test_the_openapi_document_describes_the_import(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/admin/imports/people"]["post"]
    assert set(op["responses"]) >= {"200", "201", "400", "413"}
    assert "multipart/form-data" in op["requestBody"]["content"]
