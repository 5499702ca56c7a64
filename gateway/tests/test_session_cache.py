"""The gateway remembers a resolved session for a few seconds (gateway/session_cache.py): fewer
ResolveSession calls, and never an ended or changed session served after the change in the process
that made it."""

from __future__ import annotations

import threading
import time

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.notifications.v1 import notifications_pb2
from gateway.session_cache import EXPIRY_MARGIN_SECONDS, SessionCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _session(account_id: str = "acc-1", exp_in: float = 300.0, wall: float = 1000.0) -> auth_pb2.Session:
    return auth_pb2.Session(
        session_token="tok",
        account=auth_pb2.Account(id=account_id, role="parent"),
        identity_token="signed",
        identity_expires_at=int(wall + exp_in),
    )


def test_a_session_is_remembered_for_the_cache_seconds_only():
    clock = Clock()
    cache = SessionCache(5, clock=clock, wall=clock)
    cache.put("t1", _session(), cache.generation())
    assert cache.get("t1") is not None
    clock.now += 4.9
    assert cache.get("t1") is not None
    clock.now += 0.2
    assert cache.get("t1") is None
    assert len(cache) == 0


def test_never_past_the_identity_tokens_expiry_less_the_margin():
    clock = Clock()
    cache = SessionCache(60, clock=clock, wall=clock)
    cache.put("t1", _session(exp_in=EXPIRY_MARGIN_SECONDS + 2), cache.generation())
    clock.now += 1.5
    assert cache.get("t1") is not None
    clock.now += 1
    assert cache.get("t1") is None
    cache.put("t2", _session(exp_in=EXPIRY_MARGIN_SECONDS - 1, wall=clock.now), cache.generation())
    assert cache.get("t2") is None  # too close to its end: not kept at all


def test_forgetting_an_account_forgets_all_its_sessions_and_no_other():
    cache = SessionCache(5)
    wall = time.time()
    cache.put("a-phone", _session("acc-a", wall=wall), cache.generation())
    cache.put("a-laptop", _session("acc-a", wall=wall), cache.generation())
    cache.put("b", _session("acc-b", wall=wall), cache.generation())
    cache.forget_account("acc-a")
    assert cache.get("a-phone") is None and cache.get("a-laptop") is None
    assert cache.get("b") is not None
    cache.forget_all()
    assert cache.get("b") is None


def test_a_resolution_begun_before_a_forgetting_is_not_stored():
    cache = SessionCache(5)
    before = cache.generation()
    cache.forget_account("acc-x")  # a sign-out lands while the resolution was on its way
    cache.put("t1", _session(wall=time.time()), before)
    assert cache.get("t1") is None
    cache.put("t1", _session(wall=time.time()), cache.generation())
    assert cache.get("t1") is not None


def test_zero_seconds_keeps_nothing():
    cache = SessionCache(0)
    cache.put("t1", _session(wall=time.time()), cache.generation())
    assert cache.get("t1") is None


# -- in the gateway, with the cache turned on ------------------------------------------------------


@pytest.fixture
def client(app):
    app.extensions["cartable_session_cache"] = SessionCache(5)
    return app.test_client()


def test_the_cache_is_off_unless_a_deployment_turns_it_on():
    from gateway import create_app

    assert create_app().extensions["cartable_session_cache"].ttl == 0


def _real_exp(fakes, signed):
    """The fake's session with its identity token's real expiry (auth always sets it)."""
    sess = fakes.sessions[signed.token]
    sess.identity_expires_at = int(time.time()) + 300
    return signed


def _events(fakes):
    fakes.on("notifications", "ListEvents", notifications_pb2.ListEventsResponse())


def test_reads_resolve_the_session_once_and_a_change_resolves_it_again(client, fakes):
    _events(fakes)
    parent = _real_exp(fakes, fakes.parent("Emma"))
    for _ in range(3):
        assert client.get("/api/v1/events", headers=parent.bearer).status_code == 200
    assert len(fakes.requests("auth", "ResolveSession")) == 1
    fakes.on(
        "auth", "SelectChild", lambda req: auth_pb2.SelectChildResponse(session=fakes.sessions[parent.token])
    )
    client.put("/api/v1/session/child", json={"child_id": "child-1"}, headers=parent.bearer)
    calls = len(fakes.requests("auth", "ResolveSession"))
    assert client.get("/api/v1/events", headers=parent.bearer).status_code == 200
    assert len(fakes.requests("auth", "ResolveSession")) == calls + 1


def test_a_signed_out_session_is_refused_at_once(client, fakes):
    _events(fakes)
    parent = _real_exp(fakes, fakes.parent("Emma"))
    assert client.get("/api/v1/events", headers=parent.bearer).status_code == 200

    def sign_out(req):
        fakes.sessions.pop(req.session_token, None)
        return auth_pb2.SignOutResponse()

    fakes.on("auth", "SignOut", sign_out)
    assert client.delete("/api/v1/session", headers=parent.bearer).status_code == 204
    assert client.get("/api/v1/events", headers=parent.bearer).status_code == 401


def test_a_staff_change_forgets_every_parents_session(client, fakes, app):
    _events(fakes)
    parent = _real_exp(fakes, fakes.parent("Emma"))
    staff = _real_exp(fakes, fakes.staff())
    assert client.get("/api/v1/events", headers=parent.bearer).status_code == 200
    assert len(app.extensions["cartable_session_cache"]) == 1
    # the school disables the parent (whatever the answer, a staff write forgets every session)
    fakes.sessions.pop(parent.token)
    client.post(
        f"/api/v1/admin/parents/{fakes.sessions[staff.token].account.id}/disable", headers=staff.bearer
    )
    assert client.get("/api/v1/events", headers=parent.bearer).status_code == 401


def test_concurrent_reads_share_one_cache_safely(client, fakes, app):
    _events(fakes)
    parents = [_real_exp(fakes, fakes.parent("Emma")) for _ in range(8)]
    errors: list[int] = []

    def load(p):
        c = app.test_client()
        for _ in range(5):
            code = c.get("/api/v1/events", headers=p.bearer).status_code
            if code != 200:
                errors.append(code)

    threads = [threading.Thread(target=load, args=(p,)) for p in parents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fakes.requests("auth", "ResolveSession")) <= 2 * len(parents)
