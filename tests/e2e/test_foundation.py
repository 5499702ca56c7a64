"""The suite as a whole: every service up behind the gateway."""

import requests


def test_every_service_is_ready_behind_the_gateway(suite):
    r = requests.get(suite.base_url + "/readyz", timeout=5)
    assert r.status_code == 200
    assert r.json()["services"] == {
        s: "serving" for s in ("auth", "documents", "finance", "meetings", "notifications", "orders")
    }
    assert r.json()["status"] in ("ready", "degraded")  # a part behind does not take the suite out
    assert "finance.relay" in r.json()["parts"]


def test_request_id_is_echoed_or_created(suite):
    r = requests.get(suite.base_url + "/healthz", headers={"X-Request-Id": "abc-123"}, timeout=5)
    assert r.headers["X-Request-Id"] == "abc-123"
    r2 = requests.get(suite.base_url + "/healthz", timeout=5)
    assert len(r2.headers["X-Request-Id"]) >= 16


def test_unknown_api_path_answers_the_error_format(suite):
    r = requests.get(suite.base_url + "/api/v1/nope", timeout=5)
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": r.json()["error"]["message"]}}


def test_openapi_document_is_published(suite):
    r = requests.get(suite.base_url + "/api/v1/openapi.json", timeout=5)
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/openapi.json" in spec["paths"]


def test_readiness_reports_a_stopped_service(suite):
    suite.stop_service("orders")
    try:
        r = requests.get(suite.base_url + "/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["services"]["orders"] == "unavailable"
        assert r.json()["services"]["finance"] == "serving"
        assert r.json()["status"] == "unavailable"
        assert r.json()["parts"]["orders.relay"] == "unknown"  # nothing answers for its parts either
    finally:
        suite.start_service("orders")
        suite.wait_ready()
