"""gRPC bootstrap: identity tokens, error mapping, request ids and health through shutdown."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit import grpcserver
from kit.errors import Conflict, from_rpc_error
from kit.grpcserver import Registration, build_server
from kit.identity import current
from kit.logs import request_id_var
from kit.testing import Keys, wait_for

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class EchoServicer(pb_grpc.NotificationsServiceServicer):
    def ListEvents(self, request, context):
        who = current()
        who.require_student(request.student_id)
        return pb.ListEventsResponse(events=[pb.SchoolEvent(id=who.account_id, title=request_id_var.get())])

    def CreateEvent(self, request, context):
        raise Conflict("period is closed", code="period_closed")


@pytest.fixture
def server(keys):
    ok = {"db": True}
    gs = build_server(
        "test",
        "127.0.0.1:0",
        [Registration(pb_grpc.add_NotificationsServiceServicer_to_server, EchoServicer(), "x.Echo")],
        keys.verifier,
        checks=[lambda: ok["db"]],
    )
    gs.flags = ok
    yield gs
    gs.stop(0)


def _stub(port):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel, pb_grpc.NotificationsServiceStub(channel), health_pb2_grpc.HealthStub(channel)


def test_call_without_identity_token_is_refused_unauthenticated(server):
    _, stub, _ = _stub(server.port)
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListEvents(pb.ListEventsRequest(student_id="s1"), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_token_signed_by_another_key_is_refused(server, tmp_path):
    (tmp_path / "other").mkdir()
    other = Keys(tmp_path / "other")
    _, stub, _ = _stub(server.port)
    token = other.token(students={"s1": "1A"})
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListEvents(
            pb.ListEventsRequest(student_id="s1"), metadata=[("authorization", f"Bearer {token}")]
        )
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_valid_token_reaches_the_servicer_with_identity_and_request_id(server, keys):
    _, stub, _ = _stub(server.port)
    token = keys.token(students={"s1": "1A"}, account_id="acc-1")
    resp = stub.ListEvents(
        pb.ListEventsRequest(student_id="s1"),
        metadata=[("authorization", f"Bearer {token}"), ("x-request-id", "req-42")],
    )
    assert resp.events[0].id == "acc-1"
    assert resp.events[0].title == "req-42"


def test_call_for_a_student_the_token_does_not_name_is_refused(server, keys):
    _, stub, _ = _stub(server.port)
    token = keys.token(students={"s1": "1A"})
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListEvents(
            pb.ListEventsRequest(student_id="s2"), metadata=[("authorization", f"Bearer {token}")]
        )
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_domain_error_keeps_its_code_across_the_wire(server, keys):
    _, stub, _ = _stub(server.port)
    token = keys.token(role="staff")
    with pytest.raises(grpc.RpcError) as exc:
        stub.CreateEvent(pb.CreateEventRequest(), metadata=[("authorization", f"Bearer {token}")])
    err = from_rpc_error(exc.value)
    assert (err.http_status, err.code) == (409, "period_closed")


def _status_is(health, status) -> bool:
    try:
        return health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status == status
    except grpc.RpcError:
        return False


def test_health_is_serving_only_while_dependencies_answer(server):
    _, _, health = _stub(server.port)
    wait_for(lambda: _status_is(health, SERVING), what="SERVING")
    server.flags["db"] = False
    wait_for(lambda: _status_is(health, NOT_SERVING), what="NOT_SERVING once the database fails")
    server.flags["db"] = True
    wait_for(lambda: _status_is(health, SERVING), what="SERVING once the database is back")


def test_health_turns_not_serving_during_shutdown(server, monkeypatch):
    _, _, health = _stub(server.port)
    wait_for(lambda: _status_is(health, SERVING), what="SERVING")
    # The drain is held open until the test has looked, instead of racing a 2-second window.
    drains: list[float] = []
    drained = threading.Event()

    def held_drain(seconds: float) -> None:
        drains.append(seconds)
        drained.wait(60)

    monkeypatch.setattr(grpcserver, "time", SimpleNamespace(sleep=held_drain, perf_counter=time.perf_counter))
    t = threading.Thread(target=server.shutdown, kwargs={"drain": 2.0, "grace": 1.0})
    t.start()
    try:
        wait_for(lambda: drains, what="the shutdown's drain")
        wait_for(lambda: _status_is(health, NOT_SERVING), what="NOT_SERVING during the drain")
        assert t.is_alive(), "NOT_SERVING is answered while the server still drains"
    finally:
        drained.set()
        t.join()
    assert drains == [2.0]


def test_public_method_accepts_a_call_with_a_stale_identity_token(keys):
    class Public(pb_grpc.NotificationsServiceServicer):
        def ListEvents(self, request, context):
            return pb.ListEventsResponse()

    gs = build_server(
        "test",
        "127.0.0.1:0",
        [Registration(pb_grpc.add_NotificationsServiceServicer_to_server, Public(), "x.Echo")],
        keys.verifier,
        public_methods={"/cartable.notifications.v1.NotificationsService/ListEvents"},
    )
    try:
        _, stub, _ = _stub(gs.port)
        stub.ListEvents(
            pb.ListEventsRequest(), metadata=[("authorization", "Bearer not-a-valid-token")], timeout=5
        )
        with pytest.raises(grpc.RpcError) as exc:
            stub.CreateEvent(
                pb.CreateEventRequest(), metadata=[("authorization", "Bearer not-a-valid-token")], timeout=5
            )
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        gs.stop(0)


def test_production_settings_need_no_provider_key_outside_finance():
    from kit.settings import SettingsError, load_settings

    env = {
        "CARTABLE_ENV": "production",
        "AMQP_URL": "amqp://u:p@broker:5672/%2F",
        "GATEWAY_SECRET_KEY": "0123456789abcdef" * 4,  # the gateway's own secret (test_settings_production)
    }
    gateway = load_settings("gateway", env)
    assert gateway.mollie_api_key == ""
    with pytest.raises(SettingsError):  # a service without its database URL fails fast
        load_settings("finance", env)


def test_a_stopped_server_leaves_no_thread_behind(keys):
    """A test session starts hundreds of servers: one that stops must take its health loops and its
    worker threads with it (they once piled up by the hundred, polling the broker every 10 s)."""
    import threading

    before = {t.ident for t in threading.enumerate()}
    gs = build_server(
        "leak",
        "127.0.0.1:0",
        [Registration(pb_grpc.add_NotificationsServiceServicer_to_server, EchoServicer(), "x.Echo")],
        keys.verifier,
        checks=[lambda: True],
        parts=lambda: {"leak.broker": True},
        parts_interval=0.05,
    )
    token = keys.token(students={"s1": "1A"})
    channel, stub, _ = _stub(gs.port)
    resp = stub.ListEvents(
        pb.ListEventsRequest(student_id="s1"), metadata=[("authorization", f"Bearer {token}")], timeout=5
    )
    assert len(resp.events) == 1  # a worker thread served it
    channel.close()
    assert sorted(gs.running_loops()) == ["health-parts", "health-watch"]
    gs.stop(0)
    assert gs.running_loops() == []
    for t in threading.enumerate():
        if t.name.startswith("leak-rpc"):
            t.join(5)
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.name.startswith("leak-rpc")]
    assert left == []
