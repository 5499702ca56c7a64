"""Domain errors shared by services and the gateway, and their gRPC / HTTP mapping.

A use case raises one of these; one gRPC interceptor turns it into a status with the error code in
trailing metadata, and the gateway turns that back into the HTTP error format of API.md.
"""

from __future__ import annotations

import json
from typing import Any, cast

import grpc

CODE_KEY = "x-error-code"
FIELDS_KEY = "x-error-fields"
RETRY_KEY = "x-retry-after"


class AppError(Exception):
    http_status = 500
    grpc_status = grpc.StatusCode.INTERNAL
    default_code = "internal"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message or self.default_code)
        self.message = message or self.default_code.replace("_", " ")
        self.code = code or self.default_code
        self.fields = fields or {}
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields and self.http_status == 400:
            body["fields"] = self.fields
        return {"error": body}


class InvalidRequest(AppError):
    http_status = 400
    grpc_status = grpc.StatusCode.INVALID_ARGUMENT
    default_code = "invalid_request"


class Unauthenticated(AppError):
    http_status = 401
    grpc_status = grpc.StatusCode.UNAUTHENTICATED
    default_code = "unauthenticated"


class Forbidden(AppError):
    http_status = 403
    grpc_status = grpc.StatusCode.PERMISSION_DENIED
    default_code = "forbidden"


class NotFound(AppError):
    http_status = 404
    grpc_status = grpc.StatusCode.NOT_FOUND
    default_code = "not_found"


class Conflict(AppError):
    http_status = 409
    grpc_status = grpc.StatusCode.FAILED_PRECONDITION
    default_code = "conflict"


class TooLarge(AppError):
    http_status = 413
    grpc_status = grpc.StatusCode.OUT_OF_RANGE
    default_code = "too_large"


class RateLimited(AppError):
    http_status = 429
    grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_code = "rate_limited"


class Unavailable(AppError):
    http_status = 503
    grpc_status = grpc.StatusCode.UNAVAILABLE
    default_code = "unavailable"


_BY_GRPC = {
    cls.grpc_status: cls
    for cls in (InvalidRequest, Unauthenticated, Forbidden, NotFound, Conflict, TooLarge, RateLimited)
}


def trailing_metadata(err: AppError) -> tuple[tuple[str, str], ...]:
    md = [(CODE_KEY, err.code)]
    if err.fields:
        md.append((FIELDS_KEY, json.dumps(err.fields)))
    if err.retry_after is not None:
        md.append((RETRY_KEY, str(err.retry_after)))
    return tuple(md)


def from_rpc_error(exc: grpc.RpcError) -> AppError:
    """Turn a failed gRPC call back into the AppError the service raised."""
    status = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    # (key, value) pairs at run time; the stubs type them as an opaque _Metadatum.
    pairs = (
        cast("tuple[tuple[str, Any], ...]", exc.trailing_metadata() or ())
        if hasattr(exc, "trailing_metadata")
        else ()
    )
    md = {k: v for k, v in pairs}
    message = exc.details() if hasattr(exc, "details") else str(exc)
    retry = _retry_after(md.get(RETRY_KEY))
    if status == grpc.StatusCode.UNAVAILABLE and CODE_KEY in md:
        # The service itself answered Unavailable (auth's hashing gate is full): its code, message
        # and Retry-After reach the caller (503 with Retry-After), unlike a transport failure.
        return Unavailable(message or "", code=md[CODE_KEY], retry_after=retry)
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        # No service spoke (connection refused, deadline): gRPC's own details are not for users.
        return Unavailable("the service did not answer in time", code="unavailable", retry_after=retry)
    cls = _BY_GRPC.get(status)
    if cls is None:
        return AppError(message or "internal error")
    fields = json.loads(md[FIELDS_KEY]) if FIELDS_KEY in md else None
    return cls(message or "", code=md.get(CODE_KEY), fields=fields, retry_after=retry)


def _retry_after(value: Any) -> int | None:
    """The ``x-retry-after`` seconds, or None when absent or not a whole number."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
