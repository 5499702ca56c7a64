"""Health, readiness and the OpenAPI document."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify

from gateway.clients import clients
from gateway.openapi import build_spec, obj, ok

bp = Blueprint("api_core", __name__)

SERVICES = ("auth", "documents", "finance", "orders", "notifications", "meetings")


@bp.get("/healthz")
def healthz():
    """Liveness: the gateway process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: every service's gRPC health answers SERVING (checked in parallel, 1 s each)."""
    c = clients()
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        results = dict(zip(SERVICES, pool.map(c.health, SERVICES), strict=True))
    ready = all(results.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "services": {k: ("serving" if v else "unavailable") for k, v in results.items()},
    }
    return jsonify(body), (200 if ready else 503)


@bp.get("/api/v1/openapi.json")
def openapi():
    # The areas come from create_app (gateway.api.ALL): importing them here would be a cycle.
    return jsonify(build_spec(current_app.extensions["cartable_api_areas"]))


OPENAPI = {
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": ok(obj({}))},
    },
}


@bp.get("/metrics")
def metrics():
    """Prometheus metrics of this gateway process (all workers when PROMETHEUS_MULTIPROC_DIR is set)."""
    import os

    from flask import Response
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
