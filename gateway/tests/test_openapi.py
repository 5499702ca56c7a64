"""The OpenAPI document: every API route documented, each path once."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest

from gateway.api import ALL
from gateway.openapi import build_spec


def _api_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/webhooks/")):
            continue
        # Flask's <name> and <any(a, b):name> as OpenAPI's {id} (and one path per any() value)
        variants = [rule.rule]
        found = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
        if found:
            variants = [rule.rule.replace(found.group(0), v.strip()) for v in found.group(1).split(",")]
        for path in variants:
            path = re.sub(r"<(?:\w+:)?\w+>", "{id}", path)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_the_document_is_served_and_documents_every_api_route(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    # the document's own parameter names ({id}, {item_id}) compared as the routes' ({id})
    documented: dict[str, set[str]] = {}
    for path, ops in spec["paths"].items():
        documented.setdefault(re.sub(r"\{\w+\}", "{id}", path), set()).update(ops)
    missing = {
        (path, method)
        for path, methods in _api_routes(client.application).items()
        for method in methods
        if method not in documented.get(path, set())
    }
    assert missing == set()


def test_each_path_and_method_is_documented_by_one_area_only():
    seen: dict[tuple[str, str], str] = {}
    twice = []
    for area in ALL:
        for path, ops in getattr(area, "OPENAPI", {}).items():
            for method in ops:
                if (path, method) in seen:
                    twice.append((path, method, seen[(path, method)], area.__name__))
                seen[(path, method)] = area.__name__
    assert twice == []
    assert len(build_spec(ALL)["paths"]) == len({path for path, _m in seen})


def test_a_path_documented_by_two_areas_is_refused():
    class First:
        OPENAPI: ClassVar[dict[str, Any]] = {"/api/v1/x": {"get": {"summary": "one"}}}

    class Second:
        OPENAPI: ClassVar[dict[str, Any]] = {
            "/api/v1/x": {"get": {"summary": "two"}, "post": {"summary": "three"}}
        }

    with pytest.raises(ValueError, match="documented twice"):
        build_spec([First, Second])
