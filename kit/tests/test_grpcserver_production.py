"""What a server offers an attacker who reaches its port: no reflection outside local runs, and no
streaming method, which the identity interceptor would not see into."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from kit.grpcserver import STREAMING_REFUSED, GrpcServer, Registration, build_server
from kit.identity import current

SERVICE = "test.v1.Streams"


class Calls:
    """A servicer of every call shape, by grpc's generic handlers (no proto needed); it records what ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def echo(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.ran.append("Echo")
        return current().account_id.encode()

    def watch(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        self.ran.append("Watch")
        yield request

    def upload(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        self.ran.append("Upload")
        return b"".join(requests)

    def chat(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        self.ran.append("Chat")
        yield from requests

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Echo": grpc.unary_unary_rpc_method_handler(self.echo),
                "Watch": grpc.unary_stream_rpc_method_handler(self.watch),
                "Upload": grpc.stream_unary_rpc_method_handler(self.upload),
                "Chat": grpc.stream_stream_rpc_method_handler(self.chat),
            },
        )


def _add(handler: grpc.GenericRpcHandler, server: grpc.Server) -> None:
    server.add_generic_rpc_handlers((handler,))


def _server(keys, calls: Calls, **kwargs) -> GrpcServer:
    return build_server(
        "test", "127.0.0.1:0", [Registration(_add, calls.handler(), SERVICE)], keys.verifier, **kwargs
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def server(keys, calls):
    gs = _server(keys, calls)
    yield gs
    gs.stop(0)


def _auth(keys) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {keys.token(account_id='acc-1')}")]


def test_a_unary_call_with_an_identity_reaches_the_servicer(server, calls, keys):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        assert ch.unary_unary(f"/{SERVICE}/Echo")(b"hi", metadata=_auth(keys), timeout=30) == b"acc-1"
    assert calls.ran == ["Echo"]


@pytest.mark.parametrize("with_identity", [True, False], ids=["valid-identity", "no-identity"])
def test_streaming_calls_are_refused_before_any_handler_runs(server, calls, keys, with_identity):
    metadata = _auth(keys) if with_identity else []

    def never_ending() -> Iterator[bytes]:  # a client that keeps sending: the refusal must not wait
        while True:
            yield b"x"

    attempts = {
        "Watch": lambda ch: list(ch.unary_stream(f"/{SERVICE}/Watch")(b"x", metadata=metadata, timeout=30)),
        "Upload": lambda ch: ch.stream_unary(f"/{SERVICE}/Upload")(
            never_ending(), metadata=metadata, timeout=30
        ),
        "Chat": lambda ch: list(
            ch.stream_stream(f"/{SERVICE}/Chat")(never_ending(), metadata=metadata, timeout=30)
        ),
    }
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        for name, call in attempts.items():
            with pytest.raises(grpc.RpcError) as exc:
                call(ch)
            assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED, name
            assert exc.value.details() == STREAMING_REFUSED, name
    assert calls.ran == []


def test_health_watch_still_streams(server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stream = health_pb2_grpc.HealthStub(ch).Watch(
            health_pb2.HealthCheckRequest(service="liveness"), timeout=30
        )
        assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
        stream.cancel()


def _list_services(port: int) -> list[str]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        info = ch.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        answers = info(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=30)
        return [s.name for s in next(answers).list_services_response.service]


def _reflection_refused(port: int) -> bool:
    with pytest.raises(grpc.RpcError) as exc:
        _list_services(port)
    return exc.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(
    ("mode", "served"), [("production", False), ("test", True), ("local", True), (None, True)]
)
def test_reflection_is_served_in_local_runs_and_tests_only(keys, calls, monkeypatch, mode, served):
    if mode is None:
        monkeypatch.delenv("CARTABLE_ENV", raising=False)
    else:
        monkeypatch.setenv("CARTABLE_ENV", mode)
    gs = _server(keys, calls)
    try:
        if served:
            assert SERVICE in _list_services(gs.port)
        else:
            assert _reflection_refused(gs.port)
    finally:
        gs.stop(0)


def test_reflection_can_be_turned_off_explicitly(keys, calls):
    gs = _server(keys, calls, reflection_enabled=False)
    try:
        assert _reflection_refused(gs.port)
    finally:
        gs.stop(0)
