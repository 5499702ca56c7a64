"""kit.errors across the wire: what a service raised is what its caller gets back, Unavailable's
Retry-After included (the gateway answers 503 with it), while a transport failure stays generic."""

from __future__ import annotations

import grpc
import pytest

from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit.errors import RateLimited, Unavailable, from_rpc_error
from kit.grpcserver import Registration, build_server


class BusyServicer(pb_grpc.NotificationsServiceServicer):
    def ListEvents(self, request, context):
        raise Unavailable(
            "too many sign-ins at once; try again in a moment", code="unavailable", retry_after=2
        )

    def CreateEvent(self, request, context):
        raise RateLimited("slow down", code="rate_limited", retry_after=60)


@pytest.fixture
def stub(keys):
    gs = build_server(
        "test",
        "127.0.0.1:0",
        [Registration(pb_grpc.add_NotificationsServiceServicer_to_server, BusyServicer(), "x.Busy")],
        keys.verifier,
        public_methods=frozenset(
            {
                "/cartable.notifications.v1.NotificationsService/ListEvents",
                "/cartable.notifications.v1.NotificationsService/CreateEvent",
            }
        ),
        checks=[lambda: True],
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{gs.port}")
    yield pb_grpc.NotificationsServiceStub(channel)
    channel.close()
    gs.stop(0)


def test_a_service_that_answers_unavailable_keeps_its_retry_after_code_and_message(stub):
    with pytest.raises(grpc.RpcError) as exc:
        stub.ListEvents(pb.ListEventsRequest(), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    err = from_rpc_error(exc.value)
    assert isinstance(err, Unavailable)
    assert (err.http_status, err.code, err.retry_after) == (503, "unavailable", 2)
    assert err.message == "too many sign-ins at once; try again in a moment"


def test_other_errors_keep_their_retry_after_too(stub):
    with pytest.raises(grpc.RpcError) as exc:
        stub.CreateEvent(pb.CreateEventRequest(), timeout=5)
    err = from_rpc_error(exc.value)
    assert (err.http_status, err.code, err.retry_after) == (429, "rate_limited", 60)


def test_a_service_that_does_not_answer_is_a_generic_unavailable_without_grpc_details():
    channel = grpc.insecure_channel("127.0.0.1:1")  # nothing listens there
    with pytest.raises(grpc.RpcError) as exc:
        pb_grpc.NotificationsServiceStub(channel).ListEvents(pb.ListEventsRequest(), timeout=5)
    channel.close()
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    err = from_rpc_error(exc.value)
    assert (err.http_status, err.code, err.retry_after) == (503, "unavailable", None)
    assert err.message == "the service did not answer in time"
