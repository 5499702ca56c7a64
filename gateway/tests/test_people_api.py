"""The school's people through the JSON API (API.md "School back office": parents and staff), in-process
against a fake auth: the parents' list (q, status, limit and auth's cursor passed on), one parent, a
parent's names and e-mail changed (PATCH), disabling and enabling, ending sessions, the staff list and
a colleague's actions, and auth's refusals."""

from __future__ import annotations

import unicodedata

import pytest

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound

PARENT_KEYS = {"id", "first_name", "last_name", "email", "username", "student_ids", "status"}
STAFF_KEYS = {"id", "first_name", "last_name", "email", "username", "status"}


def parent(i: int, first: str, last: str, status: str = "active", email: str = "") -> pb.ParentContact:
    return pb.ParentContact(
        id=f"p-{i}",
        first_name=first,
        last_name=last,
        display_name=f"{first} {last}",
        email=email or f"{first.lower()}.{last.lower()}@example.test",
        username=f"{first.lower()}.{last.lower()}",
        student_ids=[f"s-{i}"],
        status=status,
        language="fr",
    )


def _copy(p: pb.ParentContact) -> pb.ParentContact:
    out = pb.ParentContact()
    out.CopyFrom(p)
    return out


PARENTS = [
    parent(1, "Éloïse", "Dubois"),
    parent(2, "Marc", "Dubois-Léger", "invited"),
    parent(3, "Fatima", "El Amrani", "disabled", email="fatima@MAIL.example"),
    parent(4, "Jan", "Peeters"),
    parent(5, "Sofie", "Van den Broeck", "invited"),
]
COLLEAGUE = pb.StaffMember(
    id="st-2",
    first_name="Luc",
    last_name="Secrétariat",
    email="luc@school.test",
    username="luc",
    status="active",
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("-", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fake_parents(fakes, parents, children=None) -> None:
    """auth's ListParents (q in the names either way round or the e-mail; status; pages of ``limit``
    from ``cursor``, 50 when searching or paging, else everything), GetParent and UpdateParent over
    ``parents`` (a list, changed in place); ``children``: the students by id, for GetParent."""

    def listed(req):
        found = [p for p in parents if not req.status or p.status == req.status]
        term = _fold(req.q)
        if term:
            keys = {
                p.id: _fold(f"{p.first_name} {p.last_name}|{p.last_name} {p.first_name}|{p.email}")
                for p in found
            }
            found = [p for p in found if term in keys[p.id]]
        start = 0
        if req.cursor:
            if not req.cursor.startswith("after-"):
                raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
            start = int(req.cursor.removeprefix("after-"))
        size = req.limit or (50 if req.q or req.cursor else len(found))
        page = found[start : start + size]
        more = start + size < len(found)
        return pb.ListParentsResponse(parents=page, next_cursor=f"after-{start + size}" if more else "")

    def one(parent_id):
        found = next((p for p in parents if p.id == parent_id), None)
        if found is None:
            raise NotFound("no such parent")
        return found

    def got(req):
        p = one(req.parent_id)
        kids = [children[i] for i in p.student_ids if children and i in children]
        return pb.GetParentResponse(parent=p, children=kids)

    def updated(req):
        p = one(req.parent_id)
        for name in ("first_name", "last_name", "email", "national_number"):
            if req.HasField(name):
                setattr(p, name, getattr(req, name).lower() if name == "email" else getattr(req, name))
        return pb.UpdateParentResponse(parent=p)

    fakes.on("auth", "ListParents", listed)
    fakes.on("auth", "GetParent", got)
    fakes.on("auth", "UpdateParent", updated)


@pytest.fixture
def staff(fakes):
    fake_parents(fakes, [_copy(p) for p in PARENTS])
    signed = fakes.staff()
    me = pb.StaffMember(
        id=signed.session.account.id, first_name="Claire", last_name="Direction", status="active"
    )
    fakes.on("auth", "ListStaff", pb.ListStaffResponse(staff=[me, COLLEAGUE]))
    return signed


def _ids(resp) -> list[str]:
    return [p["id"] for p in resp.get_json()["items"]]


def test_the_parents_list_has_the_contract_shape(client, staff):
    resp = client.get("/api/v1/admin/parents", headers=staff.bearer)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert [set(p) for p in body["items"]] == [PARENT_KEYS] * 5
    assert body["items"][0] == {
        "id": "p-1",
        "first_name": "Éloïse",
        "last_name": "Dubois",
        "email": "éloïse.dubois@example.test",
        "username": "éloïse.dubois",
        "student_ids": ["s-1"],
        "status": "active",
    }


def test_q_is_auths_search(client, fakes, staff):
    resp = client.get("/api/v1/admin/parents", query_string={"q": "  éloïse "}, headers=staff.bearer)
    assert _ids(resp) == ["p-1"]
    sent = fakes.requests("auth", "ListParents")[-1]
    assert (sent.q, sent.limit, sent.cursor) == ("éloïse", 50, "")
    assert _ids(client.get("/api/v1/admin/parents?q=nobody", headers=staff.bearer)) == []


def test_status_is_asked_of_auth_and_checked(client, fakes, staff):
    resp = client.get("/api/v1/admin/parents?status=invited", headers=staff.bearer)
    assert _ids(resp) == ["p-2", "p-5"]
    assert fakes.requests("auth", "ListParents")[-1].status == "invited"
    bad = client.get("/api/v1/admin/parents?status=gone", headers=staff.bearer)
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]["fields"]


def test_paging_with_limit_and_auths_cursor(client, fakes, staff):
    first = client.get("/api/v1/admin/parents?limit=2", headers=staff.bearer).get_json()
    assert [p["id"] for p in first["items"]] == ["p-1", "p-2"] and first["next_cursor"] == "after-2"
    second = client.get(
        "/api/v1/admin/parents",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=staff.bearer,
    ).get_json()
    assert [p["id"] for p in second["items"]] == ["p-3", "p-4"] and second["next_cursor"] == "after-4"
    sent = fakes.requests("auth", "ListParents")[-1]
    assert (sent.limit, sent.cursor) == (2, "after-2")
    third = client.get(
        "/api/v1/admin/parents",
        query_string={"limit": 2, "cursor": second["next_cursor"]},
        headers=staff.bearer,
    ).get_json()
    assert [p["id"] for p in third["items"]] == ["p-5"] and third["next_cursor"] is None
    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "x" * 1001}, {"q": "x" * 201}):
        resp = client.get("/api/v1/admin/parents", query_string=bad, headers=staff.bearer)
        assert resp.status_code == 400, bad
    calls = len(fakes.requests("auth", "ListParents"))
    refused = client.get("/api/v1/admin/parents", query_string={"cursor": "nonsense"}, headers=staff.bearer)
    assert refused.status_code == 400 and refused.get_json()["error"]["fields"] == {
        "cursor": "use next_cursor as given"
    }
    assert len(fakes.requests("auth", "ListParents")) == calls + 1  # auth judges its cursors


def test_one_parent_or_404(client, fakes, staff):
    got = client.get("/api/v1/admin/parents/p-4", headers=staff.bearer).get_json()
    assert got["last_name"] == "Peeters" and set(got) == PARENT_KEYS
    assert fakes.requests("auth", "GetParent")[-1].parent_id == "p-4"
    resp = client.get("/api/v1/admin/parents/p-404", headers=staff.bearer)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def _patch(client, who, parent_id: str, body):
    return client.patch(f"/api/v1/admin/parents/{parent_id}", json=body, headers=who.bearer)


def test_patch_changes_only_the_fields_given(client, fakes, staff):
    resp = _patch(client, staff, "p-4", {"first_name": " Johan ", "email": "Johan@Example.test"})
    assert resp.status_code == 200 and set(resp.get_json()) == PARENT_KEYS
    assert resp.get_json()["first_name"] == "Johan" and resp.get_json()["email"] == "johan@example.test"
    sent = fakes.requests("auth", "UpdateParent")[-1]
    assert sent.parent_id == "p-4" and sent.first_name == "Johan" and sent.email == "Johan@Example.test"
    assert not sent.HasField("last_name") and not sent.HasField("national_number")
    _patch(client, staff, "p-4", {"national_number": None})
    sent = fakes.requests("auth", "UpdateParent")[-1]
    assert sent.HasField("national_number") and sent.national_number == "" and not sent.HasField("email")
    assert (
        "national_number" not in _patch(client, staff, "p-4", {"national_number": "85073003328"}).get_json()
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"username": "x"}, "username"),
        ({"status": "active", "first_name": "Jo"}, "status"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": None}, "last_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"email": "nope"}, "email"),
        ({"email": 3}, "email"),
        ({"national_number": 85073003328}, "national_number"),
    ],
)
def test_patch_refuses_bad_bodies_before_asking_auth(client, fakes, staff, body, field):
    resp = _patch(client, staff, "p-4", body)
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"], resp.get_json()
    assert fakes.requests("auth", "UpdateParent") == []


def test_patch_passes_auths_answers_on(client, fakes, staff):
    def taken(_req):
        raise Conflict("another account uses this e-mail address", code="email_taken")

    fakes.on("auth", "UpdateParent", taken)
    resp = _patch(client, staff, "p-4", {"email": "luc@school.test"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "email_taken"

    def bad(_req):
        raise InvalidRequest("the parent is not valid", fields={"first_name": "a name cannot contain '<'"})

    fakes.on("auth", "UpdateParent", bad)
    resp = _patch(client, staff, "p-4", {"first_name": "<b>"})
    assert resp.status_code == 400 and "first_name" in resp.get_json()["error"]["fields"]
    fake_parents(fakes, [])
    assert _patch(client, staff, "p-other-school", {"first_name": "Jo"}).status_code == 404
    assert (
        client.patch(
            "/api/v1/admin/parents/p-4", json={"first_name": "Jo"}, headers=fakes.parent().bearer
        ).status_code
        == 403
    )


def test_disable_and_enable_a_parent(client, fakes, staff):
    disabled = pb.ParentContact()
    disabled.CopyFrom(PARENTS[3])
    disabled.status = "disabled"
    fakes.on("auth", "DisableAccount", lambda req: pb.DisableAccountResponse(parent=disabled))
    fakes.on("auth", "EnableAccount", lambda req: pb.EnableAccountResponse(parent=PARENTS[3]))
    resp = client.post("/api/v1/admin/parents/p-4/disable", headers=staff.bearer)
    assert resp.status_code == 200
    assert set(resp.get_json()) == PARENT_KEYS and resp.get_json()["status"] == "disabled"
    assert fakes.requests("auth", "DisableAccount")[0].account_id == "p-4"
    resp = client.post("/api/v1/admin/parents/p-4/enable", headers=staff.bearer)
    assert resp.status_code == 200 and resp.get_json()["status"] == "active"


def test_a_parents_route_never_acts_on_a_colleague_nor_the_reverse(client, fakes, staff):
    fakes.on("auth", "DisableAccount", lambda req: pb.DisableAccountResponse(staff=COLLEAGUE))
    fakes.on("auth", "EndSessions", pb.EndSessionsResponse(ended=1))
    for path in ("/api/v1/admin/parents/st-2/disable", "/api/v1/admin/parents/st-2/enable"):
        assert client.post(path, headers=staff.bearer).status_code == 404
    assert client.delete("/api/v1/admin/parents/st-2/sessions", headers=staff.bearer).status_code == 404
    for path in ("/api/v1/admin/staff/p-4/disable", "/api/v1/admin/staff/p-4/enable"):
        assert client.post(path, headers=staff.bearer).status_code == 404
    assert client.delete("/api/v1/admin/staff/p-4/second-factor", headers=staff.bearer).status_code == 404
    assert fakes.requests("auth", "DisableAccount") == [] and fakes.requests("auth", "EndSessions") == []


def test_auth_refusals_pass_through(client, fakes, staff):
    def unknown(_req):
        raise NotFound("no such account")

    def self_(_req):
        raise Forbidden("you cannot disable your own account", code="cannot_disable_self")

    def reset_self(_req):
        raise Forbidden("turn your own off", code="cannot_reset_self")

    fakes.on("auth", "DisableAccount", unknown)
    assert (
        client.post("/api/v1/admin/parents/p-other-school/disable", headers=staff.bearer).status_code == 404
    )
    fakes.on("auth", "DisableAccount", self_)
    me = staff.session.account.id
    resp = client.post(f"/api/v1/admin/staff/{me}/disable", headers=staff.bearer)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "cannot_disable_self"
    fakes.on("auth", "ResetSecondFactor", reset_self)
    resp = client.delete(f"/api/v1/admin/staff/{me}/second-factor", headers=staff.bearer)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "cannot_reset_self"


def test_end_sessions_answers_how_many(client, fakes, staff):
    fakes.on("auth", "EndSessions", pb.EndSessionsResponse(ended=2))
    resp = client.delete("/api/v1/admin/parents/p-1/sessions", headers=staff.bearer)
    assert resp.status_code == 200 and resp.get_json() == {"ended": 2}
    resp = client.delete("/api/v1/admin/staff/st-2/sessions", headers=staff.bearer)
    assert resp.get_json() == {"ended": 2}


def test_the_staff_list_and_a_colleagues_actions(client, fakes, staff):
    body = client.get("/api/v1/admin/staff", headers=staff.bearer).get_json()
    assert [set(m) for m in body["items"]] == [STAFF_KEYS, STAFF_KEYS]
    assert body["items"][1] == {
        "id": "st-2",
        "first_name": "Luc",
        "last_name": "Secrétariat",
        "email": "luc@school.test",
        "username": "luc",
        "status": "active",
    }
    off = pb.StaffMember()
    off.CopyFrom(COLLEAGUE)
    off.status = "disabled"
    fakes.on("auth", "DisableAccount", lambda req: pb.DisableAccountResponse(staff=off))
    fakes.on("auth", "EnableAccount", lambda req: pb.EnableAccountResponse(staff=COLLEAGUE))
    fakes.on("auth", "ResetSecondFactor", pb.ResetSecondFactorResponse())
    assert (
        client.post("/api/v1/admin/staff/st-2/disable", headers=staff.bearer).get_json()["status"]
        == "disabled"
    )
    assert (
        client.post("/api/v1/admin/staff/st-2/enable", headers=staff.bearer).get_json()["status"] == "active"
    )
    assert client.delete("/api/v1/admin/staff/st-2/second-factor", headers=staff.bearer).status_code == 204
    assert fakes.requests("auth", "ResetSecondFactor")[0].account_id == "st-2"


def test_parents_cannot_use_these_and_cookie_callers_need_the_csrf_header(client, fakes, staff):
    parent = fakes.parent()
    for method, path in [
        ("get", "/api/v1/admin/parents"),
        ("get", "/api/v1/admin/staff"),
        ("post", "/api/v1/admin/parents/p-1/disable"),
    ]:
        assert getattr(client, method)(path, headers=parent.bearer).status_code == 403
    client.set_cookie("cartable_session", staff.token)
    resp = client.post("/api/v1/admin/parents/p-1/disable")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"
    assert fakes.requests("auth", "DisableAccount") == []


def test_a_bad_status_from_auth_is_a_400_with_its_field(client, fakes, staff):
    def refuse(_req):
        raise InvalidRequest("unknown status", fields={"status": "one of invited, active, disabled"})

    fakes.on("auth", "ListParents", refuse)
    resp = client.get("/api/v1/admin/parents?status=active", headers=staff.bearer)
    assert resp.status_code == 400 and "status" in resp.get_json()["error"]["fields"]


def test_adding_a_colleague(client, fakes, staff):
    fakes.on("auth", "CreateStaff", lambda req: pb.CreateStaffResponse(id="st-3", username="marie.dupont"))
    body = {"first_name": " Marie ", "last_name": "Dupont", "email": "marie@school.test"}
    resp = client.post("/api/v1/admin/staff", headers=staff.bearer, json=body)
    assert resp.status_code == 201 and resp.get_json() == {"id": "st-3", "username": "marie.dupont"}
    sent = fakes.requests("auth", "CreateStaff")[0]
    assert (sent.first_name, sent.last_name, sent.email, sent.language) == (
        "Marie",
        "Dupont",
        "marie@school.test",
        "fr",
    )
    for change, field in [
        ({"first_name": ""}, "first_name"),
        ({"last_name": 3}, "last_name"),
        ({"email": "not-an-address"}, "email"),
        ({"language": "de"}, "language"),
    ]:
        bad = client.post("/api/v1/admin/staff", headers=staff.bearer, json={**body, **change})
        assert bad.status_code == 400 and field in bad.get_json()["error"]["fields"], change
    assert len(fakes.requests("auth", "CreateStaff")) == 1

    def refuse(_req):
        raise InvalidRequest("the staff account is not valid", fields={"email": "not an e-mail address"})

    fakes.on("auth", "CreateStaff", refuse)
    bad = client.post("/api/v1/admin/staff", headers=staff.bearer, json={**body, "email": "a@b"})
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"] == {"email": "not an e-mail address"}
    assert client.post("/api/v1/admin/staff", headers=fakes.parent().bearer, json=body).status_code == 403
