"""X-Request-Id: a safe caller id is kept; anything else (non-ASCII, control characters, spaces, too
long) is replaced by a new id instead of failing the request, and that id is the one passed to every
service call and written in every log line (API.md, conventions)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from kit.errors import Unavailable
from kit.logs import JsonFormatter, request_id_var

NEW_ID = re.compile(r"[0-9a-f]{32}")
UNSAFE = ["é", "a\x01b", "id\x7f", "a b", "ab/cd", "x" * 101, "日本", "abc;def"]


@pytest.fixture
def seen_ids(fakes):
    """The request id each ResolveSession call carried, as the service reads it."""
    seen: list[str] = []
    resolve = fakes.handlers[("auth", "ResolveSession")]

    def recording(req):
        seen.append(request_id_var.get())
        return resolve(req)

    fakes.on("auth", "ResolveSession", recording)
    return seen


@pytest.mark.parametrize("sent", UNSAFE)
def test_an_unsafe_request_id_is_replaced_and_the_new_one_reaches_the_service(client, fakes, seen_ids, sent):
    parent = fakes.parent()
    r = client.get("/api/v1/children", headers={**parent.bearer, "X-Request-Id": sent})
    assert r.status_code == 200, r.get_data(as_text=True)
    rid = r.headers["X-Request-Id"]
    assert NEW_ID.fullmatch(rid)
    assert seen_ids == [rid]


@pytest.mark.parametrize("sent", UNSAFE)
def test_an_unsafe_request_id_does_not_break_a_page(client, fakes, seen_ids, sent):
    parent = fakes.parent()
    client.set_cookie("cartable_session", parent.token)
    r = client.get("/", headers={"X-Request-Id": sent})
    assert r.status_code in (200, 302)
    assert NEW_ID.fullmatch(r.headers["X-Request-Id"])
    assert seen_ids == [r.headers["X-Request-Id"]]


@pytest.mark.parametrize("sent", ["abc-123", "A.b_c-9", "x" * 100])
def test_a_safe_request_id_is_kept_and_passed_on(client, fakes, seen_ids, sent):
    parent = fakes.parent()
    r = client.get("/api/v1/children", headers={**parent.bearer, "X-Request-Id": f" {sent} "})
    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == sent
    assert seen_ids == [sent]


def test_no_request_id_gets_a_new_one(client):
    r = client.get("/healthz")
    assert NEW_ID.fullmatch(r.headers["X-Request-Id"])


class _Lines(logging.Handler):
    """Formats each record as it is emitted (the request id is read from the context then)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_the_new_request_id_is_in_the_gateways_log_lines(client, fakes):
    def down(_req):
        raise Unavailable("database down")

    fakes.on("auth", "SignIn", down)
    lines = _Lines()
    logger = logging.getLogger("gateway")
    logger.addHandler(lines)
    try:
        r = client.post(
            "/api/v1/session", json={"username": "u", "password": "p"}, headers={"X-Request-Id": "bad\x02id"}
        )
    finally:
        logger.removeHandler(lines)
    assert r.status_code == 503
    rid = r.headers["X-Request-Id"]
    assert NEW_ID.fullmatch(rid)
    assert lines.lines
    assert all(line["request_id"] == rid for line in lines.lines)
    assert len(fakes.requests("auth", "SignIn")) == 1
