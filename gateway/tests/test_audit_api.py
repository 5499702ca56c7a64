"""The school's audit log through the JSON API (API.md ``GET /api/v1/admin/audit``), in-process against
a fake auth: the contract's shape, paging with auth's cursor, the limit's bounds, auth's refusals
passed through, staff only, read only, and documented once in the OpenAPI document."""

from __future__ import annotations

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import Forbidden, InvalidRequest

ENTRY_KEYS = {"id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "detail"}


def entry(i: int, action: str = "finance.invoice.created", **kw) -> pb.AuditEntry:
    values = {
        "id": f"e-{i}",
        "at": f"2026-03-{10 + i:02d}T09:{i:02d}:00+00:00",
        "actor_id": "st-1",
        "actor_name": "Claire Direction",
        "action": action,
        "object_type": "invoice",
        "object_id": f"inv-{i}",
        "detail": f"F-2026-{i:04d} Classe verte, 120,00 €, student s-1",
        **kw,
    }
    return pb.AuditEntry(**values)


# newest first, as auth answers
ENTRIES = [entry(i) for i in range(9, 0, -1)]


def paged(req: pb.ListAuditEntriesRequest) -> pb.ListAuditEntriesResponse:
    """A fake auth paging ENTRIES with a cursor that is the index to start from."""
    if req.cursor and not req.cursor.startswith("at-"):
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
    start = int(req.cursor[3:]) if req.cursor else 0
    size = req.limit or 50
    page = ENTRIES[start : start + size]
    more = start + size < len(ENTRIES)
    return pb.ListAuditEntriesResponse(entries=page, next_cursor=f"at-{start + size}" if more else "")


@pytest.fixture
def staff(fakes):
    fakes.on("auth", "ListAuditEntries", paged)
    return fakes.staff()


def test_the_log_has_the_contract_shape(client, fakes, staff):
    resp = client.get("/api/v1/admin/audit", headers=staff.bearer)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert [set(e) for e in body["items"]] == [ENTRY_KEYS] * 9
    assert body["items"][0] == {
        "id": "e-9",
        "at": "2026-03-19T09:09:00+00:00",
        "actor_id": "st-1",
        "actor_name": "Claire Direction",
        "action": "finance.invoice.created",
        "object_type": "invoice",
        "object_id": "inv-9",
        "detail": "F-2026-0009 Classe verte, 120,00 €, student s-1",
    }
    # auth's order is kept: newest first
    assert [e["id"] for e in body["items"]] == [f"e-{i}" for i in range(9, 0, -1)]
    # 50 unless asked, and no cursor on the first page
    assert [(r.limit, r.cursor) for r in fakes.requests("auth", "ListAuditEntries")] == [(50, "")]


def test_an_entry_of_an_operators_command_has_an_empty_actor(client, fakes, staff):
    fakes.on(
        "auth",
        "ListAuditEntries",
        pb.ListAuditEntriesResponse(
            entries=[entry(1, "auth.staff.created", actor_id="", actor_name="", object_type="account")]
        ),
    )
    item = client.get("/api/v1/admin/audit", headers=staff.bearer).get_json()["items"][0]
    assert item["actor_id"] == "" and item["actor_name"] == "" and item["action"] == "auth.staff.created"


def test_paging_follows_auths_cursor_to_the_last_page(client, fakes, staff):
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/admin/audit?limit=4" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=staff.bearer).get_json()
        pages += 1
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [e.id for e in ENTRIES]
    assert [(r.limit, r.cursor) for r in fakes.requests("auth", "ListAuditEntries")] == [
        (4, ""),
        (4, "at-4"),
        (4, "at-8"),
    ]


@pytest.mark.parametrize("limit", ["1", "200", " 7"])
def test_a_limit_from_1_to_200_is_passed_on(client, fakes, staff, limit):
    assert client.get(f"/api/v1/admin/audit?limit={limit}", headers=staff.bearer).status_code == 200
    assert fakes.requests("auth", "ListAuditEntries")[0].limit == int(limit)


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "1.5", "1e2"])
def test_a_bad_limit_is_400_with_its_field_and_auth_is_not_asked(client, fakes, staff, limit):
    resp = client.get(f"/api/v1/admin/audit?limit={limit}", headers=staff.bearer)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_request" and err["fields"] == {"limit": "1 to 200"}
    assert fakes.requests("auth", "ListAuditEntries") == []


def test_a_bad_cursor_is_auths_400_with_its_field(client, fakes, staff):
    resp = client.get("/api/v1/admin/audit?cursor=not-a-cursor", headers=staff.bearer)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_request" and err["fields"] == {"cursor": "use next_cursor as given"}


def test_an_absurdly_long_cursor_is_refused_before_it_travels(client, fakes, staff):
    resp = client.get("/api/v1/admin/audit?cursor=" + "a" * 500, headers=staff.bearer)
    assert resp.status_code == 400 and "cursor" in resp.get_json()["error"]["fields"]
    assert fakes.requests("auth", "ListAuditEntries") == []


def test_a_parent_gets_403_and_auth_is_not_asked(client, fakes, staff):
    parent = fakes.parent()
    resp = client.get("/api/v1/admin/audit", headers=parent.bearer)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert fakes.requests("auth", "ListAuditEntries") == []


def test_without_a_session_it_is_401(client, fakes, staff):
    resp = client.get("/api/v1/admin/audit")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_auths_own_refusal_is_passed_through(client, fakes, staff):
    def refuse(_req):
        raise Forbidden("this is for the school's staff")

    fakes.on("auth", "ListAuditEntries", refuse)
    assert client.get("/api/v1/admin/audit", headers=staff.bearer).status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_cannot_be_written_through_the_api(client, fakes, staff, method):
    for path in ("/api/v1/admin/audit", "/api/v1/admin/audit/e-1"):
        resp = getattr(client, method)(path, headers=staff.bearer, json={"detail": "rewritten"})
        assert resp.status_code in (404, 405), (method, path, resp.status_code)
    assert getattr(client, method)("/api/v1/admin/audit", headers=staff.bearer).status_code == 405


def test_the_route_is_documented_once_with_its_entry_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/admin/audit"]
    assert set(op) == {"get"}
    limit = next(p for p in op["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert set(op["get"]["responses"]) == {"200", "400", "401", "403", "503"}
    assert set(spec["components"]["schemas"]["AuditEntry"]["required"]) == ENTRY_KEYS
