"""gRPC server bootstrap: health, reflection (local runs and tests only), interceptors (request id,
identity token, error mapping, metrics) and graceful shutdown.

Every call is unary: the identity interceptor refuses a streaming method (UNIMPLEMENTED) before its
handler runs, so a streaming RPC added later cannot skip the identity check. Only the health service's
own methods (``Watch`` streams) are left to grpc.

Health answers three kinds of names:

- ``""``, the service's short name (``finance``) and each servicer's full name: readiness, SERVING
  while every check passes (the database: a server works without the broker, its events wait in the
  outbox);
- ``liveness``: SERVING as long as the process serves at all (Kubernetes' liveness probe);
- ``<service>.<part>`` (``finance.relay``, ``finance.consume``, ``finance.broker``): what the server
  sees of the parts that run beside it, for the gateway's ``/readyz`` to say which part is degraded.
  They never change readiness.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import sqlalchemy.exc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kit.errors import AppError, Unauthenticated, Unavailable, trailing_metadata
from kit.identity import METADATA_KEY, TokenVerifier, current_identity
from kit.logs import request_id_var
from kit.metrics import RPC_LATENCY, RPC_REQUESTS

log = logging.getLogger("kit.grpc")

# Documents carry files up to the upload limit (20 MiB) inside one message.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024

LIVENESS = "liveness"

_OPEN_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

STREAMING_REFUSED = "streaming calls are not served"


def _refuse_streaming(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape that aborts at once: the request stream is never read and the
    servicer's method never runs."""

    def refuse(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, STREAMING_REFUSED)

    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, **options)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **options)
    return grpc.unary_stream_rpc_method_handler(refuse, **options)


class ServiceInterceptor(grpc.ServerInterceptor):
    """Sets the request id, verifies the identity token and maps domain errors to statuses."""

    def __init__(self, service: str, verifier: TokenVerifier, public_methods: Iterable[str] = ()) -> None:
        self.service = service
        self.verifier = verifier
        self.public = frozenset(public_methods)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_OPEN_PREFIXES):
            return handler
        if handler.unary_unary is None:
            log.warning("streaming call refused", extra={"method": method})
            RPC_REQUESTS.labels(self.service, method.rsplit("/", 1)[-1], "UNIMPLEMENTED").inc()
            return _refuse_streaming(handler)
        inner = handler.unary_unary
        is_public = method in self.public
        short = method.rsplit("/", 1)[-1]

        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            # Text keys (all the ones read here) carry str values; only "-bin" keys carry bytes.
            md: dict[str, Any] = dict(context.invocation_metadata())
            rid = md.get("x-request-id") or uuid.uuid4().hex
            rtok = request_id_var.set(rid)
            itok = current_identity.set(None)
            started = time.perf_counter()
            code = "OK"
            try:
                raw = md.get(METADATA_KEY, "")
                token = raw[7:] if raw.lower().startswith("bearer ") else ""
                if token:
                    try:
                        current_identity.set(self.verifier.verify(token))
                    except Unauthenticated:
                        # A public method carries its own credential: a stale identity token
                        # alongside it must not lock the caller out (e.g. signing in again).
                        if not is_public:
                            raise
                elif not is_public:
                    raise Unauthenticated("a valid identity token is required")
                return inner(request, context)
            except AppError as err:
                code = err.grpc_status.name
                context.set_trailing_metadata(trailing_metadata(err))
                context.abort(err.grpc_status, err.message)
            except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError) as exc:
                # The database refused or dropped the connection (down, restarting, "too many
                # clients", a pool exhausted, a deadlock rolled back): nothing was committed, the
                # same call can be retried, so the caller hears "unavailable", never "internal".
                code = "UNAVAILABLE"
                log.warning("database unavailable in %s", method, extra={"error": type(exc).__name__})
                down = Unavailable("the database is not answering, retry in a moment", retry_after=2)
                context.set_trailing_metadata(trailing_metadata(down))
                context.abort(down.grpc_status, down.message)
            except Exception:
                # code(): on grpc's server context, not in its stubs.
                if context.code() is not None:  # type: ignore[attr-defined]  # already aborted by the servicer
                    raise
                code = "INTERNAL"
                log.exception("unhandled error in %s", method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                RPC_REQUESTS.labels(self.service, short, code).inc()
                RPC_LATENCY.labels(self.service, short).observe(time.perf_counter() - started)
                current_identity.reset(itok)
                request_id_var.reset(rtok)

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass
class Registration:
    """One servicer to add: ``add(servicer, server)`` is the generated ``add_XServicer_to_server``."""

    add: Callable[[Any, grpc.Server], None]
    servicer: object
    full_name: str  # e.g. cartable.finance.v1.FinanceService


@dataclass
class GrpcServer:
    service: str
    server: grpc.Server
    health: health.HealthServicer
    port: int
    service_names: list[str]
    checks: list[Callable[[], bool]] = field(default_factory=list)
    # ``{"finance.relay": True, ...}``: evaluated apart from the checks, every ``parts_interval`` s
    parts: Callable[[], Mapping[str, bool]] | None = None
    parts_interval: float = 10.0
    # the server's worker threads: grpc does not release an executor it was given
    executor: futures.ThreadPoolExecutor | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _loops: list[threading.Thread] = field(default_factory=list)

    def set_status(self, status: int) -> None:
        for name in ["", self.service, *self.service_names]:
            self.health.set(name, status)

    def update_parts(self) -> dict[str, bool]:
        """Evaluate the parts once and publish each under its own health name."""
        if self.parts is None:
            return {}
        try:
            report = dict(self.parts())
        except Exception:  # a part that cannot be evaluated is not known to be serving
            log.warning("cannot evaluate the parts' health", exc_info=True)
            return {}
        for name, ok in report.items():
            if not self._stop.is_set():
                self.health.set(
                    name,
                    health_pb2.HealthCheckResponse.SERVING
                    if ok
                    else health_pb2.HealthCheckResponse.NOT_SERVING,
                )
        return report

    def watch(self, interval: float = 2.0) -> None:
        """Keep health in step with the dependencies: SERVING only while every check passes."""

        def loop() -> None:
            while not self._stop.is_set():
                ok = all(check() for check in self.checks)
                if not self._stop.is_set():
                    self.set_status(
                        health_pb2.HealthCheckResponse.SERVING
                        if ok
                        else health_pb2.HealthCheckResponse.NOT_SERVING
                    )
                self._stop.wait(interval if ok else min(interval, 0.5))

        watcher = threading.Thread(target=loop, name="health-watch", daemon=True)
        watcher.start()
        self._loops.append(watcher)
        if self.parts is not None:
            # Apart from readiness: a broker that does not answer may take seconds to time out.
            def parts_loop() -> None:
                while not self._stop.is_set():
                    self.update_parts()
                    self._stop.wait(self.parts_interval)

            parts = threading.Thread(target=parts_loop, name="health-parts", daemon=True)
            parts.start()
            self._loops.append(parts)

    def shutdown(self, drain: float = 1.0, grace: float = 10.0) -> None:
        """NOT_SERVING first (so balancers stop sending), a short drain, then stop with grace."""
        self._stop.set()
        self.health.enter_graceful_shutdown()
        log.info("shutting down", extra={"drain": drain, "grace": grace})
        time.sleep(drain)
        self.server.stop(grace).wait()
        self._release()

    def stop(self, grace: float | None = None) -> None:
        """Stop now (tests, a start that failed half-way): the health loops end at their next wake-up,
        the server stops (``grace`` seconds for calls in flight; None cancels them) and its worker
        threads are released. A process that starts many servers (a test session) keeps no thread of
        a stopped one polling the database or the broker."""
        self._stop.set()
        self.server.stop(grace).wait()
        self._release()

    def _release(self, join: float = 5.0) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        # The loops wake on the stop event; one may be inside a check (a broker that takes its time).
        for loop in self._loops:
            loop.join(join)

    def running_loops(self) -> list[str]:
        """The names of this server's health loops still running (none once stopped)."""
        return [t.name for t in self._loops if t.is_alive()]


def build_server(
    service: str,
    listen: str,
    registrations: list[Registration],
    verifier: TokenVerifier,
    public_methods: Iterable[str] = (),
    checks: list[Callable[[], bool]] | None = None,
    max_workers: int = 32,
    parts: Callable[[], Mapping[str, bool]] | None = None,
    parts_interval: float = 10.0,
    reflection_enabled: bool | None = None,
) -> GrpcServer:
    """Create and start a server on ``listen`` (``host:0`` picks a free port). Reflection lists every
    method to whoever asks: served in local runs and tests only (``reflection_enabled=None``: from
    ``CARTABLE_ENV``, off in production)."""
    if reflection_enabled is None:
        reflection_enabled = os.environ.get("CARTABLE_ENV", "local") in ("local", "test")
    executor = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"{service}-rpc")
    server = grpc.server(
        executor,
        interceptors=[ServiceInterceptor(service, verifier, public_methods)],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    names = []
    for reg in registrations:
        reg.add(reg.servicer, server)
        names.append(reg.full_name)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_enabled:
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(listen)
    if port == 0:
        raise RuntimeError(f"cannot listen on {listen}")
    gs = GrpcServer(
        service,
        server,
        health_servicer,
        port,
        names,
        checks or [],
        parts=parts,
        parts_interval=parts_interval,
        executor=executor,
    )
    gs.set_status(health_pb2.HealthCheckResponse.NOT_SERVING)
    # "liveness" answers SERVING as long as the process serves at all (Kubernetes liveness probe);
    # "", the short name and each servicer's name follow the checks (readiness).
    health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    server.start()
    gs.watch()
    log.info("grpc server listening", extra={"port": port, "listen": listen})
    return gs
