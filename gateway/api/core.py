"""Health, readiness and the OpenAPI document."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify

from gateway.clients import clients
from gateway.openapi import build_spec, obj, ok

bp = Blueprint("api_core", __name__)

SERVICES = ("auth", "documents", "finance", "orders", "notifications", "meetings")
# What runs beside each server, as its gRPC health names it (kit/service.py part_health): the outbox
# relay and the broker for all, the event consumer for those that consume events: every one since
# orders and meetings consume auth.family.erased.v1 (issue #21); auth consumes the audit entries.
CONSUMERS = SERVICES
PARTS = tuple(
    f"{svc}.{part}"
    for svc in SERVICES
    for part in ("relay", "broker", *(("consume",) if svc in CONSUMERS else ()))
)
CHECK_TIMEOUT = 1.0  # seconds, each check; they all run at once
PART_STATUS = {"serving": "serving", "not_serving": "degraded", "unknown": "unknown"}


@bp.get("/healthz")
def healthz():
    """Liveness: the gateway process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: every service's gRPC health ``""`` (its database) answers SERVING: 200, else 503.
    Beside it, each part's health (``parts``): a relay behind, a broker not answering or a consumer
    missing is ``degraded`` (status ``degraded``, still 200: the servers work without them); a part
    not published or not answering in time is ``unknown``. All checks at once, 1 s each."""
    c = clients()
    checks = [(svc, "") for svc in SERVICES] + [(part.split(".", 1)[0], part) for part in PARTS]
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        answers = list(pool.map(lambda check: c.health_status(*check, timeout=CHECK_TIMEOUT), checks))
    services = {
        svc: ("serving" if a == "serving" else "unavailable")
        for svc, a in zip(SERVICES, answers[: len(SERVICES)], strict=True)
    }
    parts = {part: PART_STATUS[a] for part, a in zip(PARTS, answers[len(SERVICES) :], strict=True)}
    if any(v != "serving" for v in services.values()):
        status = "unavailable"
    elif any(v == "degraded" for v in parts.values()):
        status = "degraded"
    else:
        status = "ready"
    body = {"status": status, "services": services, "parts": parts}
    return jsonify(body), (503 if status == "unavailable" else 200)


@bp.get("/api/v1/openapi.json")
def openapi():
    # The areas come from create_app (gateway.api.ALL): importing them here would be a cycle.
    return jsonify(build_spec(current_app.extensions["cartable_api_areas"]))


OPENAPI = {
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": ok(obj({}))},
    },
}
